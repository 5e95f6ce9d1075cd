"""Reminder planning: the right local time through every change of clocks, quiet hours, and re-planning in step.

Elapsed rules ("24 hours before the session") keep the instant and let the local clock move;
wall-clock rules ("19:00 that evening", the daily nudge) keep the local time. Quiet hours hold a
reminder to their end, or send an event's reminder before they begin when waiting would be too late.
"""

import datetime as dt
import zoneinfo

import pytest

from aftercare import accounts
from aftercare.journey import scheduling
from aftercare.localtime import to_local
from aftercare.models import Reminder
from aftercare.models import REMINDER_CANCELLED
from aftercare.models import REMINDER_PLANNED
from aftercare.models import REMINDER_SENT
from aftercare.models import User
from aftercare.reminders import planner
from aftercare.reminders.planner import Quiet
from aftercare.reminders.planner import settle
from aftercare.reminders.planner import Want
from tests.factories import make_checkin
from tests.factories import make_patient
from tests.factories import make_session


def utc(zone: str, local: str, fold: int = 0) -> dt.datetime:
    """The naive UTC instant of a local wall time ("2027-03-14 10:00") in `zone`."""
    wall = dt.datetime.fromisoformat(local).replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=fold)
    return wall.astimezone(dt.UTC).replace(tzinfo=None)


def local(moment: dt.datetime, zone: str) -> str:
    return to_local(moment, zone).strftime("%Y-%m-%d %H:%M")


def planned(patient) -> dict[str, Reminder]:
    rows = Reminder.select().where(Reminder.user == patient, Reminder.status == REMINDER_PLANNED)
    return {row.rule: row for row in rows if row.rule != "checkin"}


# A quiet night that never gets in the way of these cases.
NO_QUIET = {"quiet_start": "23:58", "quiet_end": "23:59"}

# zone, the session's local start, the day-before reminder's local time (elapsed: 24 h earlier, whatever
# the clocks did), the evening note's local time (wall clock: 19:00), the +24 h prompt's local time.
CLOCK_CHANGES = [
    # Spring forward on the session day: the day before had one hour less offset.
    ("America/New_York", "2027-03-14 10:00", "2027-03-13 09:00", "2027-03-14 19:00", "2027-03-15 11:00"),
    # Fall back on the session day.
    ("America/New_York", "2027-11-07 10:00", "2027-11-06 11:00", "2027-11-07 19:00", "2027-11-08 11:00"),
    # The night before the session is the change.
    ("America/New_York", "2027-03-15 10:00", "2027-03-14 10:00", "2027-03-15 19:00", "2027-03-16 11:00"),
    # The change falls between the session and the next day's prompt.
    ("America/New_York", "2027-11-06 10:00", "2027-11-05 10:00", "2027-11-06 19:00", "2027-11-07 10:00"),
    ("Europe/Berlin", "2027-03-28 10:00", "2027-03-27 09:00", "2027-03-28 19:00", "2027-03-29 11:00"),
    ("Europe/Berlin", "2027-10-31 10:00", "2027-10-30 11:00", "2027-10-31 19:00", "2027-11-01 11:00"),
    ("Europe/Berlin", "2027-10-30 10:00", "2027-10-29 10:00", "2027-10-30 19:00", "2027-10-31 10:00"),
    # No DST at all.
    ("Asia/Kolkata", "2027-03-14 10:00", "2027-03-13 10:00", "2027-03-14 19:00", "2027-03-15 11:00"),
    # Lord Howe Island moves its clocks by 30 minutes.
    ("Australia/Lord_Howe", "2027-04-04 10:00", "2027-04-03 10:30", "2027-04-04 19:00", "2027-04-05 11:00"),
    ("Australia/Lord_Howe", "2027-10-03 10:00", "2027-10-02 09:30", "2027-10-03 19:00", "2027-10-04 11:00"),
    ("Australia/Lord_Howe", "2027-04-03 10:00", "2027-04-02 10:00", "2027-04-03 19:00", "2027-04-04 10:30"),
]


