"""Sending reminders that are due: claim a batch with a lease, send outside any transaction, record each outcome.

`reminders work` (a long-running worker) and `reminders dispatch` (one pass, for cron) both run
this. Several workers may share the queue:

- **Claim.** A short transaction picks due rows and leases them (PostgreSQL: FOR UPDATE SKIP
  LOCKED, so two workers never pick the same row; SQLite: one writer at a time). A worker that
  dies leaves its rows leased; they are claimed again when the lease runs out.
- **Send.** Outside the transaction, to every device of the patient not already reached for this
  reminder, with a keep-alive connection per push service. Delivery is at least once: a repeat
  (after a crash between sending and recording) carries the same Topic header and notification
  tag, so the phone replaces the first rather than stacking a second.
- **Record.** One transaction per batch: a Delivery row per device (outcomes are not audit
  events, so workers never wait on the audit chain), devices that are gone forgotten, the
  reminder sent, or planned again after a back-off (429, 5xx, timeouts; Retry-After honoured),
  or failed. A reminder past its expiry is marked expired, never sent late.
"""

import datetime as dt
import hashlib
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field

from flask import current_app

from .. import alerts
from ..db import db
from ..models import DELIVERED
from ..models import Delivery
from ..models import Device
from ..models import GONE
from ..models import PATIENT
from ..models import REFUSED
from ..models import Reminder
from ..models import REMINDER_CANCELLED
from ..models import REMINDER_EXPIRED
from ..models import REMINDER_FAILED
from ..models import REMINDER_PLANNED
from ..models import REMINDER_SENT
from ..models import RETRY
from ..models import User
from ..models import utcnow
from ..push import vapid
from ..push.sender import Result
from ..push.sender import Sender
from . import planner
from . import texts

log = logging.getLogger(__name__)

BATCH = 100
THREADS = 4
LEASE = dt.timedelta(minutes=2)
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = (30, 120, 600, 1800, 3600)  # after the 1st, 2nd, ... failed attempt
MIN_TTL, MAX_TTL = 60, 28 * 24 * 3600
TOP_UP_SECONDS = 60


def topic(reminder_id: int, secret: str) -> str:
    """Return the reminder's opaque Topic and notification tag: the same on every attempt, meaningless outside."""
    digest = hashlib.blake2s(f"reminder:{reminder_id}".encode(), key=secret.encode()[:32]).digest()
    return vapid.b64url(digest[:24])  # 32 base64url characters (RFC 8030 §5.4)


