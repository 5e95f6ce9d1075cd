"""Sending one push message: encrypted for the device (RFC 8291), signed for the push service (RFC 8292).

Every request sets TTL, Urgency, an opaque Topic and timeouts, and follows no redirect (PUSH-02).
Connections are kept alive per push service and go to the address `devices.resolve` checked, so
a DNS answer cannot change between the check and the connection. What the push service answered
becomes an outcome (PUSH-04): delivered; gone (404/410: the browser unsubscribed, forget the
device); retry (429, 5xx, a timeout or a dropped connection, after Retry-After when given);
refused (401/403: our keys or configuration are wrong, an alarm for the administrator, never a
reason to forget devices); failed (anything else, such as 413 or a redirect: sending again would
not help).
"""

import email.utils
import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from pywebpush import WebPusher

from ..models import DELIVERED
from ..models import GONE
from ..models import REFUSED
from ..models import RETRY
from ..models import UNDELIVERABLE
from . import devices
from .vapid import Signer

log = logging.getLogger(__name__)

CONNECT_SECONDS = 5.0
READ_SECONDS = 10.0
RESOLVE_SECONDS = 60.0  # how long a checked address is reused for a push service
MAX_RETRY_AFTER = 3600.0
MAX_CACHED = 50_000  # subscriptions whose decoded keys are kept


@dataclass(frozen=True)
class Result:
    outcome: str  # DELIVERED, GONE, RETRY, REFUSED or UNDELIVERABLE
    status: int | None  # the push service's answer; None when no answer came (refused address, timeout)
    retry_after: float | None = None  # seconds, when the push service asked for a pause
    detail: str = ""


def outcome_of(status: int) -> str:
    if 200 <= status < 300:
        return DELIVERED
    if status in (404, 410):
        return GONE
    if status in (401, 403):
        return REFUSED
    if status == 429 or 500 <= status < 600:
        return RETRY
    return UNDELIVERABLE


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Read a Retry-After header: delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return min(max(0.0, when.timestamp() - (now or time.time())), MAX_RETRY_AFTER)


class Sender:
    """Sends push messages; safe to share between threads."""

    def __init__(
        self,
        signer: Signer,
        *,
        entries: list[devices.Entry] | None = None,
        pool_size: int = 4,
        connect_seconds: float = CONNECT_SECONDS,
        read_seconds: float = READ_SECONDS,
    ):
        self.signer = signer
        self.entries = devices.allowed_entries() if entries is None else entries
        self.pool_size = pool_size
        self.timeout = urllib3.Timeout(connect=connect_seconds, read=read_seconds)
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
        self._targets: dict[str, devices.Target] = {}  # endpoints checked against this sender's allowlist
        self._encrypters: dict[tuple, WebPusher] = {}
        self._addresses: dict[tuple, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def send(self, subscription: dict, data: bytes, *, ttl: int, urgency: str, topic: str) -> Result:
        """Encrypt `data` for one subscription and post it; return what happened."""
        endpoint = subscription["endpoint"]
        try:
            target = self._targets.get(endpoint)
            if target is None:
                if len(self._targets) >= MAX_CACHED:
                    self._targets.clear()
                target = self._targets[endpoint] = devices.check_endpoint(endpoint, self.entries)
            address = self._address(target)
        except devices.Refused as refusal:
            # PUSH-03 at send: the allowlist changed, or the name now points somewhere it must not.
            return Result(UNDELIVERABLE, None, detail=" ".join(refusal.fields.values()))
        body = self._encrypter(subscription).encode(data, content_encoding="aes128gcm")["body"]
        parts = urlsplit(endpoint)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = {
            "Host": target.origin.split("://", 1)[1],
            "TTL": str(max(0, int(ttl))),
            "Urgency": urgency,
            "Topic": topic,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Authorization": self.signer.authorization(target.origin),
        }
        pool = self._pool(target, address)
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                timeout=self.timeout,
                preload_content=True,
            )
        except urllib3.exceptions.HTTPError as error:
            return Result(RETRY, None, detail=f"{type(error).__name__}: no answer from {target.host}")
        status = response.status
        outcome = outcome_of(status)
        if outcome == REFUSED:
            log.error(
                "push service %s refused our VAPID credentials (%s): check AFTERCARE_VAPID_* settings",
                target.host,
                status,
            )
        delay = retry_after_seconds(response.headers.get("Retry-After")) if outcome == RETRY else None
        detail = f"redirect to elsewhere refused ({status})" if 300 <= status < 400 else ""
        return Result(outcome, status, delay, detail)

    def _encrypter(self, subscription: dict) -> WebPusher:
        """Return pywebpush's encrypter for a subscription, its keys decoded once (each message still gets a fresh
        ECDH key and salt)."""
        keys = subscription["keys"]
        key = (subscription["endpoint"], keys["p256dh"], keys["auth"])
        pusher = self._encrypters.get(key)
        if pusher is None:
            if len(self._encrypters) >= MAX_CACHED:
                self._encrypters.clear()
            pusher = self._encrypters[key] = WebPusher(subscription)
        return pusher

    def _address(self, target: devices.Target) -> str:
        key = (target.host, target.port, target.listed)
        now = time.monotonic()
        with self._lock:
            cached = self._addresses.get(key)
            if cached is not None and cached[1] > now:
                return cached[0]
        address = devices.resolve(target)
        with self._lock:
            self._addresses[key] = (address, now + RESOLVE_SECONDS)
        return address

    def _pool(self, target: devices.Target, address: str) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.host, target.port, address)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                options = {"maxsize": self.pool_size, "block": True, "timeout": self.timeout, "retries": False}
                if target.scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(
                        address,
                        target.port,
                        server_hostname=target.host,
                        assert_hostname=target.host,
                        cert_reqs="CERT_REQUIRED",
                        ca_certs=certifi.where(),
                        **options,
                    )
                else:
                    pool = urllib3.HTTPConnectionPool(address, target.port, **options)
                self._pools[key] = pool
            return pool
