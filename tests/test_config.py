"""CFG-01/02: production unless told otherwise; absolute links from the configured base URL."""

import pytest

from aftercare import create_app
from aftercare.models import PasswordReset
from aftercare.models import User
from tests.conftest import Auth
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient

REAL_SECRET = "a-real-secret-for-this-test"


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("AFTERCARE_ENV", "AFTERCARE_SECRET_KEY", "AFTERCARE_BASE_URL", "FLASK_DEBUG", "FLASK_ENV"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def make(database_url, **config):
    app = create_app({"DATABASE_URL": database_url, **config})
    app.extensions["aftercare_db"].close_all()
    return app


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"FLASK_DEBUG": "1"},
        {"AFTERCARE_ENV": "production"},
        {"AFTERCARE_ENV": "Development"},  # not the exact word: production
        {"AFTERCARE_ENV": "dev"},
    ],
    ids=["nothing", "flask-debug", "production", "capitalised", "abbreviated"],
)
def test_without_a_real_secret_only_development_starts(clean_env, database_url, env):
    for name, value in env.items():
        clean_env.setenv(name, value)
    clean_env.setenv("AFTERCARE_BASE_URL", "https://clinic.example")
    with pytest.raises(RuntimeError, match="AFTERCARE_SECRET_KEY"):
        create_app({"DATABASE_URL": database_url})


def test_flask_debug_changes_no_security_setting(clean_env, database_url):
    clean_env.setenv("FLASK_DEBUG", "1")
    clean_env.setenv("AFTERCARE_SECRET_KEY", REAL_SECRET)
    clean_env.setenv("AFTERCARE_BASE_URL", "https://clinic.example")
    app = make(database_url)
    assert app.config["PRODUCTION"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-aftercare"


def test_development_is_asked_for_by_name(clean_env, database_url):
    clean_env.setenv("AFTERCARE_ENV", "development")
    app = make(database_url)
    assert app.config["PRODUCTION"] is False
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_production_needs_a_base_url(clean_env, database_url):
    clean_env.setenv("AFTERCARE_SECRET_KEY", REAL_SECRET)
    with pytest.raises(RuntimeError, match="AFTERCARE_BASE_URL"):
        create_app({"DATABASE_URL": database_url})


@pytest.mark.parametrize(
    "url", ["clinic.example", "ftp://clinic.example", "https://clinic.example/path?x=1", "https://user@clinic.example"]
)
def test_a_base_url_that_is_not_an_origin_is_refused(clean_env, database_url, url):
    clean_env.setenv("AFTERCARE_SECRET_KEY", REAL_SECRET)
    clean_env.setenv("AFTERCARE_BASE_URL", url)
    with pytest.raises(RuntimeError, match="AFTERCARE_BASE_URL"):
        create_app({"DATABASE_URL": database_url})


def test_links_ignore_a_forged_forwarded_host(app, client, auth):
    """Reset and invite links name the configured host, whatever X-Forwarded-Host says (CFG-02)."""
    app.config["BASE_URL"] = "https://care.clinic.example"
    admin = make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician)
    evil = {"X-Forwarded-Host": "evil.example"}  # and the request itself came to http://localhost
    auth.login(admin)
    token = auth.csrf("/admin/")
    page = client.post(f"/admin/users/{patient.id}/reset-link", data={"csrf_token": token}, headers=evil)
    html = page.get_data(as_text=True)
    assert "https://care.clinic.example/reset/" in html
    assert "evil.example" not in html
    assert PasswordReset.select().count() == 1

    other = app.test_client()
    Auth(other).login(clinician)
    token = Auth(other).csrf("/clinician/invite")
    page = other.post(
        "/clinician/invite", data={"csrf_token": token, "name": "New Person", "email": "new@example.org"}, headers=evil
    )
    html = page.get_data(as_text=True)
    assert "https://care.clinic.example/join/" in html
    assert "evil.example" not in html


def test_behind_a_proxy_the_forwarded_host_is_not_trusted(clean_env, database_url):
    from werkzeug.middleware.proxy_fix import ProxyFix

    clean_env.setenv("AFTERCARE_SECRET_KEY", REAL_SECRET)
    clean_env.setenv("AFTERCARE_BASE_URL", "https://care.clinic.example")
    clean_env.setenv("AFTERCARE_PROXY_COUNT", "1")
    app = make(database_url)
    assert isinstance(app.wsgi_app, ProxyFix)
    # The client's address and scheme come from the proxy; the host never does.
    assert (app.wsgi_app.x_for, app.wsgi_app.x_proto, app.wsgi_app.x_host) == (1, 1, 0)


def test_demo_refuses_outside_development(clean_env, database_url):
    clean_env.setenv("AFTERCARE_SECRET_KEY", REAL_SECRET)
    clean_env.setenv("AFTERCARE_BASE_URL", "https://clinic.example")
    app = create_app({"DATABASE_URL": database_url})
    database = app.extensions["aftercare_db"]
    try:
        with database.connection_context():
            before = User.select().count()
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code != 0
        assert "AFTERCARE_ENV=development" in result.output
        with database.connection_context():
            assert User.select().count() == before
    finally:
        database.close_all()


def test_a_view_of_any_kind_still_runs(app):
    """Aftercare.ensure_sync remembers which views and hooks are plain functions; any other callable is asked every time."""

    class Unhashable:
        __hash__ = None

        def __call__(self):
            return "called"

    app.add_url_rule("/test-unhashable", "test_unhashable", view_func=Unhashable())
    app.view_functions["test_unhashable"].access = "public"
    client = app.test_client()
    assert [client.get("/test-unhashable").get_data(as_text=True) for _ in range(2)] == ["called", "called"]
    assert [client.get("/crisis").status_code for _ in range(2)] == [200, 200]  # and plain views and hooks
