"""The loopback push receiver: RFC 8291 decryption, VAPID checks, configured answers, keep-alive, counting mode."""

import base64
import json
import time

import http_ece
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from py_vapid import Vapid02
from pywebpush import webpush
from pywebpush import WebPusher
from pywebpush import WebPushException

from tests.push_receiver import b64url_decode
from tests.push_receiver import decrypt
from tests.push_receiver import DecryptError
from tests.push_receiver import PushReceiver

# RFC 8291 Appendix A: the user agent's keys, the auth secret and the encoded message for the plaintext below.
RFC_PLAINTEXT = b"When I grow up, I want to be a watermelon"
RFC_UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
RFC_UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
RFC_AS_PUBLIC = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
RFC_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
RFC_SALT = "DGv6ra1nlYgDCS1FRnbzlw"
RFC_BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)
SUB = "mailto:test@example.org"
REMINDER = json.dumps({"title": "Time for your check-in", "url": "/checkin"}).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _public(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _rfc_user_agent() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64url_decode(RFC_UA_PRIVATE), "big"), ec.SECP256R1())


def _encrypt(subscription: dict, data: bytes, *, rs: int = 4096) -> bytes:
    """Encrypt as an application server does, with http_ece (what pywebpush uses), so rs can vary."""
    return http_ece.encrypt(
        data,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=b64url_decode(subscription["keys"]["p256dh"]),
        auth_secret=b64url_decode(subscription["keys"]["auth"]),
        version="aes128gcm",
        rs=rs,
    )


def _jwt(private_key: ec.EllipticCurvePrivateKey, claims: dict, header: dict | None = None) -> str:
    header = {"typ": "JWT", "alg": "ES256"} if header is None else header
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _webpush(subscription: dict, vapid: Vapid02, data: bytes = REMINDER, **kwargs):
    # pywebpush writes aud and exp into the claims dict it is given, so each send gets a fresh one.
    return webpush(subscription, data, vapid_private_key=vapid, vapid_claims={"sub": SUB}, ttl=60, **kwargs)


def _post(url: str, headers: dict, body: bytes, **kwargs) -> requests.Response:
    with requests.post(url, data=body, headers=headers, timeout=5, allow_redirects=False, **kwargs) as response:
        return response


class _Pushes:
    """Build push requests by hand, each valid but for the one thing a test breaks."""

    def __init__(self, receiver: PushReceiver, vapid: Vapid02) -> None:
        self.receiver = receiver
        self.key = vapid.private_key
        self.subscription = receiver.subscription("phone")
        self.other = receiver.subscription("tablet")

    def build(
        self,
        *,
        endpoint: str = "phone",
        data: bytes = REMINDER,
        rs: int = 4096,
        encrypt_for: str = "phone",
        tamper: bool = False,
        headers: dict | None = None,
        drop: tuple = (),
        jwt_header: dict | None = None,
        signer: str = "vapid",
        exp_in: int = 3600,
        **claims,
    ) -> tuple[str, dict, bytes]:
        merged = {"aud": self.receiver.url, "exp": int(time.time()) + exp_in, "sub": SUB} | claims
        merged = {key: value for key, value in merged.items() if value is not None}
        signing_key = self.key if signer == "vapid" else ec.generate_private_key(ec.SECP256R1())
        authorization = f"vapid t={_jwt(signing_key, merged, jwt_header)}, k={_b64(_public(self.key))}"
        all_headers = {"TTL": "60", "Content-Encoding": "aes128gcm", "Authorization": authorization}
        all_headers |= headers or {}
        for name in drop:
            del all_headers[name]
        body = _encrypt(self.subscription if encrypt_for == "phone" else self.other, data, rs=rs)
        if tamper:
            body = body[:-1] + bytes([body[-1] ^ 1])
        return f"{self.receiver.url}/push/{endpoint}", all_headers, body


@pytest.fixture
def receiver():
    with PushReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def vapid():
    vapid = Vapid02()
    vapid.generate_keys()
    return vapid


@pytest.fixture
def pushes(receiver, vapid):
    return _Pushes(receiver, vapid)


