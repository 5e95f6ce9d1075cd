"""Devices for reminders (PUSH-03): only real push services, valid keys, ten at most; removable; a working test."""

import socket

import pytest

from aftercare.models import AuditEvent
from aftercare.models import Device
from aftercare.push import devices
from aftercare.push import vapid
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.conftest import JsonApi
from tests.conftest import post_form
from tests.factories import make_device
from tests.factories import make_patient
from tests.push_receiver import PushReceiver


def keys():
    """Keys as a browser would send them (a real P-256 point and a 16-byte secret)."""
    with PushReceiver() as service:  # only to mint a subscription's keys; nothing is sent to it
        return service.subscription()["keys"]


@pytest.fixture
def api(client, people):
    Auth(client).login(people.patient)
    return JsonApi(client)


def subscription(endpoint, **overrides):
    return {"endpoint": endpoint, "keys": {**keys(), **overrides}, "name": "Chrome on Android"}


ACCEPTED = [
    "https://fcm.googleapis.com/fcm/send/abc123",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
    "https://web.push.apple.com/QGuQyavXutnMH6FN",
    "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB",
    "https://fcm.googleapis.com:443/fcm/send/explicit-port",
]

# endpoint -> what the person is told (PUSH-03): never stored, never sent to.
REFUSED = [
    ("https://push.example.com/abc", "not a push service this clinic sends to"),
    ("http://fcm.googleapis.com/fcm/send/abc", "must use https"),
    ("https://fcm.googleapis.com:8443/fcm/send/abc", "port 443"),
    ("https://user:secret@fcm.googleapis.com/fcm/send/abc", "user name or password"),
    ("https://10.0.0.5/push", "not a push service"),
    ("https://169.254.169.254/latest/meta-data", "not a push service"),
    ("https://[::1]/push", "not a push service"),
    ("https://127.0.0.1/push", "not a push service"),
    ("https://fcm.googleapis.com.evil.example/fcm", "not a push service"),
    ("https://evilpush.apple.com/abc", "not a push service"),  # *.push.apple.com means a subdomain
    ("ftp://fcm.googleapis.com/abc", "https"),
    ("https://fcm.googleapis.com/" + "a" * 1100, "1,024 characters"),
    ("https://fcm.googleapis.com/fcm/send/a b", "characters"),
    ("javascript:alert(1)", "https"),
    (None, "must be a URL"),
    (42, "must be a URL"),
]


@pytest.mark.parametrize("endpoint", ACCEPTED)
def test_known_push_services_are_accepted(api, people, endpoint):
    response = api("POST", "/api/v1/devices", subscription(endpoint))
    assert response.status_code == 201, response.get_json()
    device = Device.get(Device.endpoint == endpoint)
    assert device.user_id == people.patient.id and device.name == "Chrome on Android"


@pytest.mark.parametrize(("endpoint", "message"), REFUSED)
def test_other_endpoints_are_refused_with_a_reason(api, endpoint, message):
    response = api("POST", "/api/v1/devices", subscription(endpoint))
    assert response.status_code == 422
    assert message in response.get_json()["fields"]["endpoint"]
    assert Device.select().count() == 0


# PUSH_ALLOWED_HOSTS entry, endpoint -> accepted?
LISTED = [
    ("127.0.0.1:8123", "http://127.0.0.1:8123/push/a", True),  # a loopback receiver, plain http
    ("127.0.0.1:8123", "http://127.0.0.1:9999/push/a", False),  # not the listed port
    ("127.0.0.1", "http://127.0.0.1/push/a", False),  # plain http only on the port listed
    ("localhost:8123", "http://localhost:8123/push/a", True),
    ("push.internal.example", "https://push.internal.example/a", True),
    ("push.internal.example", "http://push.internal.example/a", False),  # http only for loopback
    ("push.internal.example:8443", "https://push.internal.example:8443/a", True),
    ("10.1.2.3", "https://10.1.2.3/a", True),  # an address the clinic listed itself
    ("10.1.2.3", "https://10.1.2.4/a", False),
    ("", "http://127.0.0.1:8123/push/a", False),
]


