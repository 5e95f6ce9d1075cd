"""Signing in over plain HTTP, through the real forms, as a phone (or a clinician's browser) would.

In production the session cookie is `__Host-aftercare` and `Secure`, so a cookie jar would
not send it back over http://127.0.0.1; we read it from Set-Cookie and send it ourselves.
"""

import http.client
import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pyotp

COOKIE_NAME = "__Host-aftercare"
CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
USER_AGENT = "Mozilla/5.0 (Linux; Android 14) aftercare-bench"


@dataclass
class SignedIn:
    """A patient's session: the cookie value and a CSRF token for the JSON API."""

    email: str
    cookie: str
    csrf_token: str

    @property
    def cookie_header(self) -> str:
        """Return the Cookie header that carries this session."""
        return f"{COOKIE_NAME}={self.cookie}"


def request(base_url: str, method: str, path: str, *, headers=None, body=None) -> tuple[int, dict, list, bytes]:
    """Send one request; return (status, headers, Set-Cookie values, body)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": USER_AGENT, **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), response.headers.get_all("Set-Cookie") or [], data
    finally:
        conn.close()


def session_cookie(set_cookies: list[str]) -> str | None:
    """Return the session cookie's value from Set-Cookie headers, if one was set."""
    for header in set_cookies:
        name, _, rest = header.partition("=")
        if name.strip() == COOKIE_NAME:
            return rest.split(";", 1)[0]
    return None


def post_form(base_url: str, path: str, cookie: str, fields: dict) -> tuple[int, dict, str]:
    """POST a form with the session cookie; return (status, headers, the session cookie it leaves)."""
    status, headers, set_cookies, _ = request(
        base_url,
        "POST",
        path,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"{COOKIE_NAME}={cookie}"},
        body=urlencode(fields),
    )
    return status, headers, session_cookie(set_cookies) or cookie


def sign_in(base_url: str, email: str, password: str, totp: str | None = None) -> SignedIn:
    """Sign in through GET/POST /login (and /login/verify with a code from `totp`, the two-step
    secret staff have), then fetch a CSRF token for the API."""
    status, _, set_cookies, body = request(base_url, "GET", "/login")
    anonymous = session_cookie(set_cookies)
    match = CSRF_RE.search(body.decode())
    if status != 200 or anonymous is None or match is None:
        raise RuntimeError(f"GET /login answered {status} without a session cookie and a CSRF token")
    form = {"email": email, "password": password, "remember_device": "y", "csrf_token": match[1]}
    status, headers, cookie = post_form(base_url, "/login", anonymous, form)
    if totp:
        if status != 302 or not headers.get("Location", "").endswith("/login/verify"):
            raise RuntimeError(f"POST /login for {email} answered {status}, not the two-step page")
        status, _, set_cookies, body = request(
            base_url, "GET", "/login/verify", headers={"Cookie": f"{COOKIE_NAME}={cookie}"}
        )
        cookie = session_cookie(set_cookies) or cookie
        code = {"code": pyotp.TOTP(totp).now(), "csrf_token": CSRF_RE.search(body.decode())[1]}
        status, headers, cookie = post_form(base_url, "/login/verify", cookie, code)
        landed = status == 302 and "/login" not in headers.get("Location", "/login")
    else:
        landed = status == 302 and headers.get("Location", "").endswith("/home")
    if not landed or cookie == anonymous:
        raise RuntimeError(f"signing in {email} answered {status} (Location {headers.get('Location')!r})")
    status, _, _, body = request(base_url, "GET", "/api/v1/csrf", headers={"Cookie": f"{COOKIE_NAME}={cookie}"})
    if status != 200:
        raise RuntimeError(f"GET /api/v1/csrf answered {status}")
    return SignedIn(email=email, cookie=cookie, csrf_token=json.loads(body)["csrf_token"])