def test_rfc_8291_appendix_a_message_decrypts():
    body = b64url_decode(RFC_BODY)
    ua_private = _rfc_user_agent()
    # The vector is self-consistent: the private key is the one behind the published p256dh, and the header
    # carries the published salt, rs 4096 and the application server's key.
    assert _b64(_public(ua_private)) == RFC_UA_PUBLIC
    assert body[:16] == b64url_decode(RFC_SALT)
    assert int.from_bytes(body[16:20], "big") == 4096
    assert body[20] == 65 and body[21:86] == b64url_decode(RFC_AS_PUBLIC)
    assert decrypt(body, ua_private, b64url_decode(RFC_AUTH), single_record=True) == RFC_PLAINTEXT


def test_decrypt_reads_several_records_each_with_its_own_nonce():
    ua_private = ec.generate_private_key(ec.SECP256R1())
    subscription = {"keys": {"p256dh": _b64(_public(ua_private)), "auth": _b64(b"sixteen byte key")}}
    plaintext = bytes(range(200))
    body = _encrypt(subscription, plaintext, rs=40)
    assert decrypt(body, ua_private, b"sixteen byte key") == plaintext
    with pytest.raises(DecryptError, match="records of 40 bytes; Web Push allows one"):
        decrypt(body, ua_private, b"sixteen byte key", single_record=True)


def _rfc_altered(change) -> bytes:
    body = bytearray(b64url_decode(RFC_BODY))
    change(body)
    return bytes(body)


def _records_of_30() -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    ua_private = _rfc_user_agent()
    subscription = {"keys": {"p256dh": RFC_UA_PUBLIC, "auth": RFC_AUTH}}
    # 39 bytes in records of 30 (13 plaintext + delimiter + tag) make exactly three full records.
    return _encrypt(subscription, b"x" * 39, rs=30), ua_private


def _swap(body: bytes) -> bytes:
    # Each record's nonce is the base nonce XOR its position, so records out of order do not authenticate.
    return body[:86] + body[116:146] + body[86:116] + body[146:]


@pytest.mark.parametrize(
    "body, auth, reason",
    [
        (_rfc_altered(lambda body: body.__setitem__(-1, body[-1] ^ 1)), RFC_AUTH, "record 0 does not decrypt"),
        (b64url_decode(RFC_BODY), _b64(b"another secret!!"), "record 0 does not decrypt"),
        (b64url_decode(RFC_BODY)[:60], RFC_AUTH, "shorter than the 86-byte aes128gcm header"),
        (b64url_decode(RFC_BODY)[:86], RFC_AUTH, "no records"),
        (_rfc_altered(lambda body: body.__setitem__(20, 33)), RFC_AUTH, "keyid is 33 bytes"),
        (_rfc_altered(lambda body: body.__setitem__(slice(16, 20), (17).to_bytes(4, "big"))), RFC_AUTH, "minimum"),
        (_rfc_altered(lambda body: body.__setitem__(21, 5)), RFC_AUTH, "not a point on P-256"),
        (_records_of_30()[0][:-30], RFC_AUTH, "record 1 ends with delimiter 0x01, expected 0x02"),
        (_swap(_records_of_30()[0]), RFC_AUTH, "record 0 does not decrypt"),
    ],
    ids=[
        "altered",
        "wrong-auth",
        "short-header",
        "no-records",
        "keyid-size",
        "tiny-rs",
        "bad-point",
        "truncated",
        "swapped",
    ],
)
def test_decrypt_refuses_bodies_that_are_not_whole_and_genuine(body, auth, reason):
    with pytest.raises(DecryptError, match=reason):
        decrypt(body, _rfc_user_agent(), b64url_decode(auth))


def test_subscription_is_what_a_browser_hands_out(receiver):
    subscription = receiver.subscription("phone")
    assert subscription["endpoint"] == f"http://{receiver.host_entry}/push/phone"
    assert receiver.url == f"http://{receiver.host_entry}" and receiver.host_entry.startswith("127.0.0.1:")
    p256dh = b64url_decode(subscription["keys"]["p256dh"])
    assert len(p256dh) == 65 and p256dh[0] == 4
    assert len(b64url_decode(subscription["keys"]["auth"])) == 16
    assert receiver.subscription()["endpoint"] != receiver.subscription()["endpoint"]
    with pytest.raises(ValueError, match="already exists"):
        receiver.subscription("phone")
    with pytest.raises(ValueError, match="must be"):
        receiver.subscription("../etc")


