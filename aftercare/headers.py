"""Security headers on every response (HDR-01..05), set here rather than by an extension."""

from flask import request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "worker-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")

# Static files are public and versioned by their URL (their view sets their caching); everything
# else may carry someone's health data, so no cache keeps it.
CACHEABLE_ENDPOINTS = {"static"}

# What every page and API answer carries, unless its view set the header itself (a view's own
# Content-Security-Policy or Cache-Control stands).
DOCUMENT_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", CSP),
    # flask-wtf's HTTPS referrer check needs a same-origin Referer.
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "microphone=(self), camera=(), geolocation=(), payment=(), usb=()"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)


def headers_for(production: bool):
    """Return the after-request function that adds the security headers (and HSTS in production)."""
    hsts = (HSTS,) if production else ()
    document, static, svg = (
        tuple((name.lower(), (name, value)) for name, value in group)
        for group in (DOCUMENT_HEADERS + hsts, DOCUMENT_HEADERS[:1] + hsts, DOCUMENT_HEADERS[:2] + hsts)
    )

    def set_headers(response):
        headers = response.headers
        present = {name.lower() for name, _ in headers}
        if request.endpoint in CACHEABLE_ENDPOINTS:
            # A script, style sheet or image: its caching is the static view's (pwa/views.py), and the
            # document headers below would only cost bytes on every file of a first visit. An SVG can
            # carry script when opened on its own, so it keeps the policy.
            wanted = svg if response.mimetype == "image/svg+xml" else static
        else:
            wanted = document
        # One pass over the headers already set, rather than a search of them per header.
        headers.extend([header for name, header in wanted if name not in present])
        return response

    return set_headers


def init_app(app):
    app.after_request(headers_for(app.config["PRODUCTION"]))