@pytest.mark.parametrize(("setting", "endpoint", "accepted"), LISTED)
def test_the_clinic_may_add_hosts(app, setting, endpoint, accepted):
    entries = devices.allowed_entries(setting)
    if accepted:
        assert devices.check_endpoint(endpoint, entries)
    else:
        with pytest.raises(devices.Refused):
            devices.check_endpoint(endpoint, entries)


BAD_KEYS = [
    ({"p256dh": "BAAAAA"}, "p256dh"),  # 4 bytes
    # 65 bytes that start like a point but are not on the curve
    ({"p256dh": vapid.b64url(b"\x04" + b"\x01" * 64)}, "p256dh"),
    ({"p256dh": 12345}, "p256dh"),
    ({"auth": vapid.b64url(b"abc")}, "16 bytes"),  # a 3-byte auth secret
    ({"auth": vapid.b64url(b"x" * 32)}, "16 bytes"),
    ({"auth": "not base64!"}, "16 bytes"),
]


@pytest.mark.parametrize(("override", "message"), BAD_KEYS)
def test_keys_must_be_a_curve_point_and_a_16_byte_secret(api, override, message):
    response = api("POST", "/api/v1/devices", subscription("https://fcm.googleapis.com/fcm/send/k", **override))
    assert response.status_code == 422
    assert message in response.get_json()["fields"]["keys"]
    assert Device.select().count() == 0


@pytest.mark.parametrize("body", [[], "text", {"endpoint": "https://fcm.googleapis.com/x"}, {"keys": {}}])
def test_a_malformed_subscription_is_refused(api, body):
    response = api("POST", "/api/v1/devices", body)
    assert response.status_code == 422
    assert Device.select().count() == 0


def test_ten_devices_at_most(api, people):
    for n in range(devices.MAX_DEVICES):
        assert (
            api("POST", "/api/v1/devices", subscription(f"https://fcm.googleapis.com/fcm/send/{n}")).status_code == 201
        )
    eleventh = api("POST", "/api/v1/devices", subscription("https://fcm.googleapis.com/fcm/send/eleventh"))
    assert eleventh.status_code == 422
    assert "10 devices" in eleventh.get_json()["fields"]["endpoint"]
    assert Device.select().where(Device.user == people.patient).count() == devices.MAX_DEVICES
    # A renewal of one of the ten (pushsubscriptionchange) is not an eleventh.
    renewed = subscription("https://fcm.googleapis.com/fcm/send/renewed")
    renewed["replaces"] = "https://fcm.googleapis.com/fcm/send/3"
    assert api("POST", "/api/v1/devices", renewed).status_code == 201
    assert Device.select().where(Device.user == people.patient).count() == devices.MAX_DEVICES


def test_registering_again_is_idempotent_and_refreshes_keys(api, people):
    endpoint = "https://fcm.googleapis.com/fcm/send/same"
    assert api("POST", "/api/v1/devices", subscription(endpoint)).status_code == 201
    fresh = subscription(endpoint)
    again = api("POST", "/api/v1/devices", fresh)
    assert again.status_code == 200
    assert Device.get(Device.endpoint == endpoint).auth == fresh["keys"]["auth"]
    assert Device.select().count() == 1
    assert AuditEvent.select().where(AuditEvent.action == "device_added").count() == 1


def test_a_renewed_subscription_replaces_the_old_one_and_keeps_its_name(api, people):
    old = make_device(people.patient, name="Safari on iPhone")
    renewed = {**subscription("https://web.push.apple.com/new"), "replaces": old.endpoint}
    renewed.pop("name")
    assert api("POST", "/api/v1/devices", renewed).status_code == 201
    assert [(d.endpoint, d.name) for d in Device.select()] == [("https://web.push.apple.com/new", "Safari on iPhone")]