@pytest.mark.parametrize(("zone", "start", "day_before", "evening", "next_day"), CLOCK_CHANGES)
def test_elapsed_and_wall_clock_rules_through_clock_changes(app, zone, start, day_before, evening, next_day):
    patient = make_patient(timezone=zone, **NO_QUIET)
    starts_at = utc(zone, start)
    make_session(patient, starts_at=starts_at, status="scheduled", zone=zone, number=1)
    planner.plan(patient, now=starts_at - dt.timedelta(days=5))
    rows = planned(patient)
    assert local(rows["session_24h"].due_at, zone) == day_before
    assert rows["session_24h"].due_at == starts_at - dt.timedelta(hours=24)  # elapsed: the instant is kept
    assert local(rows["session_2h"].due_at, zone) == local(starts_at - dt.timedelta(hours=2), zone)
    assert local(rows["after_evening"].due_at, zone) == evening
    assert local(rows["after_day1"].due_at, zone) == next_day
    assert rows["after_day1"].due_at == starts_at + dt.timedelta(minutes=60 + 24 * 60)
    assert rows["after_day3"].due_at == starts_at + dt.timedelta(minutes=60 + 72 * 60)


# zone, the daily nudge, "now" (local), quiet hours, the nudge's next local arrival
NUDGES = [
    # Wall clock: 09:30 stays 09:30 on the day the clocks change.
    ("America/New_York", "09:30", "2027-03-13 12:00", NO_QUIET, "2027-03-14 09:30"),
    ("America/New_York", "09:30", "2027-11-06 12:00", NO_QUIET, "2027-11-07 09:30"),
    ("Europe/Berlin", "09:30", "2027-03-27 12:00", NO_QUIET, "2027-03-28 09:30"),
    ("Europe/Berlin", "09:30", "2027-10-30 12:00", NO_QUIET, "2027-10-31 09:30"),
    ("Asia/Kolkata", "09:30", "2027-03-13 12:00", NO_QUIET, "2027-03-14 09:30"),
    ("Australia/Lord_Howe", "09:30", "2027-10-02 12:00", NO_QUIET, "2027-10-03 09:30"),
    # Later the same day if the time is still ahead.
    ("Asia/Kolkata", "19:30", "2027-03-13 12:00", NO_QUIET, "2027-03-13 19:30"),
    # A time the clocks skip moves forward by the gap; a repeated time means its first occurrence.
    (
        "America/New_York",
        "02:30",
        "2027-03-13 12:00",
        {"quiet_start": "23:00", "quiet_end": "01:00"},
        "2027-03-14 03:30",
    ),
    (
        "Australia/Lord_Howe",
        "02:15",
        "2027-10-02 12:00",
        {"quiet_start": "23:00", "quiet_end": "01:00"},
        "2027-10-03 02:45",
    ),
    ("Europe/Berlin", "02:30", "2027-03-27 12:00", {"quiet_start": "23:00", "quiet_end": "01:00"}, "2027-03-28 03:30"),
]


@pytest.mark.parametrize(("zone", "at", "now", "quiet", "expected"), NUDGES)
def test_the_daily_nudge_keeps_its_local_time(app, zone, at, now, quiet, expected):
    patient = make_patient(timezone=zone, mood_nudge_at=at, **quiet)
    planner.plan(patient, now=utc(zone, now))
    first = (
        Reminder.select()
        .where(Reminder.user == patient, Reminder.rule == "mood_daily", Reminder.status == REMINDER_PLANNED)
        .order_by(Reminder.due_at)
        .first()
    )
    assert local(first.due_at, zone) == expected


