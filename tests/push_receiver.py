"""A loopback Web Push service for tests: checks what a sender posts (RFC 8030, RFC 8292) and decrypts it (RFC 8291)."""

import base64
import binascii
import json
import re
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

KEY_INFO = b"WebPush: info\x00"
CEK_INFO = b"Content-Encoding: aes128gcm\x00"
NONCE_INFO = b"Content-Encoding: nonce\x00"
TAG_SIZE = 16
POINT_SIZE = 65
HEADER_SIZE = 16 + 4 + 1 + POINT_SIZE
MAX_VAPID_LIFETIME = 24 * 60 * 60
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
TOPIC_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,100}")
BASE64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
# Bodies larger than this are not read at all: the connection is answered 413 and closed.
READ_LIMIT = 1 << 20


class DecryptError(ValueError):
    """A body that is not a valid aes128gcm Web Push message for the given keys."""


class Refused(Exception):
    """A push request the receiver answers with an error status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Received:
    """A push message the receiver accepted and decrypted."""

    name: str
    headers: dict
    ttl: int
    urgency: str | None
    topic: str | None
    claims: dict
    vapid_public_key: str
    body: bytes
    json: object
    received_at: float


@dataclass(frozen=True)
class Attempt:
    """A request the receiver answered, whatever the answer was."""

    name: str | None
    status: int
    reason: str
    headers: dict
    body_size: int
    peer: tuple[str, int]
    received_at: float


@dataclass
class _Device:
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    # Pushes that passed the header checks; in counting mode it picks which ones are decrypted.
    seen: int = 0


@dataclass
class _Answer:
    kind: str  # "respond", "hang" or "redirect"
    status: int = 201
    headers: dict | None = None
    seconds: float = 0.0
    location: str = ""
    times: int | None = None


def b64url_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, refusing any other alphabet."""
    if not BASE64URL_RE.fullmatch(text):
        raise ValueError("not base64url")
    # Keys and JWS parts travel unpadded (RFC 7515 §2); the padding comes back only for the decoder.
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as error:
        raise ValueError("not base64url") from error


def decrypt(
    body: bytes, private_key: ec.EllipticCurvePrivateKey, auth_secret: bytes, *, single_record: bool = False
) -> bytes:
    """Decrypt an aes128gcm Web Push body (RFC 8291 over RFC 8188) with the user agent's key pair and auth secret."""
    if len(body) < HEADER_SIZE:
        raise DecryptError(f"body of {len(body)} bytes is shorter than the {HEADER_SIZE}-byte aes128gcm header")
    salt = body[:16]
    record_size = int.from_bytes(body[16:20], "big")
    key_id_size = body[20]
    # RFC 8188 §2: a record must hold the 16-byte tag and the padding delimiter.
    if record_size < TAG_SIZE + 2:
        raise DecryptError(f"record size {record_size} is below the minimum of {TAG_SIZE + 2}")
    # RFC 8291 §4: the keyid is the sender's ephemeral ECDH public key, an uncompressed P-256 point.
    if key_id_size != POINT_SIZE:
        raise DecryptError(f"keyid is {key_id_size} bytes, not the {POINT_SIZE} of an uncompressed P-256 point")
    sender_public = body[21:HEADER_SIZE]
    try:
        sender_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public)
    except ValueError as error:
        raise DecryptError("keyid is not a point on P-256") from error
    ciphertext = body[HEADER_SIZE:]
    records = [ciphertext[start : start + record_size] for start in range(0, len(ciphertext), record_size)]
    if not records:
        raise DecryptError("body has a header but no records")
    # RFC 8291 §4: an application server must send a single record, so user agents need handle no more.
    if single_record and len(records) > 1:
        raise DecryptError(f"body has {len(records)} records of {record_size} bytes; Web Push allows one")

    user_public = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    shared = private_key.exchange(ec.ECDH(), sender_key)
    info = KEY_INFO + user_public + sender_public
    ikm = HKDF(algorithm=hashes.SHA256(), length=32, salt=auth_secret, info=info).derive(shared)
    prk = HKDF.extract(hashes.SHA256(), salt, ikm)
    cek = HKDFExpand(algorithm=hashes.SHA256(), length=16, info=CEK_INFO).derive(prk)
    base_nonce = int.from_bytes(HKDFExpand(algorithm=hashes.SHA256(), length=12, info=NONCE_INFO).derive(prk), "big")

    aead = AESGCM(cek)
    plaintext = bytearray()
    for sequence, record in enumerate(records):
        last = sequence == len(records) - 1
        if len(record) < TAG_SIZE + 1:
            raise DecryptError(f"record {sequence} is {len(record)} bytes, too short for a tag and a delimiter")
        nonce = (base_nonce ^ sequence).to_bytes(12, "big")
        try:
            padded = aead.decrypt(nonce, record, None)
        except InvalidTag as error:
            raise DecryptError(f"record {sequence} does not decrypt: wrong keys, or the body was altered") from error
        content = padded.rstrip(b"\x00")
        if not content:
            raise DecryptError(f"record {sequence} has no padding delimiter")
        # RFC 8188 §2: 0x02 ends the last record and 0x01 every other; a final 0x01 means the body was truncated.
        expected = 2 if last else 1
        if content[-1] != expected:
            raise DecryptError(f"record {sequence} ends with delimiter {content[-1]:#04x}, expected {expected:#04x}")
        plaintext += content[:-1]
    return bytes(plaintext)


