"""HDR-01..05: security headers on every response, caching rules, cookie flags."""

import pytest

from aftercare import create_app
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient


@pytest.mark.parametrize("path", ["/login", "/crisis", "/offline", "/sw.js", "/manifest.webmanifest", "/no-such-page"])
def test_security_headers_on_every_response(client, path):
    with client.get(path) as response:
        assert_security_headers(response.headers)


def test_every_kind_of_response_carries_them(client, auth):
    """Pages, redirects, errors, JSON (answers and refusals) and downloads, signed in as each role or not."""
    make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician)
    stylesheet = client.get("/join").get_data(as_text=True).split('rel="stylesheet" href="')[1].split('"')[0]
    # A static style sheet, script or image is not a document: nosniff and its long cache only
    # (the policies act on documents and workers; the service worker itself is served from the root).
    with client.get(stylesheet) as static:
        assert static.headers["X-Content-Type-Options"] == "nosniff" and "immutable" in static.headers["Cache-Control"]
    kinds = [
        (None, "GET", "/home", 302),  # a redirect to sign in
        (patient, "GET", "/home", 200),
        (patient, "GET", "/api/v1/mood", 200),
        (patient, "POST", "/api/v1/mood", 400),  # a JSON refusal
        (patient, "PUT", "/home", 405),
        (patient, "GET", "/my-data/export.zip", 200),
        (clinician, "GET", "/clinician/", 200),
        (clinician, "GET", "/clinician/?flag=nope", 400),
        (clinician, "GET", f"/clinician/patients/{patient.id + 1000}", 404),
        (clinician, "GET", f"/clinician/patients/{patient.id}/self-reports.csv", 200),
    ]
    signed_in = None
    for user, method, path, status in kinds:
        if user is not signed_in:
            if signed_in is not None:
                auth.logout()
            auth.login(user)
            signed_in = user
        headers = {"Content-Type": "application/json"} if method == "POST" else {}
        with client.open(path, method=method, headers=headers) as response:
            assert response.status_code == status, (method, path, response.status_code)
            assert_security_headers(response.headers)


def assert_security_headers(headers):
    csp = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "microphone=(self)" in headers["Permissions-Policy"]


def test_no_hsts_in_development(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_production_sets_hsts_and_host_cookie(database_url, monkeypatch):
    monkeypatch.delenv("AFTERCARE_ENV", raising=False)
    monkeypatch.setenv("AFTERCARE_SECRET_KEY", "a-real-secret-for-this-test")
    monkeypatch.setenv("AFTERCARE_BASE_URL", "https://clinic.example")
    app = create_app({"DATABASE_URL": database_url})
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-aftercare"
    client = app.test_client()
    response = client.get("/join", base_url="https://clinic.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie.startswith("__Host-aftercare=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    app.extensions["aftercare_db"].close_all()


def test_production_refuses_the_development_secret(database_url, monkeypatch):
    monkeypatch.delenv("AFTERCARE_ENV", raising=False)
    monkeypatch.delenv("AFTERCARE_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="AFTERCARE_SECRET_KEY"):
        create_app({"DATABASE_URL": database_url})


def test_authenticated_pages_are_not_stored(client, auth):
    make_admin()
    auth.login(make_patient())
    assert client.get("/home").headers["Cache-Control"] == "no-store"
    assert client.get("/account").headers["Cache-Control"] == "no-store"


def test_versioned_static_files_are_cached_long(client):
    page = client.get("/join").get_data(as_text=True)
    href = page.split('rel="stylesheet" href="')[1].split('"')[0]
    assert "?v=" in href
    with client.get(href) as response:
        assert "immutable" in response.headers["Cache-Control"]


def test_service_worker_is_served_from_the_root(client):
    with client.get("/sw.js") as response:
        assert response.status_code == 200
        assert response.mimetype in ("text/javascript", "application/javascript")
        assert response.headers["Cache-Control"] == "no-cache"


def test_manifest_describes_an_installable_app(client):
    with client.get("/manifest.webmanifest") as response:
        manifest = response.get_json(force=True)
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/")
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert any("maskable" in icon.get("purpose", "") for icon in manifest["icons"])
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as response:
            assert response.status_code == 200


def test_oversized_request_is_refused_clearly(client):
    response = client.post("/login", data={"email": "x" * (17 * 1024 * 1024)})
    assert response.status_code == 413


def test_request_logs_never_carry_invite_or_reset_tokens():
    import logging

    from aftercare.logs import RedactTokens

    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        "",
        0,
        '%s - "%s" %s',
        ("127.0.0.1", "GET /join/AbCdEf0123456789xyzXYZ_- HTTP/1.1", "302"),
        None,
    )
    RedactTokens().filter(record)
    line = record.getMessage()
    assert "AbCdEf0123456789" not in line
    assert "/join/[redacted]" in line
