"""Configuration: development defaults, overridden by AFTERCARE_* environment variables."""

import os

DEV_SECRET_KEY = "dev"

DEFAULTS = {
    "SECRET_KEY": DEV_SECRET_KEY,
    # A path relative to the instance folder, or a full peewee URL
    # (sqlite:///..., postgresql://user:pass@host/db).
    "DATABASE_URL": "sqlite:///aftercare.db",
    "CLINIC_NAME": "aftercare",
    # Voice notes are files, kept outside the web root: empty means <instance folder>/voice.
    "VOICE_DIR": "",
    # Shown by the crisis page until an admin sets the clinic's own text.
    "CRISIS_COUNTRY": "US",
    "VAPID_PRIVATE_KEY": "",
    "VAPID_PUBLIC_KEY": "",
    "VAPID_SUBJECT": "",
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
    """Fill app.config from the defaults, the environment and test_config."""
    app.config.from_mapping(DEFAULTS)
    for key in DEFAULTS:
        value = os.environ.get(f"AFTERCARE_{key}")
        if value is not None:
            app.config[key] = int(value) if key in INT_KEYS else value
    if test_config is not None:
        app.config.from_mapping(test_config)

    production = not (app.debug or app.testing)
    if production and app.config["SECRET_KEY"] == DEV_SECRET_KEY:
        raise RuntimeError(
            "AFTERCARE_SECRET_KEY is not set. Generate one with "
            "`python -c 'import secrets; print(secrets.token_hex(32))'` "
            "and set it in the environment before starting aftercare."
        )

    app.config.update(
        PRODUCTION=production,
        # Flask's own defaults are unsafe for health data (see security.md).
        SESSION_COOKIE_NAME="__Host-aftercare" if production else "aftercare",
        SESSION_COOKIE_SECURE=production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=512 * 1024,
        WTF_CSRF_TIME_LIMIT=3600,
        WTF_CSRF_SSL_STRICT=True,
        TEMPLATES_AUTO_RELOAD=app.debug,
    )