def verify_vapid(
    authorization: str | None, audience: str, *, expect_key: str | None = None, now: float | None = None
) -> tuple[dict, str]:
    """Check a `vapid` Authorization header (RFC 8292) and return its JWT claims and its `k` key."""
    # RFC 8292 §4.2: 401 when the authentication is absent, 403 when it is invalid.
    if not authorization:
        raise Refused(401, "missing Authorization header; expected vapid t=<JWT>, k=<key> (RFC 8292)")
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "vapid":
        raise Refused(401, f"Authorization scheme {scheme!r} is not vapid (RFC 8292 §3)")
    # RFC 8292 §3 writes "t=..., k=..."; pywebpush sends no space after the comma. Both are auth-params.
    params = {}
    for part in credentials.split(","):
        key, equals, value = part.strip().partition("=")
        if not equals:
            raise Refused(403, f"malformed vapid parameter {part.strip()!r}")
        params[key.strip().lower()] = value.strip()
    token, key_text = params.get("t"), params.get("k")
    if not token or not key_text:
        raise Refused(403, "vapid credentials need both t= (the JWT) and k= (the public key)")
    try:
        key_bytes = b64url_decode(key_text)
        if len(key_bytes) != POINT_SIZE or key_bytes[0] != 4:
            raise ValueError("not an uncompressed point")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key_bytes)
    except ValueError as error:
        raise Refused(403, "k= is not a base64url uncompressed P-256 public key") from error
    if expect_key is not None and key_bytes != b64url_decode(expect_key):
        raise Refused(403, "k= is not the VAPID public key this subscription was created with")

    parts = token.split(".")
    if len(parts) != 3:
        raise Refused(403, "t= is not a JWT of three base64url parts")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError as error:
        raise Refused(403, "t= is not a JWT: a part is not base64url JSON") from error
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise Refused(403, "JWT header and claims must be JSON objects")
    if header.get("alg") != "ES256":
        raise Refused(403, f"JWT alg {header.get('alg')!r} is not ES256 (RFC 8292 §2)")
    if str(header.get("typ", "JWT")).upper() != "JWT":
        raise Refused(403, f"JWT typ {header.get('typ')!r} is not JWT")
    # JWS ES256 signatures are raw r||s (RFC 7518 §3.4), not the DER that cryptography verifies.
    if len(signature) != 64:
        raise Refused(403, f"ES256 signature is {len(signature)} bytes, not 64 (r||s)")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as error:
        raise Refused(403, "JWT signature does not verify with the k= public key") from error

    now = time.time() if now is None else now
    if claims.get("aud") != audience:
        raise Refused(403, f"JWT aud {claims.get('aud')!r} is not this push service's origin {audience!r}")
    expiry = claims.get("exp")
    if isinstance(expiry, bool) or not isinstance(expiry, int | float):
        raise Refused(403, f"JWT exp {expiry!r} is not a number of seconds")
    if expiry <= now:
        raise Refused(403, f"JWT expired {now - expiry:.0f} s ago")
    if expiry > now + MAX_VAPID_LIFETIME:
        raise Refused(403, f"JWT exp is {(expiry - now) / 3600:.1f} h ahead; RFC 8292 §2 allows at most 24 h")
    if not _is_contact(claims.get("sub")):
        raise Refused(403, f"JWT sub {claims.get('sub')!r} is not a mailto: or https: contact (RFC 8292 §2.1)")
    return claims, key_text


