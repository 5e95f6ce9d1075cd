"""Absolute links (CFG-02): built from AFTERCARE_BASE_URL, never from headers a client can set.

An invite, reset or calendar link leaves the app (it is handed over, pasted into a calendar,
shown on a phone's lock screen), so it must name the clinic's own host whatever Host or
X-Forwarded-Host the request that made it carried. Only a development machine without a
configured base URL falls back to the request's own address.
"""

from flask import current_app
from flask import request
from flask import url_for


def base_url() -> str:
    """Return the app's origin, e.g. https://care.example-clinic.org (no trailing slash)."""
    configured = current_app.config["BASE_URL"]
    if configured:
        return configured
    return request.host_url.rstrip("/")  # development (or a test) without AFTERCARE_BASE_URL


def external_url(endpoint: str, **values) -> str:
    """Return the absolute URL of an endpoint under the configured base URL."""
    return base_url() + url_for(endpoint, **values)


def host() -> str:
    """Return the host name of the base URL (for calendar event ids)."""
    return base_url().split("://", 1)[1]