def test_a_repeated_hour_means_its_first_occurrence(app):
    zone = "America/New_York"
    patient = make_patient(timezone=zone, mood_nudge_at="01:30", quiet_start="23:00", quiet_end="00:30")
    planner.plan(patient, now=utc(zone, "2027-11-06 12:00"))
    first = Reminder.select().where(Reminder.user == patient).order_by(Reminder.due_at).first()
    assert first.due_at == utc(zone, "2027-11-07 01:30", fold=0) == dt.datetime(2027, 11, 7, 5, 30)


# ---------------------------------------------------------------------------- quiet hours

QUIET_NIGHT = Quiet(dt.time(21), dt.time(8), "UTC")
DAYTIME = Quiet(dt.time(13), dt.time(15), "UTC")
NOW = dt.datetime(2027, 6, 1, 9, 0)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2027, 6, day, hour, minute)


# rule, moment, deadline, quiet, now, earliest -> when it is sent (None: not at all)
QUIET_CASES = [
    ("after_day1", at(1, 12), at(2, 0), QUIET_NIGHT, NOW, None, at(1, 12)),  # outside: as planned
    ("after_day1", at(1, 22), at(2, 10), QUIET_NIGHT, NOW, None, at(2, 8)),  # held until quiet hours end
    ("after_day1", at(2, 1), at(2, 13), QUIET_NIGHT, NOW, None, at(2, 8)),  # after midnight: the same morning
    ("after_day1", at(1, 22), at(2, 2), QUIET_NIGHT, NOW, None, None),  # stale by morning: not sent
    ("mood_daily", at(1, 14), at(1, 16), DAYTIME, NOW, None, at(1, 15)),  # quiet hours within a day
    ("after_day1", at(1, 22), at(1, 23), None, NOW, None, at(1, 22)),  # no quiet hours
    # An event's reminder that would arrive after the event goes before quiet hours begin.
    ("session_2h", at(2, 5), at(2, 7), QUIET_NIGHT, NOW, None, at(1, 20, 45)),
    ("session_24h", at(1, 22, 30), at(2, 20, 30), QUIET_NIGHT, NOW, None, at(2, 8)),  # waiting is fine
    ("after_evening", at(1, 21, 30), at(2, 1, 30), QUIET_NIGHT, NOW, at(1, 20, 30), at(1, 20, 45)),
    # ... but never before it makes sense (the session ends at 21:00 and quiet hours have begun by then).
    ("after_evening", at(1, 22), at(2, 2), QUIET_NIGHT, NOW, at(1, 21), None),
    # Quiet hours have already begun and the event comes before they end: nothing tonight.
    ("session_2h", at(2, 5), at(2, 7), QUIET_NIGHT, at(1, 22), None, None),
    # Planned late (booked an hour ahead): sent now, unless its moment is long past.
    ("session_2h", at(1, 8, 30), at(1, 10, 30), QUIET_NIGHT, NOW, None, NOW),
    ("session_24h", at(1, 5), at(2, 3), QUIET_NIGHT, NOW, None, None),
    ("after_day1", at(1, 8), at(1, 8, 30), QUIET_NIGHT, NOW, None, None),  # past its deadline
]


@pytest.mark.parametrize(("rule", "moment", "deadline", "quiet", "now", "earliest", "expected"), QUIET_CASES)
def test_quiet_hours(rule, moment, deadline, quiet, now, earliest, expected):
    want = Want(rule, "slot", moment, deadline, "/home", earliest=earliest)
    assert settle(want, quiet, now) == expected


def test_quiet_hours_follow_the_patients_zone(app):
    # 07:30 in Berlin: a 2-hour reminder at 05:30 would wake them; waiting until 08:00 is too late,
    # so it comes at 21:45 the evening before, a quarter of an hour before their quiet hours.
    zone = "Europe/Berlin"
    patient = make_patient(timezone=zone, quiet_start="22:00", quiet_end="08:00")
    start = utc(zone, "2027-06-10 07:30")
    make_session(patient, starts_at=start, status="scheduled", zone=zone, number=1)
    planner.plan(patient, now=start - dt.timedelta(days=3))
    assert local(planned(patient)["session_2h"].due_at, zone) == "2027-06-09 21:45"