def _is_contact(subject: object) -> bool:
    if not isinstance(subject, str):
        return False
    parts = urlsplit(subject)
    if parts.scheme.lower() == "mailto":
        return "@" in parts.path
    return parts.scheme.lower() == "https" and bool(parts.hostname)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "push-receiver"
    # Headers and body go out in two writes; without TCP_NODELAY the second waits on a delayed ACK.
    disable_nagle_algorithm = True
    timeout = 30

    def do_POST(self) -> None:
        self.server.receiver._serve(self)

    def _refuse_method(self) -> None:
        _answer(self, 405, f"{self.command} is not allowed; push messages are POSTed", {"Allow": "POST"}, close=True)

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _refuse_method

    def log_message(self, format, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # stop() shuts open connections itself and then joins their threads with a deadline.
    block_on_close = False

    def __init__(self, address, receiver: "PushReceiver") -> None:
        self.receiver = receiver
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.workers: set[threading.Thread] = set()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        worker = threading.Thread(target=self._work, args=(request, client_address), daemon=True)
        with self.lock:
            self.connections.add(request)
            self.workers.add(worker)
        worker.start()

    def _work(self, request, client_address) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self.lock:
                self.connections.discard(request)
                self.workers.discard(threading.current_thread())

    def handle_error(self, request, client_address) -> None:
        # Clients that time out or close a pooled connection reset it; that is how HTTP goes, not a failure.
        pass


def _answer(handler, status: int, reason: str, headers: dict | None = None, *, close: bool = False) -> None:
    body = (reason + "\n").encode("utf-8")
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Type", "text/plain; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    if close:
        handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)