@dataclass
class Tally:
    """What one pass did, for the log and the command's output."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0
    expired: int = 0
    cancelled: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    devices: list[tuple[str, str]] = field(default_factory=list)  # (device name, outcome), for the patient's test

    def add(self, other: "Tally") -> None:
        for name in ("sent", "failed", "retrying", "expired", "cancelled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, value in other.outcomes.items():
            self.outcomes[key] = self.outcomes.get(key, 0) + value

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.retrying + self.cancelled

    def __str__(self) -> str:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "none"
        return (
            f"{self.sent} sent, {self.failed} failed, {self.retrying} to retry, {self.expired} expired, "
            f"{self.cancelled} no longer needed; device outcomes: {outcomes}"
        )


@dataclass
class _Job:
    reminder: Reminder
    device: Device
    data: bytes
    ttl: int
    urgency: str
    topic: str
    result: Result | None = None


class Dispatcher:
    """Claims due reminders and sends them. One per worker process; `clock` is replaceable for tests."""

    def __init__(
        self,
        *,
        sender: Sender | None = None,
        clock=utcnow,
        batch: int = BATCH,
        threads: int = THREADS,
        lease: dt.timedelta = LEASE,
    ):
        config = current_app.config
        self.keys = vapid.keys(config)
        self.problem = vapid.problem(config)
        self.sender = sender or (Sender(vapid.Signer(self.keys), pool_size=threads) if self.keys else None)
        self.clock = clock
        self.batch = batch
        self.threads = threads
        self.lease = lease
        self.secret = config["SECRET_KEY"]
        self.base_url = config["BASE_URL"] or "http://127.0.0.1:5000"
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="push") if threads > 1 else None
        self._topped_up_at: dt.datetime | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self.sender is not None:
            self.sender.close()

    # ----------------------------------------------------------------------- passes

    def run_once(self) -> Tally:
        """Send everything due now, batch after batch, until nothing due is left unclaimed."""
        tally = Tally()
        if self.sender is None:
            log.error("%s", self.problem)
            return tally
        now = self.clock()
        if self._topped_up_at is None or (now - self._topped_up_at).total_seconds() >= TOP_UP_SECONDS:
            planner.top_up(now)
            self._topped_up_at = now
        tally.expired += self.expire(now)
        alerts.escalate_due(now)  # CLIN-03: its pushes go out in this same pass
        while True:
            batch = self.claim(self.clock())
            if not batch:
                return tally
            tally.add(self.deliver(batch))

    def send_now(self, reminder_id: int) -> Tally:
        """Send one reminder at once (the test a patient asks for), if no worker holds it."""
        if self.sender is None:
            return Tally()
        batch = self.claim(self.clock(), only=reminder_id)
        return self.deliver(batch) if batch else Tally()

    def work(self, stop: threading.Event, idle_seconds: float = 5.0) -> None:
        """Run passes until `stop` is set (SIGTERM); a batch in hand is finished and recorded first."""
        while not stop.is_set():
            try:
                # A connection per pass: a database restart costs one pass, not the worker.
                with db.connection_context():
                    tally = self.run_once()
            except Exception:  # a database hiccup must not end the worker; the next pass retries
                log.exception("reminder pass failed")
                tally = Tally()
            if tally.handled or tally.expired:
                log.info("reminders: %s", tally)
            else:
                stop.wait(idle_seconds)

    # ----------------------------------------------------------------------- the three steps

    def expire(self, now: dt.datetime) -> int:
        with db.atomic():
            return (
                Reminder.update(status=REMINDER_EXPIRED, updated_at=now, lease_until=None)
                .where(
                    Reminder.status == REMINDER_PLANNED,
                    Reminder.expires_at <= now,
                    Reminder.lease_until.is_null() | (Reminder.lease_until <= now),
                )
                .execute()
            )

    def claim(self, now: dt.datetime, only: int | None = None) -> list[Reminder]:
        """Lease a batch of due reminders to this worker (one short transaction)."""
        with db.atomic():
            query = (
                Reminder.select(Reminder.id)
                .where(
                    Reminder.status == REMINDER_PLANNED,
                    Reminder.due_at <= now,
                    Reminder.expires_at > now,
                    Reminder.lease_until.is_null() | (Reminder.lease_until <= now),
                )
                .order_by(Reminder.due_at, Reminder.id)
                .limit(self.batch)
            )
            if only is not None:
                query = query.where(Reminder.id == only)
            if db.for_update:
                query = query.for_update(skip_locked=True)
            ids = [row.id for row in query]
            if not ids:
                return []
            Reminder.update(lease_until=now + self.lease, attempts=Reminder.attempts + 1).where(
                Reminder.id.in_(ids)
            ).execute()
        return list(Reminder.select().where(Reminder.id.in_(ids)).order_by(Reminder.due_at, Reminder.id))

    def deliver(self, batch: list[Reminder]) -> Tally:
        """Send a claimed batch to every device and record what happened."""
        now = self.clock()
        patients = {u.id: u for u in User.select().where(User.id.in_({r.user_id for r in batch}))}
        devices: dict[int, list[Device]] = {}
        for device in Device.select().where(Device.user.in_(list(patients))).order_by(Device.id):
            devices.setdefault(device.user_id, []).append(device)
        reached = {
            (d.reminder_id, d.device_id)
            for d in Delivery.select(Delivery.reminder, Delivery.device).where(
                Delivery.reminder.in_([r.id for r in batch]), Delivery.outcome == DELIVERED
            )
        }
        wordings = texts.wordings()
        jobs: list[_Job] = []
        messages: dict[int, texts.Message | None] = {}
        for reminder in batch:
            patient = patients.get(reminder.user_id)
            wording = wordings.get(reminder.rule)
            message = None
            if patient is not None and patient.is_active and wording is not None:
                message = texts.message(reminder, patient, wording, now)
            messages[reminder.id] = message
            if message is None:
                continue
            tag = topic(reminder.id, self.secret)
            data = self._payload(message, reminder.path, tag)
            ttl = int(min(MAX_TTL, max(MIN_TTL, (reminder.expires_at - now).total_seconds())))
            urgency = planner.urgency(reminder.rule)
            for device in devices.get(reminder.user_id, []):
                if (reminder.id, device.id) not in reached:
                    jobs.append(_Job(reminder, device, data, ttl, urgency, tag))
        self._send(jobs)
        return self._record(batch, jobs, messages, reached, now)

    # ----------------------------------------------------------------------- helpers

    def _payload(self, message: texts.Message, path: str, tag: str) -> bytes:
        # Declarative web push (RFC 8030 message, WebKit's format): Safari can show it without
        # running the service worker; other browsers hand it to the worker's push handler.
        notification = {
            "title": message.title,
            "body": message.body,
            "navigate": self.base_url + path,
            "tag": tag,
            "lang": "en",
        }
        return json.dumps({"web_push": 8030, "notification": notification}, separators=(",", ":")).encode()

    def _send(self, jobs: list[_Job]) -> None:
        def run(job: _Job) -> None:
            try:
                job.result = self.sender.send(
                    job.device.subscription(), job.data, ttl=job.ttl, urgency=job.urgency, topic=job.topic
                )
            except Exception as error:  # a bad key in one row must not stop the batch
                log.exception("push to device %s failed", job.device.id)
                job.result = Result("failed", None, detail=f"{type(error).__name__}")

        if self._pool is None or len(jobs) < 2:
            for job in jobs:
                run(job)
        else:
            list(self._pool.map(run, jobs))

    def _record(self, batch, jobs, messages, reached, now) -> Tally:
        tally = Tally()
        by_reminder: dict[int, list[_Job]] = {}
        for job in jobs:
            by_reminder.setdefault(job.reminder.id, []).append(job)
            tally.outcomes[job.result.outcome] = tally.outcomes.get(job.result.outcome, 0) + 1
            tally.devices.append((job.device.name, job.result.outcome))
        with db.atomic():
            if jobs:
                Delivery.insert_many(
                    [
                        {
                            "reminder": job.reminder.id,
                            "device": job.device.id,
                            "host": job.device.host[:255],
                            "outcome": job.result.outcome,
                            "status": job.result.status,
                            "at": now,
                        }
                        for job in jobs
                    ]
                ).execute()
            self._update_devices(jobs, now)
            # Reminders that end the same way (most of a batch: sent, with the same text) share one UPDATE.
            same: dict[tuple, list[int]] = {}
            for reminder in batch:
                message = messages[reminder.id]
                mine = by_reminder.get(reminder.id, [])
                changes, kind = self._settle(reminder, message, mine, reached, now)
                same.setdefault(tuple(sorted(changes.items())), []).append(reminder.id)
                setattr(tally, kind, getattr(tally, kind) + 1)
            for changes, ids in same.items():
                Reminder.update(updated_at=now, lease_until=None, **dict(changes)).where(Reminder.id.in_(ids)).execute()
        return tally

    def _settle(self, reminder, message, jobs, reached, now) -> tuple[dict, str]:
        if message is None:
            return {"status": REMINDER_CANCELLED}, "cancelled"
        outcomes = [job.result.outcome for job in jobs]
        again = [job for job in jobs if job.result.outcome in (RETRY, REFUSED)]
        if again and reminder.attempts < MAX_ATTEMPTS:
            pause = BACKOFF_SECONDS[min(reminder.attempts, len(BACKOFF_SECONDS)) - 1]
            asked = max((job.result.retry_after or 0 for job in again), default=0)
            when = now + dt.timedelta(seconds=max(pause, asked))
            if when < reminder.expires_at:
                return {"due_at": when, "status": REMINDER_PLANNED}, "retrying"
        delivered = DELIVERED in outcomes or any(r == reminder.id for r, _ in reached)
        if delivered or not jobs:
            # No device at all is still "sent": the text is kept for the app to show.
            return {"status": REMINDER_SENT, "sent_at": now, "text": message.text}, "sent"
        return {"status": REMINDER_FAILED, "sent_at": now, "text": message.text}, "failed"

    def _update_devices(self, jobs: list[_Job], now: dt.datetime) -> None:
        good: dict[int, set[int]] = {}
        bad: dict[int | None, set[int]] = {}
        gone = set()
        for job in jobs:
            result = job.result
            if result.outcome == DELIVERED:
                good.setdefault(result.status, set()).add(job.device.id)
            elif result.outcome == GONE:
                gone.add(job.device.id)
            else:
                bad.setdefault(result.status, set()).add(job.device.id)
        for status, ids in good.items():
            Device.update(last_success_at=now, last_status=status).where(Device.id.in_(list(ids))).execute()
        for status, ids in bad.items():
            Device.update(last_failure_at=now, last_status=status).where(Device.id.in_(list(ids))).execute()
        if gone:
            # 404/410 (PUSH-04): that browser's subscription ended; forget this device only.
            Device.delete().where(Device.id.in_(list(gone))).execute()


# --------------------------------------------------------------------------- the patient's test

TEST_LIFETIME = dt.timedelta(minutes=10)
TEST_PAUSE = dt.timedelta(seconds=20)


@dataclass(frozen=True)
class TestReport:
    problem: str | None  # why nothing could be sent, in words for the patient
    results: list[tuple[str, str]]  # (device name, outcome) per device


def send_test(patient: User) -> TestReport:
    """Send a test reminder to each of a patient's devices now, and say what each push service answered."""
    now = utcnow()
    if vapid.problem(current_app.config):
        return TestReport("This clinic has not finished setting up reminders. Please tell the clinic.", [])
    if not Device.select().where(Device.user == patient).exists():
        return TestReport("No device gets reminders yet. Turn them on for this device first.", [])
    with db.atomic():
        recent = Reminder.select().where(
            Reminder.user == patient, Reminder.rule == "test", Reminder.created_at > now - TEST_PAUSE
        )
        if recent.exists():
            return TestReport("A test was sent a moment ago. Give it a few seconds to arrive.", [])
        reminder = Reminder.create(
            user=patient,
            rule="test",
            slot=now.isoformat(),
            due_at=now,
            expires_at=now + TEST_LIFETIME,
            path="/settings" if patient.role == PATIENT else "/account",
            created_at=now,
        )
    dispatcher = Dispatcher(threads=1)
    try:
        tally = dispatcher.send_now(reminder.id)
    finally:
        dispatcher.close()
    return TestReport(None, tally.devices)
