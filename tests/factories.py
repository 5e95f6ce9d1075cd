"""Plain factories for test data, one per model, with keyword defaults.

Self-reports and journal entries go through the app's own domain functions (so rollups, alerts
and audit rows are written as in real use); everything else is created directly.
"""

import datetime as dt
import itertools
import uuid

import pyotp

from aftercare.circles import board as circles_board
from aftercare.circles import membership as circles_membership
from aftercare.circles import organise as circles_organise
from aftercare.journal import entries
from aftercare.journal import images
from aftercare.journal import voice
from aftercare.models import ADMIN
from aftercare.models import CareRelationship
from aftercare.models import CheckIn
from aftercare.models import CLINICIAN
from aftercare.models import COMPLETED
from aftercare.models import Device
from aftercare.models import Intention
from aftercare.models import JournalEntry
from aftercare.models import MoodDay
from aftercare.models import MoodEntry
from aftercare.models import PATIENT
from aftercare.models import Playlist
from aftercare.models import Practice
from aftercare.models import SafetyAlert
from aftercare.models import Track
from aftercare.models import TreatmentSession
from aftercare.models import User
from aftercare.models import utcnow
from aftercare.models import VoiceNote
from aftercare.passwords import hash_password
from aftercare.selfreports import checkins
from aftercare.selfreports import mood as moods
from aftercare.selfreports import points
from aftercare.selfreports.instruments import INSTRUMENTS

PASSWORD = "gentle harbor lantern"
TOTP_SECRET = pyotp.random_base32()
_counter = itertools.count(1)
_hash = None


def _password_hash():
    # Tests share one hash of the one password (made with the suite's cheap parameters: conftest.py).
    global _hash
    if _hash is None:
        _hash = hash_password(PASSWORD)
    return _hash


# --------------------------------------------------------------------------- people


def make_user(role=PATIENT, *, name=None, email=None, active=True, totp=True, **fields) -> User:
    n = next(_counter)
    return User.create(
        email=email or f"{role}{n}@example.org",
        name=name or f"{role.title()} {n}",
        role=role,
        password_hash=_password_hash(),
        active=active,
        totp_secret=TOTP_SECRET if (totp and role != PATIENT) else None,
        **fields,
    )


def afternoon_zone(now: dt.datetime | None = None) -> str:
    """A time zone where it is about two in the afternoon now (an Etc/GMT zone, UTC-12 to UTC+14).

    A session that ended an hour or two ago falls on the patient's today there, whatever the
    hour in UTC: tests of "the session day" hold at 00:30 UTC as well as at noon.
    """
    hour = (now or utcnow()).hour
    offset = (14 - hour) % 24
    if offset > 14:
        offset -= 24
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT signs run the other way


def make_patient(clinician=None, **fields) -> User:
    patient = make_user(PATIENT, **fields)
    if clinician is not None:
        CareRelationship.create(patient=patient, clinician=clinician)
    return patient


def make_clinician(**fields) -> User:
    return make_user(CLINICIAN, **fields)


def make_admin(**fields) -> User:
    return make_user(ADMIN, **fields)


# --------------------------------------------------------------------------- self-reports


def make_mood(patient, score=5, note="", tags=(), *, recorded_at: dt.datetime | None = None) -> MoodEntry:
    """Log a mood entry the way the phone does (rollup, alert and audit row included)."""
    data = {"client_id": str(uuid.uuid4()), "score": score, "note": note, "tags": list(tags)}
    if recorded_at is not None:
        data["recorded_at"] = recorded_at.replace(tzinfo=dt.UTC).isoformat()
    entry, _ = moods.submit(patient, data)
    return entry


def make_mood_day(patient, day: dt.date, score: int, *, count: int = 1, total: int | None = None) -> MoodDay:
    """A day's mood rollup row as the entries would leave it (for the panel's flags), without the entries."""
    total = score * count if total is None else total
    return MoodDay.create(patient=patient, day=day, count=count, total=total, low=score, high=score)