def test_quiet_hours_that_start_and_end_together_are_refused(client, people):
    from tests.conftest import Auth
    from tests.conftest import post_form

    Auth(client).login(people.patient)
    response = post_form(client, "/settings", {"timezone": "UTC", "quiet_start": "22:00", "quiet_end": "22:00"})
    assert "need a start and an end that differ" in response.get_data(as_text=True)
    assert User.get_by_id(people.patient.id).quiet_start == "21:00"


def test_a_daily_nudge_inside_quiet_hours_is_refused(client, people):
    from tests.conftest import Auth
    from tests.conftest import post_form

    Auth(client).login(people.patient)
    data = {"timezone": "UTC", "quiet_start": "21:00", "quiet_end": "08:00", "mood_nudge_at": "22:30"}
    response = post_form(client, "/settings", data)
    assert "inside your quiet hours" in response.get_data(as_text=True)
    assert User.get_by_id(people.patient.id).mood_nudge_at is None


@pytest.mark.parametrize("odd", ["19:30\u00bf'\"(", "https://x", "1930", "7:5"])
def test_a_daily_nudge_that_is_not_a_time_is_a_clear_message(client, people, odd):
    """Found by the DAST scan: a nudge time that is not a time, beside valid quiet hours, was a 500."""
    from tests.conftest import Auth
    from tests.conftest import post_form

    Auth(client).login(people.patient)
    data = {"timezone": "UTC", "quiet_start": "21:00", "quiet_end": "08:00", "mood_nudge_at": odd}
    response = post_form(client, "/settings", data)
    assert response.status_code == 422
    assert "Use a time like 19:30" in response.get_data(as_text=True)
    assert User.get_by_id(people.patient.id).mood_nudge_at is None


# ---------------------------------------------------------------------------- re-planned in step


def _book(patient, clinician, wall, now):
    return scheduling.book(patient, by=clinician, kind="infusion", wall=wall, duration_minutes=60, zone="UTC", now=now)


def planned_for(session):
    """The session's planned reminders (not the messages telling the patient it was booked or changed)."""
    return Reminder.select().where(Reminder.session == session, Reminder.rule.in_(list(planner.RULES)))


def _by_slot(patient):
    return {
        (r.rule, r.slot): r.status
        for r in Reminder.select().where(Reminder.user == patient, Reminder.rule.in_(list(planner.RULES)))
    }


BOOKED_AT = dt.datetime(2027, 6, 1, 9, 0)


def test_booking_plans_a_sessions_reminders_in_the_same_transaction(people):
    patient = User.get_by_id(people.patient.id)
    session = _book(patient, people.clinician, dt.datetime(2027, 6, 10, 14, 0), BOOKED_AT)
    rows = {r.rule: r for r in planned_for(session)}
    assert set(rows) == {"session_24h", "session_2h", "after_evening", "after_day1", "after_day2", "after_day3"}
    assert rows["session_24h"].due_at == dt.datetime(2027, 6, 9, 14, 0)
    assert rows["session_2h"].expires_at == session.starts_at  # never sent after the session began
    assert rows["after_evening"].path == f"/journal/new?session={session.id}"


def test_a_failed_booking_plans_nothing(people):
    patient = User.get_by_id(people.patient.id)
    before = Reminder.select().count()
    with pytest.raises(scheduling.ScheduleError):
        _book(patient, people.clinician, dt.datetime(2027, 5, 1, 14, 0), BOOKED_AT)  # in the past
    assert Reminder.select().count() == before


