"""Security headers on every response (HDR-01..05), set here rather than by an extension."""

from flask import request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "worker-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

# Static files are public and versioned by their URL (their view sets their caching); everything
# else may carry someone's health data, so no cache keeps it.
CACHEABLE_ENDPOINTS = {"static"}


def set_headers(response):
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint in CACHEABLE_ENDPOINTS:
        # A script, style sheet or image: its caching is the static view's (pwa/views.py), and the
        # document headers below would only cost bytes on every file of a first visit. An SVG can
        # carry script when opened on its own, so it keeps the policy.
        if response.mimetype == "image/svg+xml":
            headers.setdefault("Content-Security-Policy", CSP)
        return response
    headers.setdefault("Content-Security-Policy", CSP)
    # flask-wtf's HTTPS referrer check needs a same-origin Referer.
    headers["Referrer-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "microphone=(self), camera=(), geolocation=(), payment=(), usb=()"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def set_hsts(response):
    response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return response


def init_app(app):
    app.after_request(set_headers)
    if app.config["PRODUCTION"]:
        app.after_request(set_hsts)