def make_checkin(patient, instrument="phq9", answers=None, *, difficulty=None, days_ago=0, at=None) -> CheckIn:
    """Submit a questionnaire (its alert, if any, included); `days_ago` or `at` moves it back in time."""
    if answers is None:
        answers = [1] * len(INSTRUMENTS[instrument].items)
    checkin, _ = checkins.submit(
        patient,
        {"client_id": str(uuid.uuid4()), "instrument": instrument, "answers": answers, "difficulty": difficulty},
    )
    if days_ago or at:
        at = at or utcnow() - dt.timedelta(days=days_ago)
        CheckIn.update(submitted_at=at).where(CheckIn.id == checkin.id).execute()
        points.refresh([patient.id], instrument)  # as if it had been answered then
        checkin = CheckIn.get_by_id(checkin.id)
    return checkin


def phq9_answers(total: int, item9: int = 0) -> list[int]:
    """Spread a PHQ-9 total over items 1-8 (0-3 each), with item 9 set on its own."""
    answers, rest = [], total - item9
    for _ in range(8):
        answers.append(min(3, max(0, rest)))
        rest -= answers[-1]
    assert rest == 0, f"a PHQ-9 total of {total} does not fit with item 9 = {item9}"
    return answers + [item9]


def make_phq9(patient, total, days_ago=0, item9=0, at=None) -> CheckIn:
    return make_checkin(patient, "phq9", phq9_answers(total, item9), days_ago=days_ago, at=at)


def make_alert(
    patient, *, subject=None, reason="crisis_language", detail="Crisis language in a mood note"
) -> SafetyAlert:
    return SafetyAlert.create(
        patient=patient, reason=reason, detail=detail, subject=subject or f"test:{next(_counter)}"
    )


# --------------------------------------------------------------------------- the journey


def make_playlist(title="Evening drone", purpose="session", tracks=0, active=True, **fields) -> Playlist:
    playlist = Playlist.create(title=title, purpose=purpose, active=active, **fields)
    for n in range(1, tracks + 1):
        make_track(playlist, position=n, title=f"Track {n}", duration_seconds=60 * n)
    return playlist


def make_track(playlist, *, position=None, title="Track", artist="Brian Eno", duration_seconds=60, url="") -> Track:
    if position is None:
        position = Track.select().where(Track.playlist == playlist).count() + 1
    return Track.create(
        playlist=playlist, position=position, title=title, artist=artist, duration_seconds=duration_seconds, url=url
    )


def make_session(
    patient,
    *,
    starts_at: dt.datetime | None = None,
    kind="infusion",
    status=COMPLETED,
    number=None,
    minutes=60,
    zone="UTC",
    **fields,
) -> TreatmentSession:
    """Create a session row directly (no scheduling rules): for the past, or anything a test needs as it is."""
    starts_at = starts_at or utcnow() - dt.timedelta(days=1)
    session = TreatmentSession.create(
        patient=patient,
        kind=kind,
        starts_at=starts_at,
        wall_time=starts_at.strftime("%Y-%m-%dT%H:%M"),
        zone=zone,
        duration_minutes=minutes,
        status=status,
        number=number,
        **fields,
    )
    points.refresh([session.patient_id])  # the scores that stand for the baseline and each session
    return session


def make_intention(session, explore="", let_go="", carry="") -> Intention:
    return Intention.create(session=session, explore=explore, let_go=let_go, carry=carry)


def make_practice(
    title="A walk outdoors", kind="walk", description="A gentle walk.", days="1,2,3", **fields
) -> Practice:
    return Practice.create(title=title, kind=kind, description=description, days=days, **fields)