def test_pywebpush_send_arrives_decrypted_with_its_headers_and_claims(receiver, vapid):
    subscription = receiver.subscription("phone")
    response = _webpush(subscription, vapid, headers={"Urgency": "normal", "Topic": "abc"})
    assert response.status_code == 201
    assert response.headers["Location"].startswith(f"{receiver.url}/message/")

    [message] = receiver.wait_for(1)
    assert message.name == "phone"
    assert message.body == REMINDER and message.json == {"title": "Time for your check-in", "url": "/checkin"}
    assert (message.ttl, message.urgency, message.topic) == (60, "normal", "abc")
    assert message.headers["content-encoding"] == "aes128gcm"
    assert message.claims["aud"] == receiver.url and message.claims["sub"] == SUB
    assert time.time() < message.claims["exp"] <= time.time() + 24 * 3600
    assert b64url_decode(message.vapid_public_key) == _public(vapid.private_key)
    assert abs(message.received_at - time.time()) < 5
    assert receiver.count == 1 and [attempt.status for attempt in receiver.attempts] == [201]


def test_a_receiver_told_the_vapid_key_refuses_any_other(vapid):
    with PushReceiver(expect_key=_b64(_public(vapid.private_key))) as receiver:
        subscription = receiver.subscription("phone")
        assert _webpush(subscription, vapid).status_code == 201
        stranger = Vapid02()
        stranger.generate_keys()
        with pytest.raises(WebPushException) as raised:
            _webpush(subscription, stranger)
        assert raised.value.response.status_code == 403
        assert "not the VAPID public key" in raised.value.response.text
        assert len(receiver.messages) == 1


@pytest.mark.parametrize(
    "change, status, reason",
    [
        pytest.param({"endpoint": "nobody"}, 404, "unknown subscription", id="unknown-endpoint"),
        pytest.param({"drop": ("TTL",)}, 400, "missing TTL header", id="missing-ttl"),
        pytest.param({"headers": {"TTL": "-1"}}, 400, "TTL '-1' is not a non-negative integer", id="negative-ttl"),
        pytest.param({"headers": {"TTL": "soon"}}, 400, "not a non-negative integer", id="ttl-not-a-number"),
        pytest.param({"headers": {"Content-Encoding": "aesgcm"}}, 400, "'aesgcm' is not aes128gcm", id="aesgcm"),
        pytest.param({"drop": ("Content-Encoding",)}, 400, "None is not aes128gcm", id="no-encoding"),
        pytest.param({"drop": ("Authorization",)}, 401, "missing Authorization", id="no-authorization"),
        pytest.param({"headers": {"Authorization": "WebPush eyJ"}}, 401, "'WebPush' is not vapid", id="old-scheme"),
        pytest.param({"headers": {"Authorization": "vapid t=a.b.c"}}, 403, "both t=", id="no-k"),
        pytest.param({"headers": {"Authorization": "vapid t=a.b.c, k=AAAA"}}, 403, "k= is not", id="k-not-a-key"),
        pytest.param({"signer": "stranger"}, 403, "signature does not verify", id="bad-signature"),
        pytest.param({"jwt_header": {"typ": "JWT", "alg": "HS256"}}, 403, "'HS256' is not ES256", id="alg-hs256"),
        pytest.param({"aud": "https://fcm.googleapis.com"}, 403, "aud 'https://fcm.googleapis.com'", id="wrong-aud"),
        pytest.param({"aud": None}, 403, "aud None", id="no-aud"),
        pytest.param({"exp_in": 25 * 3600}, 403, "25.0 h ahead; RFC 8292", id="exp-over-24h"),
        pytest.param({"exp_in": -60}, 403, "JWT expired", id="expired"),
        pytest.param({"exp": None}, 403, "exp None", id="no-exp"),
        pytest.param({"sub": "test@example.org"}, 403, "not a mailto: or https: contact", id="sub-bare-address"),
        pytest.param({"sub": "http://clinic.example"}, 403, "not a mailto: or https:", id="sub-http"),
        pytest.param({"headers": {"Topic": "a" * 33}}, 400, "Topic 'aaaa", id="topic-too-long"),
        pytest.param({"headers": {"Topic": "a/b"}}, 400, "1-32 base64url characters", id="topic-not-base64url"),
        pytest.param({"headers": {"Urgency": "urgent"}}, 400, "Urgency 'urgent' is not one of", id="urgency"),
        pytest.param({"data": b"x" * 4000}, 413, "over this service's limit of 4096", id="oversize"),
        pytest.param({"encrypt_for": "tablet"}, 400, "does not decrypt", id="encrypted-for-another-device"),
        pytest.param({"tamper": True}, 400, "does not decrypt", id="altered-body"),
        pytest.param({"data": b"x" * 200, "rs": 100}, 400, "Web Push allows one", id="several-records"),
    ],
)
def test_each_broken_push_is_refused_with_its_reason(pushes, change, status, reason):
    url, headers, body = pushes.build(**change)
    response = _post(url, headers, body)
    assert response.status_code == status
    assert reason in response.text
    assert pushes.receiver.messages == [] and pushes.receiver.count == 0
    [attempt] = pushes.receiver.attempts
    assert (attempt.name, attempt.status) == (change.get("endpoint", "phone"), status)
    assert reason in attempt.reason and attempt.body_size == len(body)


