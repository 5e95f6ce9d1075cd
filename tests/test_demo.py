"""The demo clinic loads, signs in, tells each patient's story, and never touches a real clinic's database."""

import datetime as dt

import pyotp
import pytest
from peewee import fn

from aftercare import demo
from aftercare.db import columns
from aftercare.db import db
from aftercare.db import row_to
from aftercare.demo import DEMO_PASSWORD
from aftercare.demo import DEMO_TOTP_SECRET
from aftercare.journey import scheduling
from aftercare.models import AuditEvent
from aftercare.models import CareRelationship
from aftercare.models import CheckIn
from aftercare.models import Intention
from aftercare.models import JournalEntry
from aftercare.models import MODELS
from aftercare.models import MoodDay
from aftercare.models import MoodEntry
from aftercare.models import Playlist
from aftercare.models import SafetyAlert
from aftercare.models import TreatmentSession
from aftercare.models import User
from aftercare.models import utcnow
from aftercare.selfreports import mood as moods
from aftercare.selfreports.checkins import safety_answer
from aftercare.selfreports.instruments import INSTRUMENTS
from tests.conftest import csrf_from
from tests.factories import make_admin


def test_demo_clinic_loads_and_its_logins_work(runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert User.select().where(User.role == "patient").count() == 10
    assert User.select().where(User.role == "clinician").count() == 2
    assert User.select().where(User.role == "admin").count() == 1
    assert CareRelationship.select().count() == 10
    # Running it again refreshes, never duplicates.
    before = counts()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert counts() == {**before, "audit": before["audit"] + 1}  # one "demo_loaded" row
    assert User.select().count() == 13

    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"csrf_token": token, "email": "dana@demo.aftercare.example", "password": DEMO_PASSWORD}
    )
    assert response.headers["Location"].startswith("/login/verify")
    token = csrf_from(client.get("/login/verify").get_data(as_text=True))
    response = client.post("/login/verify", data={"csrf_token": token, "code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
    assert response.headers["Location"] == "/clinician/"
    panel = client.get("/clinician/").get_data(as_text=True)
    assert panel.count('href="/clinician/patients/') == 5


def test_demo_refuses_a_database_with_real_accounts(runner):
    make_admin()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1
    assert "real account" in result.output
    assert User.select().count() == 1


def test_create_admin_command_only_once(runner):
    args = [
        "users",
        "create-admin",
        "--name",
        "Ada Admin",
        "--email",
        "ada@example.org",
        "--password",
        "tidal copper orchard",
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert User.get(User.email == "ada@example.org").role == "admin"
    again = runner.invoke(args=[*args[:-1], "another good passphrase"])
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_create_admin_command_refuses_weak_password(runner):
    result = runner.invoke(
        args=["users", "create-admin", "--name", "Ada", "--email", "ada@example.org", "--password", "short"]
    )
    assert result.exit_code == 1
    assert User.select().count() == 0


def counts() -> dict:
    return {
        "users": User.select().count(),
        "links": CareRelationship.select().count(),
        "mood": MoodEntry.select().count(),
        "mood_days": MoodDay.select().count(),
        "checkins": CheckIn.select().count(),
        "alerts": SafetyAlert.select().count(),
        "audit": AuditEvent.select().count(),
        "sessions": TreatmentSession.select().count(),
        "intentions": Intention.select().count(),
        "journal": JournalEntry.select().count(),
        "playlists": Playlist.select().count(),
    }


def patient(login: str) -> User:
    return User.get(User.email == demo.demo_email(login))


def phq9_totals(login: str) -> list[int]:
    return [c.total for c in CheckIn.series(patient(login), "phq9")]


def recent_mood(login: str, days: int = 14) -> float:
    since = utcnow().date() - dt.timedelta(days=days)
    entries = MoodEntry.select().where(MoodEntry.patient == patient(login), MoodEntry.local_day >= since)
    scores = [e.score for e in entries]
    return sum(scores) / len(scores)


@pytest.fixture
def loaded(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result


def test_demo_patients_have_four_months_of_self_reports(loaded):
    for _name, login, _zone, _clinician, course in demo.PATIENTS:
        user = patient(login)
        days = {e.local_day for e in MoodEntry.select().where(MoodEntry.patient == user)}
        assert 60 <= len(days) <= demo.COURSE_DAYS + 1, login  # some days are missing
        assert min(days) <= utcnow().date() - dt.timedelta(days=demo.COURSE_DAYS - 5)
        per_day = MoodDay.select().where(MoodDay.patient == user)
        assert all(1 <= d.count <= 3 and 0 <= d.low <= d.high <= 10 for d in per_day)
        assert user.measures == ",".join(course.measures)
        for key in course.measures:
            series = list(CheckIn.series(user, key))
            assert len(series) >= 5, (login, key)
            gaps = [(b.submitted_at - a.submitted_at).days for a, b in zip(series, series[1:], strict=False)]
            if key == "peg":
                assert all(6 <= gap <= 8 for gap in gaps), (login, key, gaps)  # weekly
            else:
                assert all(13 <= gap <= 28 for gap in gaps[:-1]), (login, key, gaps)  # every 2-4 weeks
            for checkin in series:  # stored scores are what the instrument gives for the answers
                spec = INSTRUMENTS[key]
                scored = spec.score(checkin.answer_list)
                assert (scored.total, scored.band, scored.subscores) == (
                    checkin.total,
                    checkin.band,
                    checkin.subscore_map,
                )
    # The per-day rollups agree with the entries they summarise.
    assert MoodDay.select(fn.SUM(MoodDay.count)).scalar() == MoodEntry.visible().count()
    assert MoodDay.select().count() == (MoodEntry.select(MoodEntry.patient, MoodEntry.local_day).distinct().count())


def test_demo_courses_show_response_remission_and_worsening(loaded):
    for login in ("maya", "jordan", "hannah", "grace", "ola"):
        totals = phq9_totals(login)
        assert totals[0] >= 15 and totals[-1] <= 10 and totals[-1] < totals[0], (login, totals)
        assert recent_mood(login) >= 5.5, login
    assert phq9_totals("maya")[-1] < 5  # remission
    for login in ("priya", "tom"):
        assert phq9_totals(login)[-1] >= 12
        assert recent_mood(login, days=30) < 5
    # Followed for PTSD: the PCL-5 falls from above the cut-off to below it, meaningfully.
    pcl5 = [c.total for c in CheckIn.series(patient("marcus"), "pcl5")]
    assert pcl5[0] >= 45 and pcl5[-1] < 33 and pcl5[0] - pcl5[-1] >= 10, pcl5
    assert CheckIn.series(patient("marcus"), "pcl5")[0].band == "provisional PTSD"
    # Followed for chronic pain: the PEG falls by more than 30% from its baseline.
    peg = [c.total for c in CheckIn.series(patient("elena"), "peg")]
    assert peg[0] >= 6 and peg[-1] <= peg[0] * 0.7, peg
    assert (
        not CheckIn.select().where(CheckIn.patient == patient("maya"), CheckIn.instrument.in_(("pcl5", "peg"))).exists()
    )
    luis = phq9_totals("luis")
    assert luis[-1] > luis[0]
    # Tom stopped logging over a week ago (the panel's "quiet" flag).
    last_tom = MoodEntry.select(fn.MAX(MoodEntry.local_day)).where(MoodEntry.patient == patient("tom")).scalar()
    assert last_tom < utcnow().date() - dt.timedelta(days=6)


def test_demo_has_exactly_one_open_safety_alert(loaded):
    alerts = list(SafetyAlert.open())
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.patient.email == demo.demo_email("luis")
    assert alert.reason == "phq9_item9" and safety_answer(alert.checkin) == 1
    assert alert.checkin == CheckIn.series(alert.patient, "phq9")[-1]  # his latest PHQ-9
    assert utcnow() - alert.created_at < dt.timedelta(minutes=5)
    # Nobody else ever answered item 9 above 0, nor wrote a note with crisis language.
    others = CheckIn.select().where(CheckIn.instrument == "phq9", CheckIn.id != alert.checkin.id)
    assert all(safety_answer(c) == 0 for c in others)
    assert SafetyAlert.select().count() == 1


def test_a_later_run_adds_the_days_since_and_nothing_twice(loaded, runner, monkeypatch):
    first = counts()
    later = utcnow() + dt.timedelta(days=9)
    monkeypatch.setattr(demo, "utcnow", lambda: later)
    monkeypatch.setattr(moods, "utcnow", lambda: later)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    again = counts()
    assert again["mood"] > first["mood"] and again["checkins"] >= first["checkins"]
    assert again["alerts"] == 1 and again["users"] == 13
    # Enrolment did not move: one baseline pair per patient, on the same day as before.
    start = patient("maya").created_at
    assert (
        CheckIn.select()
        .where(CheckIn.patient == patient("maya"), CheckIn.submitted_at < start + dt.timedelta(days=2))
        .count()
        == 2
    )
    assert MoodDay.select(fn.SUM(MoodDay.count)).scalar() == MoodEntry.visible().count()


def test_demo_output_names_each_patients_course(loaded):
    assert "luis@demo.aftercare.example" in loaded.output
    assert "open safety alert" in loaded.output
    assert "1 open safety alert(s)." in loaded.output


def test_every_demo_patient_has_a_series_to_look_back_on_and_a_session_ahead(runner):
    """The journey in the demo: an induction series, boosters, reflections, and something to prepare for."""
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert Playlist.select().count() == 4
    now = utcnow()
    for _, login, *_ in demo.PATIENTS:
        p = patient(login)
        sessions = list(TreatmentSession.for_patient(p))
        past = [s for s in sessions if s.ends_at <= now]
        infusions = [s for s in past if s.kind == "infusion"]
        assert len(infusions) == 6, login
        assert all(s.playlist_id and s.ride_confirmed_at for s in past), login
        assert Intention.select().join(TreatmentSession).where(TreatmentSession.patient == p).count() >= len(past)
        assert [s.status for s in sessions if s.starts_at > now] == ["scheduled"], login
        numbers = [s.number for s in sessions if s.number]  # dosing sessions that happened or will
        assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 6, login
        shared = JournalEntry.select().where(JournalEntry.patient == p, JournalEntry.shared_at.is_null(False))
        assert shared.count() > 0, login
    # Maya had a booster yesterday: her Today screen is in the window of clarity.
    assert scheduling.window(patient("maya"), now) is not None
    assert scheduling.window(patient("jordan"), now) is None


def test_rows_read_by_hand_equal_what_peewee_reads(loaded):
    """db.row_to (the hot paths' reading of written-out SQL) gives every model's rows as peewee does.

    It skips peewee's conversion where the drivers already give ints and text, and parses SQLite's
    dates itself; the demo clinic has rows in nearly every table, of every field type.
    """

    def typed(data: dict) -> dict:  # 1 == True: the types must agree too
        return {name: (type(value), value) for name, value in data.items()}

    checked = 0
    for model in MODELS:
        keys = model._meta.get_primary_keys()
        order = ", ".join(f'"{field.column_name}"' for field in keys)
        by_peewee = [typed(row.__data__) for row in model.select().order_by(*keys).limit(200)]
        sql = f'SELECT {columns(model)} FROM "{model._meta.table_name}" ORDER BY {order} LIMIT 200'  # noqa: S608
        by_hand = [typed(row_to(model, values).__data__) for values in db.execute_sql(sql).fetchall()]
        assert by_hand == by_peewee, model._meta.table_name
        checked += bool(by_peewee)
    assert checked >= 20  # most tables had rows to compare