def make_entry(patient, body="Some words about today.", *, session=None, shared=False, prompt="") -> JournalEntry:
    """Write a journal entry through the journal's own rules (its alert, if any, included)."""
    entry, _ = entries.submit(
        patient,
        {"client_id": str(uuid.uuid4()), "body": body, "prompt": prompt, "session_id": session.id if session else None},
    )
    if shared:
        entries.set_shared(patient, entry, True)
        entry = JournalEntry.get_by_id(entry.id)
    return entry


def make_voice_note(patient, data: bytes, *, session=None, shared=False, declared_duration=None) -> VoiceNote:
    """Keep a voice note through its own checks (the app's VOICE_DIR must point somewhere writable)."""
    note, _ = voice.store(
        patient, data, client_id=str(uuid.uuid4()), declared_duration=declared_duration, session=session
    )
    if shared:
        entries.set_shared(patient, note, True)
        note = VoiceNote.get_by_id(note.id)
    return note


def make_picture_entry(patient, data: bytes, *, kind="drawing", body="", shared=False) -> JournalEntry:
    """A journal entry with one picture, through the pipeline (inside an app context: IMAGE_DIR)."""
    entry, _ = entries.submit(patient, {"client_id": str(uuid.uuid4()), "body": body}, [images.Upload(kind, data)])
    if shared:
        entries.set_shared(patient, entry, True)
        entry = JournalEntry.get_by_id(entry.id)
    return entry


def make_device(user, *, receiver=None, name="Chrome on Android", endpoint=None) -> Device:
    """A device that gets reminders: a subscription from the loopback push receiver, or a well-formed stand-in."""
    if receiver is not None:
        subscription = receiver.subscription()
    else:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        from aftercare.push.vapid import b64url

        point = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        subscription = {
            "endpoint": endpoint or f"https://fcm.googleapis.com/fcm/send/{uuid.uuid4().hex}",
            "keys": {"p256dh": b64url(point), "auth": b64url(uuid.uuid4().bytes)},
        }
    return Device.create(
        user=user,
        endpoint=subscription["endpoint"],
        p256dh=subscription["keys"]["p256dh"],
        auth=subscription["keys"]["auth"],
        name=name,
    )


# --------------------------------------------------------------------------- circles


def make_circle(facilitator, *, title="Thursday circle", capacity=10, audience="all", mode="in_person", **fields):
    """A circle started through the staff's own path (organise.create), with the facilitator as its starter."""
    data = {
        "title": title,
        "description": fields.pop("description", "Talk and a practice."),
        "facilitator": str(facilitator.id),
        "mode": mode,
        "place": fields.pop("place", "Garden room, 14 Harbor Street"),
        "link": fields.pop("link", "https://meet.example.org/circle"),
        "capacity": str(capacity),
        "audience": audience,
    }
    return circles_organise.create(data, by=facilitator)


def make_meeting(circle, by, *, days=7, at="18:00", minutes=90, now=None):
    """A meeting `days` from today at a wall-clock time in the clinic's zone."""
    day = (utcnow() + dt.timedelta(days=days)).date()
    return circles_organise.add_meeting(
        circle, {"date": day.isoformat(), "time": at, "minutes": str(minutes)}, by=by, now=now
    )


def make_past_meeting(circle, *, days_ago=2, minutes=90):
    """A meeting that has taken place (written directly: the staff's path refuses times past)."""
    from aftercare.models import CircleMeeting

    return CircleMeeting.create(
        circle=circle, starts_at=utcnow() - dt.timedelta(days=days_ago), zone="America/New_York", minutes=minutes
    )


def join_circle(circle, patient, name=None, *, trusted=False):
    member = circles_membership.join(circle, patient, name or f"Member {patient.id}")
    if trusted:
        member.trusted_at = utcnow()
        member.save()
    return member


def make_post(circle, author, body="Hello, circle.", *, parent=None):
    """A post through the board's own path; return (post, held)."""
    data = {"body": body, "client_id": str(uuid.uuid4()), "parent": str(parent.id) if parent else ""}
    return circles_board.write(circle, author, data)