class PushReceiver:
    """Play a push service on loopback: hand out subscriptions, check and decrypt what is posted to them."""

    def __init__(
        self, *, host: str = "127.0.0.1", max_body: int = 4096, decrypt_every: int = 1, expect_key: str | None = None
    ) -> None:
        if decrypt_every < 1:
            raise ValueError("decrypt_every must be at least 1")
        self.host = host
        self.max_body = max_body
        self.decrypt_every = decrypt_every
        self.expect_key = expect_key
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._devices: dict[str, _Device] = {}
        self._answers: dict[str, _Answer] = {}
        self._messages: list[Received] = []
        self._attempts: list[Attempt] = []
        self._count = 0

    def start(self) -> "PushReceiver":
        """Bind a free loopback port and serve on a daemon thread."""
        if self._server is not None:
            raise RuntimeError("receiver already started")
        self._server = _Server((self.host, 0), self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and wait for their threads."""
        server = self._server
        if server is None or self._stopping.is_set():
            return
        self._stopping.set()
        server.shutdown()
        with server.lock:
            connections = list(server.connections)
            workers = list(server.workers)
        # Shutting each socket wakes its handler from the blocking read of an idle keep-alive connection.
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for worker in workers:
            worker.join(timeout=5)
        server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "PushReceiver":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Return the origin of this push service, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host_entry}"

    @property
    def host_entry(self) -> str:
        """Return host:port, the form AFTERCARE_PUSH_ALLOWED_HOSTS lists."""
        if self._server is None:
            raise RuntimeError("receiver not started")
        return f"{self.host}:{self._server.server_address[1]}"

    def subscription(self, name: str | None = None) -> dict:
        """Create a device as a browser would and return its PushSubscription JSON."""
        name = secrets.token_urlsafe(12) if name is None else name
        if not NAME_RE.fullmatch(name):
            raise ValueError(f"subscription name {name!r} must be 1-100 characters of A-Z a-z 0-9 _ -")
        private_key = ec.generate_private_key(ec.SECP256R1())
        auth_secret = secrets.token_bytes(16)
        with self._lock:
            if name in self._devices:
                raise ValueError(f"subscription {name!r} already exists")
            self._devices[name] = _Device(private_key, auth_secret)
        public = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.url}/push/{name}",
            "keys": {"p256dh": b64url_encode(public), "auth": b64url_encode(auth_secret)},
        }

    def respond(self, name: str, status: int, *, headers: dict | None = None, times: int | None = None) -> None:
        """Answer valid pushes to this endpoint with `status`, for `times` requests or until changed."""
        self._configure(name, _Answer("respond", status=status, headers=dict(headers or {}), times=times))

    def hang(self, name: str, seconds: float, *, times: int | None = None) -> None:
        """Hold valid pushes to this endpoint for `seconds` before accepting them."""
        self._configure(name, _Answer("hang", seconds=seconds, times=times))

    def redirect(self, name: str, location: str, *, times: int | None = None) -> None:
        """Answer valid pushes to this endpoint with 307 to `location`."""
        self._configure(name, _Answer("redirect", status=307, location=location, times=times))

    @property
    def messages(self) -> list[Received]:
        """Return the decrypted messages answered 2xx, in arrival order."""
        with self._lock:
            return list(self._messages)

    @property
    def attempts(self) -> list[Attempt]:
        """Return every answered request, in order."""
        with self._lock:
            return list(self._attempts)

    @property
    def count(self) -> int:
        """Return how many pushes were answered 2xx, sampled or not."""
        with self._lock:
            return self._count

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` decrypted messages arrived and return them all."""
        with self._arrived:
            if self._arrived.wait_for(lambda: len(self._messages) >= count, timeout):
                return list(self._messages)
        raise AssertionError(f"expected {count} push messages within {timeout} s; {self._report()}")

    def wait_for_count(self, count: int, timeout: float = 10.0) -> int:
        """Block until `count` pushes were accepted (sampled or not) and return the count."""
        with self._arrived:
            if self._arrived.wait_for(lambda: self._count >= count, timeout):
                return self._count
        raise AssertionError(f"expected {count} accepted pushes within {timeout} s; {self._report()}")

    def clear(self) -> None:
        """Forget messages, attempts and the count; keep devices and configured answers."""
        with self._lock:
            self._messages.clear()
            self._attempts.clear()
            self._count = 0
            for device in self._devices.values():
                device.seen = 0

    def _configure(self, name: str, answer: _Answer) -> None:
        with self._lock:
            if name not in self._devices:
                raise KeyError(f"no subscription named {name!r}")
            self._answers[name] = answer

    def _next_answer(self, name: str) -> _Answer:
        with self._lock:
            answer = self._answers.get(name)
            if answer is None:
                return _Answer("respond")
            if answer.times is not None:
                answer.times -= 1
                if answer.times <= 0:
                    del self._answers[name]
            return answer

    def _report(self) -> str:
        with self._lock:
            accepted, attempts = len(self._messages), list(self._attempts)
        lines = [f"{accepted} decrypted, {len(attempts)} requests answered"]
        lines += [f"  {a.status} {a.name}: {a.reason}" for a in attempts[-10:]]
        return "\n".join(lines)

    def _record(self, handler, name, status, reason, headers, body_size, received=None, started=0.0) -> None:
        attempt = Attempt(name, status, reason, headers, body_size, handler.client_address[:2], started)
        with self._arrived:
            self._attempts.append(attempt)
            # Any 2xx is a delivery, so a test may answer 200 or 202 the way some push services do.
            if 200 <= status < 300:
                self._count += 1
                if received is not None:
                    self._messages.append(received)
            self._arrived.notify_all()

    def _serve(self, handler: _Handler) -> None:
        started = time.time()
        # Field names are case-insensitive; recording them lower-cased gives tests one way to look them up.
        headers = {key.lower(): value for key, value in handler.headers.items()}
        path = urlsplit(handler.path).path
        name = path.removeprefix("/push/") if path.startswith("/push/") else None
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._record(handler, name, 411, "chunked bodies are not accepted", headers, 0, started=started)
            _answer(handler, 411, "send a Content-Length; chunked bodies are not accepted", close=True)
            return
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= READ_LIMIT:
            reason = f"Content-Length {headers.get('content-length')!r} is not a size this service reads"
            self._record(handler, name, 413, reason, headers, 0, started=started)
            _answer(handler, 413, reason, close=True)
            return
        # The whole body is read before any check, so a refused request leaves the keep-alive connection in step.
        body = handler.rfile.read(length)
        if len(body) != length:
            handler.close_connection = True
            return

        try:
            received = self._check(name, headers, body, started)
        except Refused as refusal:
            self._record(handler, name, refusal.status, refusal.reason, headers, len(body), started=started)
            _answer(handler, refusal.status, refusal.reason)
            return
        except Exception as error:  # a receiver bug must show up as an answer, not as a hung client
            reason = f"receiver error: {error!r}"
            self._record(handler, name, 500, reason, headers, len(body), started=started)
            _answer(handler, 500, reason)
            return

        answer = self._next_answer(name)
        # Waiting on the stop event rather than sleeping lets stop() end a hang at once.
        if answer.kind == "hang" and self._stopping.wait(answer.seconds):
            handler.close_connection = True
            return
        if answer.kind == "redirect":
            reason = f"redirected to {answer.location}"
            self._record(handler, name, 307, reason, headers, len(body), started=started)
            _answer(handler, 307, reason, {"Location": answer.location})
        elif answer.kind == "respond" and answer.status != 201:
            reason = f"answered {answer.status} as configured"
            self._record(handler, name, answer.status, reason, headers, len(body), received, started)
            _answer(handler, answer.status, reason, answer.headers)
        else:
            # RFC 8030 §5: the push service answers 201 with the push message resource in Location.
            location = f"{self.url}/message/{uuid.uuid4().hex}"
            self._record(handler, name, 201, "accepted", headers, len(body), received, started)
            _answer(handler, 201, "accepted", {"Location": location, **(answer.headers or {})})

    def _check(self, name: str | None, headers: dict, body: bytes, started: float) -> Received | None:
        with self._lock:
            device = self._devices.get(name) if name is not None else None
        if device is None:
            raise Refused(404, "unknown subscription")
        ttl_text = headers.get("ttl")
        # RFC 8030 §5.2: a push service must answer 400 to a request without TTL.
        if ttl_text is None:
            raise Refused(400, "missing TTL header (RFC 8030 §5.2)")
        if not ttl_text.isascii() or not ttl_text.isdigit():
            raise Refused(400, f"TTL {ttl_text!r} is not a non-negative integer of seconds")
        encoding = headers.get("content-encoding")
        if encoding is None or encoding.strip().lower() != "aes128gcm":
            raise Refused(400, f"Content-Encoding {encoding!r} is not aes128gcm (RFC 8291 §4)")
        # The JWT's aud binds it to one push service: this one's origin, scheme://host:port (RFC 8292 §2).
        claims, vapid_key = verify_vapid(headers.get("authorization"), self.url, expect_key=self.expect_key)
        topic = headers.get("topic")
        if topic is not None and not TOPIC_RE.fullmatch(topic):
            raise Refused(400, f"Topic {topic!r} is not 1-32 base64url characters (RFC 8030 §5.4)")
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise Refused(400, f"Urgency {urgency!r} is not one of {', '.join(sorted(URGENCIES))} (RFC 8030 §5.3)")
        if len(body) > self.max_body:
            raise Refused(413, f"body of {len(body)} bytes is over this service's limit of {self.max_body}")

        # Counting mode samples only the decryption; every push above had its headers and JWT checked.
        with self._lock:
            sampled = device.seen % self.decrypt_every == 0
            device.seen += 1
        if not sampled:
            return None
        try:
            plaintext = decrypt(body, device.private_key, device.auth_secret, single_record=True)
        except DecryptError as error:
            raise Refused(400, f"body does not decrypt: {error}") from error
        try:
            parsed = json.loads(plaintext)
        except ValueError:
            parsed = None
        return Received(
            name=name,
            headers=headers,
            ttl=int(ttl_text),
            urgency=urgency,
            topic=topic,
            claims=claims,
            vapid_public_key=vapid_key,
            body=plaintext,
            json=parsed,
            received_at=started,
        )