def test_a_hand_built_push_with_rfc_spacing_is_accepted(pushes):
    # The builder writes "t=..., k=..." as RFC 8292 does; pywebpush writes "t=...,k=..."; both must pass.
    url, headers, body = pushes.build(headers={"Urgency": "very-low", "Topic": "checkin-2026_05"})
    assert _post(url, headers, body).status_code == 201
    assert pushes.receiver.wait_for(1)[0].topic == "checkin-2026_05"


@pytest.mark.parametrize(
    "status, headers", [(404, None), (410, None), (429, {"Retry-After": "3"}), (500, None), (503, {"Retry-After": "1"})]
)
def test_configured_answers_hold_until_changed(receiver, vapid, status, headers):
    subscription = receiver.subscription("phone")
    receiver.respond("phone", status, headers=headers)
    for _ in range(2):
        with pytest.raises(WebPushException) as raised:
            _webpush(subscription, vapid)
        assert raised.value.response.status_code == status
        if headers:
            assert raised.value.response.headers["Retry-After"] == headers["Retry-After"]
    assert receiver.messages == [] and receiver.count == 0
    assert [attempt.status for attempt in receiver.attempts] == [status, status]
    receiver.respond("phone", 201)
    assert _webpush(subscription, vapid).status_code == 201


def test_an_answer_for_a_number_of_times_then_201(receiver, vapid):
    subscription = receiver.subscription("phone")
    receiver.respond("phone", 429, headers={"Retry-After": "3"}, times=1)
    with pytest.raises(WebPushException) as raised:
        _webpush(subscription, vapid)
    assert raised.value.response.status_code == 429
    assert _webpush(subscription, vapid).status_code == 201
    assert [attempt.status for attempt in receiver.attempts] == [429, 201]
    assert len(receiver.wait_for(1)) == 1


def test_configured_answers_follow_the_checks(pushes):
    # A configured 410 is what a valid push gets; a broken one is still refused for what is wrong with it.
    pushes.receiver.respond("phone", 410)
    url, headers, body = pushes.build(drop=("TTL",))
    assert _post(url, headers, body).status_code == 400
    url, headers, body = pushes.build()
    assert _post(url, headers, body).status_code == 410


def test_redirect_answers_307_and_goes_no_further(pushes):
    target = f"{pushes.receiver.url}/push/tablet"
    pushes.receiver.redirect("phone", target)
    url, headers, body = pushes.build()
    response = _post(url, headers, body)
    assert response.status_code == 307 and response.headers["Location"] == target
    assert [(attempt.name, attempt.status) for attempt in pushes.receiver.attempts] == [("phone", 307)]
    assert pushes.receiver.messages == []


def test_a_hanging_endpoint_times_a_client_out_and_stops_promptly(vapid):
    receiver = PushReceiver().start()
    try:
        subscription = receiver.subscription("phone")
        # Far longer than the test: stop() has to end the hang, not wait it out.
        receiver.hang("phone", 30)
        with pytest.raises(requests.exceptions.ReadTimeout):
            _webpush(subscription, vapid, timeout=0.5)
    finally:
        receiver.stop()  # returns without waiting the 30 s out (else this test would take them)
    assert receiver.messages == []


