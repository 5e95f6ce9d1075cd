"""The devices that receive reminders: subscriptions checked when stored and again when sent (PUSH-03).

A push subscription is an address the browser hands us and we later POST to, so a forged one
would make the server send requests wherever it points. An endpoint is accepted only as https on
port 443 of a known push service (or a host the clinic adds in AFTERCARE_PUSH_ALLOWED_HOSTS; an
entry there may carry a port, and a loopback host named there may use plain http, which is how
the test suite's receiver is reached). IP literals are refused unless listed; at send time the
host's resolved addresses are checked too (`resolve`), and the connection goes to the address
that was checked.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

from ..db import db
from ..inputs import Invalid
from ..models import AuditEvent
from ..models import Device
from ..models import User
from ..models import utcnow
from .vapid import b64url_decode

MAX_DEVICES = 10
ENDPOINT_MAX = 1024
NAME_MAX = 80
# The push services browsers use. A leading "*." matches any subdomain (Apple's and Microsoft's
# hosts vary by region).
KNOWN_HOSTS = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
)
LOOPBACK_NAMES = ("localhost",)


class Refused(Invalid):
    """A subscription that cannot be stored or sent to; `fields` says why, for the person and the log."""


@dataclass(frozen=True)
class Entry:
    """One allowed host: a name or pattern, and the port it may be reached on."""

    host: str
    port: int | None  # None: 443 only
    listed: bool  # named by the clinic (AFTERCARE_PUSH_ALLOWED_HOSTS), not one of the known services

    def matches(self, host: str) -> bool:
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host


def allowed_entries(setting: str | None = None) -> list[Entry]:
    """Return the known push services and the clinic's own entries (comma or space separated, host or host:port)."""
    if setting is None:
        setting = current_app.config.get("PUSH_ALLOWED_HOSTS", "")
    entries = [Entry(host, None, False) for host in KNOWN_HOSTS]
    for item in setting.replace(",", " ").split():
        host, port = _split_host_port(item.strip().lower())
        if host:
            entries.append(Entry(host, port, True))
    return entries


def _split_host_port(item: str) -> tuple[str, int | None]:
    if item.startswith("["):  # [::1]:8443
        host, _, rest = item[1:].partition("]")
        port = rest.removeprefix(":")
    elif item.count(":") == 1:
        host, port = item.split(":")
    else:
        host, port = item, ""
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return "", None
    return host, int(port) if port else None