def test_moving_a_session_replaces_its_reminders(people):
    patient = User.get_by_id(people.patient.id)
    session = _book(patient, people.clinician, dt.datetime(2027, 6, 10, 14, 0), BOOKED_AT)
    old = _by_slot(patient)
    scheduling.move(
        session,
        by=people.clinician,
        kind="infusion",
        wall=dt.datetime(2027, 6, 12, 9, 0),
        duration_minutes=60,
        zone="UTC",
        now=BOOKED_AT,
    )
    new = _by_slot(patient)
    for key in old:
        if key[0] != "checkin":
            assert new[key] == REMINDER_CANCELLED
    live = {r.rule: r for r in planned_for(session).where(Reminder.status == REMINDER_PLANNED)}
    assert live["session_24h"].due_at == dt.datetime(2027, 6, 11, 9, 0)
    assert len(live) == 6


def test_moving_it_back_revives_the_same_reminders_without_duplicates(people):
    patient = User.get_by_id(people.patient.id)
    first = dt.datetime(2027, 6, 10, 14, 0)
    session = _book(patient, people.clinician, first, BOOKED_AT)
    for wall in (dt.datetime(2027, 6, 12, 9, 0), first):
        session = scheduling.move(
            session, by=people.clinician, kind="infusion", wall=wall, duration_minutes=60, zone="UTC", now=BOOKED_AT
        )
    live = planned_for(session).where(Reminder.status == REMINDER_PLANNED)
    assert sorted(r.rule for r in live) == sorted(
        planner.RULES.keys() - {"checkin", "mood_daily", "circle_24h", "circle_1h"}
    )


def test_cancelling_cancels_every_reminder_of_the_session(people):
    patient = User.get_by_id(people.patient.id)
    session = _book(patient, people.clinician, dt.datetime(2027, 6, 10, 14, 0), BOOKED_AT)
    scheduling.cancel(session, by=people.clinician, now=BOOKED_AT)
    statuses = {r.status for r in planned_for(session)}
    assert statuses == {REMINDER_CANCELLED}


@pytest.mark.parametrize(("mark", "after_planned"), [("no_show", False), ("completed", True)])
def test_a_no_show_gets_no_aftercare_prompts(people, mark, after_planned):
    patient = User.get_by_id(people.patient.id)
    session = _book(patient, people.clinician, dt.datetime(2027, 6, 10, 14, 0), BOOKED_AT)
    scheduling.mark(session, mark, by=people.clinician, now=dt.datetime(2027, 6, 10, 14, 30))
    after = Reminder.select().where(
        Reminder.session == session, Reminder.rule.startswith("after_"), Reminder.status == REMINDER_PLANNED
    )
    assert after.exists() is after_planned


def test_planning_twice_changes_nothing(people):
    patient = User.get_by_id(people.patient.id)
    patient.mood_nudge_at = "19:00"
    patient.save()
    _book(patient, people.clinician, dt.datetime(2027, 6, 10, 14, 0), BOOKED_AT)
    before = [(r.id, r.rule, r.slot, r.due_at, r.status, r.updated_at) for r in Reminder.select().order_by(Reminder.id)]
    planner.plan(patient, now=BOOKED_AT)
    planner.plan(patient, now=BOOKED_AT)
    after = [(r.id, r.rule, r.slot, r.due_at, r.status, r.updated_at) for r in Reminder.select().order_by(Reminder.id)]
    assert after == before


def test_a_sent_reminder_is_never_planned_again(people):
    patient = User.get_by_id(people.patient.id)
    session = _book(patient, people.clinician, dt.datetime(2027, 6, 10, 14, 0), BOOKED_AT)
    first = Reminder.get(Reminder.session == session, Reminder.rule == "session_24h")
    Reminder.update(status=REMINDER_SENT).where(Reminder.id == first.id).execute()
    planner.plan(patient, now=BOOKED_AT)
    rows = Reminder.select().where(Reminder.session == session, Reminder.rule == "session_24h")
    assert [(r.id, r.status) for r in rows] == [(first.id, REMINDER_SENT)]


def _last_planned_nudge() -> Reminder:
    planned = Reminder.select().where(Reminder.rule == "mood_daily", Reminder.status == REMINDER_PLANNED)
    return planned.order_by(Reminder.due_at.desc()).first()