def test_a_shared_phone_moves_to_whoever_turns_reminders_on(client, people):
    other = make_patient(people.clinician)
    device = make_device(other)
    Auth(client).login(people.patient)
    again = {"endpoint": device.endpoint, "keys": {"p256dh": device.p256dh, "auth": device.auth}}
    assert JsonApi(client)("POST", "/api/v1/devices", again).status_code == 201
    assert [d.user_id for d in Device.select()] == [people.patient.id]


def test_forgetting_a_device_only_touches_ones_own(api, people):
    mine = make_device(people.patient)
    theirs = make_device(make_patient(people.clinician))
    assert api("POST", "/api/v1/devices/forget", {"endpoint": theirs.endpoint}).get_json() == {"removed": False}
    assert api("POST", "/api/v1/devices/forget", {"endpoint": mine.endpoint}).get_json() == {"removed": True}
    assert [d.id for d in Device.select()] == [theirs.id]


def test_removing_a_device_from_settings(client, people):
    device = make_device(people.patient, name="Old phone")
    Auth(client).login(people.patient)
    page = client.get("/settings").get_data(as_text=True)
    assert "Old phone" in page and "Send me a test reminder" in page
    response = post_form(client, f"/settings/devices/{device.id}/remove", page="/settings")
    assert response.status_code == 302
    assert not Device.select().exists()
    assert "Old phone no longer gets reminders" in client.get("/settings").get_data(as_text=True)


def test_someone_elses_device_is_not_found(client, people):
    theirs = make_device(make_patient(people.clinician))
    Auth(client).login(people.patient)
    response = post_form(client, f"/settings/devices/{theirs.id}/remove", page="/settings")
    assert response.status_code == 404
    assert Device.select().count() == 1


def test_signing_out_can_stop_reminders_on_this_device(client, people):
    device = make_device(people.patient)
    kept = make_device(people.patient, name="Tablet")
    Auth(client).login(people.patient)
    token = csrf_from(client.get("/more").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token, "stop_reminders": "1", "push_endpoint": device.endpoint})
    assert [d.id for d in Device.select()] == [kept.id]


def test_signing_out_without_the_box_keeps_reminders(client, people):
    device = make_device(people.patient)
    Auth(client).login(people.patient)
    token = csrf_from(client.get("/more").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token, "push_endpoint": device.endpoint})
    assert Device.select().count() == 1


def test_the_public_key_is_offered_only_when_push_is_set_up(app, client, people, vapid_keys):
    Auth(client).login(people.patient)
    assert client.get("/api/v1/push/key").get_json() == {"public_key": None}
    assert "has not set up reminders yet" in client.get("/settings").get_data(as_text=True)
    app.config.update(VAPID_PRIVATE_KEY=vapid_keys.private, VAPID_SUBJECT=vapid_keys.subject)
    assert client.get("/api/v1/push/key").get_json() == {"public_key": vapid_keys.public}
    assert f'data-push-key="{vapid_keys.public}"' in client.get("/settings").get_data(as_text=True)


# -------------------------------------------------------------------------- at send time: the resolved address


@pytest.fixture
def dns(monkeypatch):
    """Answer name lookups from a table: the suite has no network, and these cases need particular answers."""
    answers = {}
    real = socket.getaddrinfo

    def lookup(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return answers


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("17.253.1.1", True),
        ("10.0.0.5", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("192.168.1.9", False),
    ],
)
def test_a_push_service_name_must_resolve_to_a_public_address(app, dns, address, allowed):
    dns["eu.web.push.apple.com"] = address
    with app.app_context():
        target = devices.check_endpoint("https://eu.web.push.apple.com/abc")
        if allowed:
            assert devices.resolve(target) == address
        else:
            with pytest.raises(devices.Refused, match="private address"):
                devices.resolve(target)


def test_a_listed_host_may_resolve_anywhere(app, dns):
    dns["push.internal.example"] = "10.9.8.7"
    app.config["PUSH_ALLOWED_HOSTS"] = "push.internal.example"
    with app.app_context():
        assert devices.resolve(devices.check_endpoint("https://push.internal.example/a")) == "10.9.8.7"
