"""Configuration: defaults, overridden by AFTERCARE_* environment variables (CFG-01/02).

Production is the default. Only AFTERCARE_ENV=development (the Makefile sets it) relaxes
anything: the development secret key, insecure cookies, a base URL taken from the request, and
the demo clinic. FLASK_DEBUG and `--debug` change none of these; they only turn on the reloader
and the debugger, which must never run on a clinic's server anyway.
"""

import os
from urllib.parse import urlsplit

from .push import vapid

DEVELOPMENT = "development"
DEV_SECRET_KEY = "dev"

DEFAULTS = {
    "ENV": "production",
    "SECRET_KEY": DEV_SECRET_KEY,
    # The address patients and staff use, e.g. https://care.example-clinic.org. Every absolute link
    # (invites, resets, calendar feeds, push payloads) is built from it, never from request headers.
    "BASE_URL": "",
    # A path relative to the instance folder, or a full peewee URL
    # (sqlite:///..., postgresql://user:pass@host/db).
    "DATABASE_URL": "sqlite:///aftercare.db",
    "CLINIC_NAME": "aftercare",
    # Voice notes are files, kept outside the web root: empty means <instance folder>/voice.
    "VOICE_DIR": "",
    # Pictures and drawings in journal entries, likewise: empty means <instance folder>/images.
    "IMAGE_DIR": "",
    # Shown by the crisis page until an admin sets the clinic's own text.
    "CRISIS_COUNTRY": "US",
    # Web push (reminders): the key pair from `flask --app aftercare vapid generate`, and a
    # mailto: or https subject push services can reach the clinic at. The public key is worked
    # out from the private one when left empty.
    "VAPID_PRIVATE_KEY": "",
    "VAPID_PUBLIC_KEY": "",
    "VAPID_SUBJECT": "",
    # Push services besides the known ones (host or host:port; a loopback host listed here may use http).
    "PUSH_ALLOWED_HOSTS": "",
    # Staff sessions: SESS-02.
    "STAFF_IDLE_MINUTES": 15,
    "STAFF_ABSOLUTE_HOURS": 12,
    # A patient's "keep me signed in on this phone" device session.
    "PATIENT_DEVICE_DAYS": 30,
    "INVITE_DAYS": 7,
    "RESET_MINUTES": 30,
    "LOCKOUT_FAILURES": 5,
    "LOCKOUT_MINUTES": 15,
    # Behind a reverse proxy that sets X-Forwarded-For/-Proto: how many proxies to trust.
    "PROXY_COUNT": 0,
}

INT_KEYS = {key for key, value in DEFAULTS.items() if isinstance(value, int)}


def load(app, test_config=None):
    """Fill app.config from the defaults, the environment and test_config; refuse an unsafe production."""
    app.config.from_mapping(DEFAULTS)
    for key in DEFAULTS:
        value = os.environ.get(f"AFTERCARE_{key}")
        if value is not None:
            app.config[key] = int(value) if key in INT_KEYS else value
    if test_config is not None:
        app.config.from_mapping(test_config)
    elif not any(os.environ.get(f"AFTERCARE_{key}") for key in vapid.SETTINGS):
        # `flask --app aftercare vapid generate` writes the keys here. All or nothing: once the
        # environment sets any of them, the file is not read, so a key pair is never half from each.
        app.config.update(vapid.load_file(app.instance_path))

    # Tests configure themselves (TESTING); everyone else is in production unless they say otherwise.
    production = not (app.config["ENV"] == DEVELOPMENT or app.testing)
    if production:
        _check_production(app.config)
    base_url = app.config["BASE_URL"].rstrip("/")
    if base_url:
        _check_base_url(base_url)

    app.config.update(
        PRODUCTION=production,
        # AUTH-07: a reset link lives 30 minutes at most, whatever the environment says.
        RESET_MINUTES=min(int(app.config["RESET_MINUTES"]), 30),
        BASE_URL=base_url,
        # Flask's own defaults are unsafe for health data (see docs/security.md).
        SESSION_COOKIE_NAME="__Host-aftercare" if production else "aftercare",
        SESSION_COOKIE_SECURE=production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=512 * 1024,
        WTF_CSRF_TIME_LIMIT=3600,
        WTF_CSRF_SSL_STRICT=True,
        TEMPLATES_AUTO_RELOAD=not production and app.debug,
    )


def _check_production(config) -> None:
    if config["SECRET_KEY"] == DEV_SECRET_KEY or len(config["SECRET_KEY"]) < 16:
        raise RuntimeError(
            "AFTERCARE_SECRET_KEY is not set. Generate one with "
            "`python -c 'import secrets; print(secrets.token_hex(32))'` and set it in the environment "
            "before starting aftercare (or set AFTERCARE_ENV=development on a development machine)."
        )
    if not config["BASE_URL"]:
        raise RuntimeError(
            "AFTERCARE_BASE_URL is not set. Set it to the address patients and staff open, for example "
            "https://care.example-clinic.org: invite, reset and calendar links are built from it."
        )


def _check_base_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise RuntimeError(f"AFTERCARE_BASE_URL must be an origin like https://care.example-clinic.org, not {url!r}.")
    if parts.path or parts.query or parts.fragment:
        raise RuntimeError(
            f"AFTERCARE_BASE_URL must be an origin like https://care.example-clinic.org (no path), not {url!r}: "
            "aftercare is served at the root of its own host name."
        )