def test_changing_zone_between_planning_and_sending_moves_wall_clock_reminders_only(people):
    patient = User.get_by_id(people.patient.id)
    accounts.update_time_settings(
        patient, timezone="America/New_York", quiet_start="22:00", quiet_end="07:00", mood_nudge_at="09:00"
    )
    # 16:00 UTC: the day-before reminder is outside quiet hours in both zones, whenever the test runs.
    starts = dt.datetime.combine(dt.date.today() + dt.timedelta(days=5), dt.time(16, 0))
    session = make_session(patient, starts_at=starts, status="scheduled", number=1)
    planner.plan(User.get_by_id(patient.id))
    # Tomorrow's nudge: today's may already be late (sent as soon as possible), depending on the hour the test runs.
    nudge_before = _last_planned_nudge()
    day_before = Reminder.get(Reminder.session == session, Reminder.rule == "session_24h")
    assert to_local(nudge_before.due_at, "America/New_York").strftime("%H:%M") == "09:00"

    accounts.update_time_settings(
        User.get_by_id(patient.id),
        timezone="Europe/Berlin",
        quiet_start="22:00",
        quiet_end="07:00",
        mood_nudge_at="09:00",
    )
    nudge_after = _last_planned_nudge()
    assert to_local(nudge_after.due_at, "Europe/Berlin").strftime("%H:%M") == "09:00"
    assert Reminder.get_by_id(day_before.id).due_at == day_before.due_at  # elapsed: the same instant
    assert Reminder.get_by_id(day_before.id).status == REMINDER_PLANNED


def test_closing_the_account_cancels_everything_and_forgets_devices(people):
    from aftercare.models import Device
    from aftercare.mydata import retention
    from tests.factories import make_device

    patient = User.get_by_id(people.patient.id)
    _book(patient, people.clinician, dt.datetime.now().replace(microsecond=0) + dt.timedelta(days=3), None)
    make_device(patient)
    retention.close_account(patient)
    assert not Reminder.select().where(Reminder.user == patient, Reminder.status == REMINDER_PLANNED).exists()
    assert not Device.select().where(Device.user == patient).exists()


# ---------------------------------------------------------------------------- questionnaires


def test_questionnaires_at_the_start_after_milestone_sessions_and_every_four_weeks(people):
    patient = User.get_by_id(people.patient.id)
    now = dt.datetime(2027, 6, 1, 12, 0)
    # At the start: one reminder for both measures, the next evening at 18:00.
    planner.plan(patient, now=now)
    checkins = list(Reminder.select().where(Reminder.user == patient, Reminder.rule == "checkin"))
    assert [(r.slot, r.due_at) for r in checkins] == [("baseline", dt.datetime(2027, 6, 2, 18, 0))]

    # Answered: the next occasion is four weeks on; session 2 ending adds a reminder the day after it.
    for instrument in ("phq9", "gad7"):
        make_checkin(patient, instrument, [0] * (9 if instrument == "phq9" else 7))
    answered = max(c.submitted_at for c in patient.checkins)
    second = make_session(patient, starts_at=answered + dt.timedelta(days=7), status="scheduled", number=2)
    make_session(patient, starts_at=second.starts_at - dt.timedelta(days=3), status="completed", number=1)
    planner.plan(patient, now=answered)
    live = {r.slot: r for r in Reminder.select().where(Reminder.rule == "checkin", Reminder.status == REMINDER_PLANNED)}
    assert f"s{second.id}" in live
    assert live[f"s{second.id}"].due_at.date() == (second.ends_at + dt.timedelta(days=1)).date()
    every = [r for slot, r in live.items() if slot.startswith("d")]
    assert len(every) == 1 and every[0].due_at.date() == (answered + dt.timedelta(days=29)).date()
    assert Reminder.get(Reminder.slot == "baseline").status == REMINDER_CANCELLED