def _ip(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _loopback(host: str) -> bool:
    ip = _ip(host)
    return host in LOOPBACK_NAMES or (ip is not None and ip.is_loopback)


@dataclass(frozen=True)
class Target:
    """Where a checked endpoint points: the push service's origin and whether the clinic listed it."""

    scheme: str
    host: str
    port: int
    listed: bool

    @property
    def origin(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")


def check_endpoint(endpoint, entries: list[Entry] | None = None) -> Target:
    """Return where an endpoint points if it may be sent to, or raise Refused saying why (PUSH-03)."""
    entries = allowed_entries() if entries is None else entries
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > ENDPOINT_MAX:
        raise Refused({"endpoint": "A push subscription's endpoint must be a URL of at most 1,024 characters."})
    if not endpoint.isascii() or any(c.isspace() or ord(c) < 0x20 for c in endpoint):
        raise Refused({"endpoint": "This push endpoint holds characters a push service's address never has."})
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise Refused({"endpoint": "This push endpoint is not a URL."}) from None
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None:
        raise Refused({"endpoint": "A push endpoint may not carry a user name or password."})
    if parts.scheme not in ("https", "http") or not host:
        raise Refused({"endpoint": "A push endpoint must be an https URL."})
    entry = next((e for e in entries if e.matches(host)), None)
    if entry is None:
        raise Refused({"endpoint": f"{host} is not a push service this clinic sends to."})
    if _ip(host) is not None and not entry.listed:
        raise Refused(
            {"endpoint": "A push endpoint must name its host; addresses are refused unless the clinic lists them."}
        )
    if parts.scheme == "http" and not (entry.listed and _loopback(host)):
        raise Refused(
            {"endpoint": "A push endpoint must use https (plain http only for a loopback host the clinic lists)."}
        )
    default = 443 if parts.scheme == "https" else 80
    effective = port if port is not None else default
    if effective != (entry.port or 443):
        raise Refused({"endpoint": f"Push endpoints use port {entry.port or 443}, not {effective}."})
    return Target(parts.scheme, host, effective, entry.listed)


def check_keys(keys) -> tuple[str, str]:
    """Return (p256dh, auth) if they are a P-256 public point and a 16-byte secret, or raise Refused."""
    if not isinstance(keys, dict):
        raise Refused({"keys": "A push subscription needs its keys (p256dh and auth)."})
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    try:
        point = b64url_decode(p256dh) if isinstance(p256dh, str) and len(p256dh) <= 100 else b""
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(point) != 65:
            raise ValueError
    except (ValueError, TypeError):
        raise Refused({"keys": "The subscription's p256dh key is not a P-256 public key."}) from None
    try:
        secret = b64url_decode(auth) if isinstance(auth, str) and len(auth) <= 40 else b""
    except (ValueError, TypeError):
        secret = b""
    if len(secret) != 16:
        raise Refused({"keys": "The subscription's auth secret must be 16 bytes."})
    return p256dh.rstrip("="), auth.rstrip("=")


def resolve(target: Target) -> str:
    """Return the address to connect to for a checked endpoint, or raise Refused (PUSH-03, at send).

    A name must resolve only to public addresses (a DNS answer pointing at the clinic's own network
    is refused); a host the clinic listed may resolve to anything, as it chose to trust it.
    """
    literal = _ip(target.host)
    if literal is not None:
        return str(literal)
    try:
        answers = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except OSError:
        raise Refused({"endpoint": f"{target.host} does not resolve."}) from None
    addresses = [ipaddress.ip_address(a[4][0].split("%")[0]) for a in answers]
    if not target.listed:
        bad = [a for a in addresses if not a.is_global]
        if bad or not addresses:
            raise Refused({"endpoint": f"{target.host} resolves to a private address ({bad[0] if bad else 'none'})."})
    # Prefer IPv4 when both are offered: loopback receivers and most push services listen there.
    addresses.sort(key=lambda a: a.version)
    return str(addresses[0])


# --------------------------------------------------------------------------- a person's devices


def clean_name(value) -> str:
    name = " ".join(str(value or "").split())[:NAME_MAX]
    return name or "This device"


def register(user: User, data) -> tuple[Device, bool]:
    """Store (or refresh) this browser's subscription for a person; return it and whether it is new.

    The endpoint identifies the browser: if someone else registered it before (a shared phone
    that changed hands), it moves to this person. Raise Refused when it cannot be stored.
    """
    if not isinstance(data, dict):
        raise Refused({"body": "Send the subscription as a JSON object."})
    endpoint = data.get("endpoint")
    check_endpoint(endpoint)
    p256dh, auth = check_keys(data.get("keys"))
    name = clean_name(data.get("name")) if data.get("name") else None
    with db.atomic():
        if db.for_update:
            User.select(User.id).where(User.id == user.id).for_update().get()
        existing = Device.get_or_none(Device.endpoint == endpoint)
        if existing is not None and existing.user_id == user.id:
            if (existing.p256dh, existing.auth) != (p256dh, auth):
                Device.update(p256dh=p256dh, auth=auth).where(Device.id == existing.id).execute()
                existing = Device.get_by_id(existing.id)
            return existing, False
        replaced = data.get("replaces") if isinstance(data.get("replaces"), str) else None
        count = Device.select().where(Device.user == user, Device.endpoint != (replaced or "")).count()
        if count >= MAX_DEVICES:
            raise Refused(
                {"endpoint": f"Reminders already go to {MAX_DEVICES} devices. Remove one in Settings to add this one."}
            )
        if existing is not None:
            Device.delete().where(Device.id == existing.id).execute()
        if replaced and replaced != endpoint:
            # The browser renewed its subscription (pushsubscriptionchange): the old address is dead.
            old = Device.get_or_none(Device.user == user, Device.endpoint == replaced)
            if old is not None:
                name = name or old.name
                Device.delete().where(Device.id == old.id).execute()
        name = name or clean_name(None)
        device = Device.create(user=user, endpoint=endpoint, p256dh=p256dh, auth=auth, name=name)
        AuditEvent.record("device_added", actor=user, subject=user, detail=name)
    return device, True


def forget(user: User, endpoint) -> bool:
    """Stop reminders to this person's device with the given endpoint (the browser unsubscribed); return whether it was theirs."""
    if not isinstance(endpoint, str):
        return False
    with db.atomic():
        device = Device.get_or_none(Device.user == user, Device.endpoint == endpoint)
        if device is None:
            return False
        Device.delete().where(Device.id == device.id).execute()
        AuditEvent.record("device_removed", actor=user, subject=user, detail=device.name)
    return True


def remove(user: User, device: Device) -> None:
    """Remove one of a person's devices from the list in their settings."""
    with db.atomic():
        Device.delete().where(Device.id == device.id, Device.user == user).execute()
        AuditEvent.record("device_removed", actor=user, subject=user, detail=device.name)


def of(user: User):
    """Return the query for a person's devices, newest first."""
    return Device.select().where(Device.user == user).order_by(Device.created_at.desc(), Device.id.desc())


def touch_success(ids, status: int) -> None:
    if ids:
        Device.update(last_success_at=utcnow(), last_status=status).where(Device.id.in_(list(ids))).execute()


def panel(user: User) -> dict:
    """What the devices panel shows (templates/_partials/push_devices.html): this person's devices and the key."""
    from . import vapid

    keys = vapid.keys(current_app.config)
    return {"devices": list(of(user)), "push_key": keys.public if keys else None}