def test_stop_cuts_idle_keep_alive_connections(vapid):
    receiver = PushReceiver().start()
    subscription = receiver.subscription("phone")
    with requests.Session() as session:
        assert _webpush(subscription, vapid, requests_session=session).status_code == 201
        receiver.stop()  # with the session's connection still open
        with pytest.raises(requests.exceptions.ConnectionError):
            _webpush(subscription, vapid, requests_session=session, timeout=2)


def test_a_short_hang_then_the_push_is_accepted(receiver, vapid):
    subscription = receiver.subscription("phone")
    receiver.hang("phone", 0.2, times=1)
    started = time.monotonic()
    assert _webpush(subscription, vapid, timeout=5).status_code == 201
    assert time.monotonic() - started >= 0.2
    assert len(receiver.wait_for(1)) == 1


def test_a_session_reuses_one_connection(pushes, vapid):
    with requests.Session() as session:
        for _ in range(3):
            pusher = WebPusher(pushes.subscription, requests_session=session)
            headers = vapid.sign({"sub": SUB, "aud": pushes.receiver.url, "exp": int(time.time()) + 3600})
            with pusher.send(REMINDER, headers, ttl=60, timeout=5) as response:
                assert response.status_code == 201
        # A refusal leaves the connection open too: every answer carries a Content-Length.
        url, headers, body = pushes.build(drop=("TTL",))
        with session.post(url, data=body, headers=headers, timeout=5) as response:
            assert response.status_code == 400
        url, headers, body = pushes.build()
        with session.post(url, data=body, headers=headers, timeout=5) as response:
            assert response.status_code == 201
    assert len(pushes.receiver.attempts) == 5
    assert len({attempt.peer for attempt in pushes.receiver.attempts}) == 1
    assert len(pushes.receiver.wait_for(4)) == 4


def test_wait_for_says_what_did_arrive(pushes):
    url, headers, body = pushes.build(drop=("TTL",))
    _post(url, headers, body)
    with pytest.raises(AssertionError) as raised:
        pushes.receiver.wait_for(1, timeout=0.1)
    report = str(raised.value)
    assert "expected 1 push messages within 0.1 s" in report
    assert "0 decrypted, 1 requests answered" in report and "400 phone: missing TTL header" in report


def test_clear_forgets_what_arrived_but_keeps_devices_and_answers(pushes):
    pushes.receiver.respond("phone", 429)
    url, headers, body = pushes.build()
    assert _post(url, headers, body).status_code == 429
    pushes.receiver.clear()
    assert pushes.receiver.attempts == [] and pushes.receiver.messages == [] and pushes.receiver.count == 0
    assert _post(url, headers, body).status_code == 429


def test_only_posts_to_push_endpoints(receiver):
    receiver.subscription("phone")
    with requests.get(f"{receiver.url}/push/phone", timeout=5) as response:
        assert response.status_code == 405 and response.headers["Allow"] == "POST"
    with requests.post(f"{receiver.url}/elsewhere", data=b"", timeout=5) as response:
        assert response.status_code == 404


def test_counting_mode_counts_every_push_and_decrypts_a_sample(vapid):
    with PushReceiver(decrypt_every=50) as receiver:
        pushes = _Pushes(receiver, vapid)
        url, headers, body = pushes.build()
        junk = bytes(len(body))
        with requests.Session() as session:
            for index in range(500):
                # Only every 50th body is decrypted, so the others may be junk and still be counted.
                data = body if index % 50 == 0 else junk
                with session.post(url, data=data, headers=headers, timeout=5) as response:
                    assert response.status_code == 201
        assert receiver.wait_for_count(500, timeout=5) == 500
        messages = receiver.messages
        assert len(messages) == 10 and all(message.body == REMINDER for message in messages)

        # Headers and the JWT are checked on every push, sampled or not.
        url, headers, body = pushes.build(signer="stranger")
        assert _post(url, headers, body).status_code == 403
        url, headers, body = pushes.build(drop=("TTL",))
        assert _post(url, headers, body).status_code == 400
        assert receiver.count == 500
        with pytest.raises(AssertionError, match="expected 501 accepted pushes"):
            receiver.wait_for_count(501, timeout=0.05)
