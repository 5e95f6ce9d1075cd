import os
import re
import shutil
from types import SimpleNamespace

import jinja2
import pyotp
import pytest

from aftercare import create_app
from aftercare import passwords
from aftercare.db import migrate_database
from aftercare.db import open_database
from tests import factories
from tests import postgres

# Run the suite against PostgreSQL by setting this to a postgresql:// URL.
PG_URL = os.environ.get("AFTERCARE_TEST_DATABASE_URL", "")


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    """Hash and check passwords with argon2id at 1 MiB and one pass while the suite runs.

    Production's RFC 9106 profile (64 MiB, 3 passes) takes about 0.2 s per check on a two-core
    machine, and the suite signs in a few thousand times. The algorithm and every code path stay
    the same; tests/test_passwords.py checks production's parameters. A server in another process
    (the crash tests) checks these hashes as they are and rehashes at its own cost on sign-in.
    """
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    saved = passwords._hasher, passwords._DUMMY_HASH
    passwords._hasher, passwords._DUMMY_HASH = cheap, cheap.hash("aftercare timing equaliser")
    yield
    passwords._hasher, passwords._DUMMY_HASH = saved


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """Migrate one database per test session; each test starts from a copy (SQLite) or a truncation (PostgreSQL)."""
    if PG_URL:
        database = open_database(PG_URL, "")
        with database.connection_context():
            tables = database.get_tables()
            if tables:
                database.execute_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        migrate_database(database)
        postgres.remember_seed(database)
        database.close_all()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = open_database(f"sqlite:///{path}", "")
    migrate_database(database)
    database.close_all()
    return path


@pytest.fixture
def database_url(template_db, tmp_path):
    if PG_URL:
        return PG_URL
    path = tmp_path / "aftercare.db"
    shutil.copyfile(template_db, path)
    return f"sqlite:///{path}"


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once for the whole run, not once per test's app (each test makes a new app).

    A running clinic has one app per process and compiles each template once; the suite makes an
    app per test, and compiling the same templates again for each one cost more than rendering them.
    """

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": database_url,
            "SERVER_NAME": "localhost",
            "BASE_URL": "http://localhost",
            # Journal pictures of this test, in its own folder (never the instance folder's).
            "IMAGE_DIR": str(tmp_path / "images"),
        }
    )
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    database = app.extensions["aftercare_db"]
    if PG_URL:
        postgres.reset(database)
    # No app context stays pushed: a request would reuse it, and with it `g`
    # (flask-login caches the signed-in user there).
    yield app
    database.close_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_from(html: str, required: bool = True) -> str:
    match = CSRF_RE.search(html)
    assert match or not required, "no CSRF token on the page"
    return match.group(1) if match else ""


class Auth:
    """Sign in and out through the real forms."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path="/login"):
        with self.client.get(path) as response:
            required = self.client.application.config["WTF_CSRF_ENABLED"]
            return csrf_from(response.get_data(as_text=True), required)

    def login(self, user, password=factories.PASSWORD, remember=False):
        token = self.csrf("/login")
        data = {"csrf_token": token, "email": user.email, "password": password}
        if remember:
            data["remember_device"] = "y"
        response = self.client.post("/login", data=data)
        if user.is_staff and response.status_code == 302 and "/login/verify" in response.headers["Location"]:
            token = self.csrf("/login/verify")
            code = pyotp.TOTP(user.totp_secret).now()
            response = self.client.post("/login/verify", data={"csrf_token": token, "code": code})
        return response

    def logout(self):
        token = self.csrf("/account")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return Auth(client)


def post_form(client, path, data=None, page=None):
    """Post a form the way a browser does: with the CSRF token from the page that shows it."""
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})})


class JsonApi:
    """Call the JSON API as the page's scripts do: with the CSRF header from /api/v1/csrf."""

    def __init__(self, client):
        self.client = client
        self.token = client.get("/api/v1/csrf").get_json()["csrf_token"]

    def __call__(self, method, path, json=None, **kwargs):
        headers = {"X-CSRFToken": self.token, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, json=json, headers=headers, **kwargs)


@pytest.fixture
def people(app):
    """A clinic's people: an administrator (sign-in needs one), a clinician and their patient."""
    admin = factories.make_admin()
    clinician = factories.make_clinician()
    patient = factories.make_patient(clinician)
    return SimpleNamespace(admin=admin, clinician=clinician, patient=patient)


@pytest.fixture
def patient_api(client, people):
    """The people's patient, signed in, with a JSON API caller."""
    Auth(client).login(people.patient)
    return JsonApi(client)


@pytest.fixture
def receiver():
    """A loopback push service that checks and decrypts what the app sends (tests/push_receiver.py)."""
    from tests.push_receiver import PushReceiver

    with PushReceiver() as service:
        yield service


@pytest.fixture
def vapid_keys():
    """A VAPID key pair for the clinic, as `vapid generate` writes it."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from aftercare.push import vapid

    private = ec.generate_private_key(ec.SECP256R1())
    scalar = vapid.b64url(private.private_numbers().private_value.to_bytes(32, "big"))
    return SimpleNamespace(private=scalar, public=vapid.public_key_of(private), subject="mailto:it@example-clinic.org")


@pytest.fixture
def push_app(app, receiver, vapid_keys):
    """The app with web push set up, sending to the loopback receiver (allowed as a listed host)."""
    app.config.update(
        VAPID_PRIVATE_KEY=vapid_keys.private,
        VAPID_SUBJECT=vapid_keys.subject,
        PUSH_ALLOWED_HOSTS=receiver.host_entry,
    )
    receiver.expect_key = vapid_keys.public
    return app
