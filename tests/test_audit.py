"""LOG-01/02: who looked at which patient, in a hash chain nobody can rewrite."""

import threading

import pytest

from aftercare.db import db
from aftercare.models import AuditEvent
from aftercare.models import AuditSeal
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient


def test_clinician_view_of_a_patient_writes_one_audit_row(client, auth):
    make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician)
    auth.login(clinician)
    before = AuditEvent.select().count()
    assert client.get(f"/clinician/patients/{patient.id}").status_code == 200
    rows = list(AuditEvent.select().where(AuditEvent.id > before))
    assert [(r.action, r.actor_id, r.actor_role, r.patient_id) for r in rows] == [
        ("view_patient", clinician.id, "clinician", patient.id)
    ]


def test_refused_view_writes_no_patient_audit_row(client, auth):
    make_admin()
    clinician = make_clinician()
    stranger = make_patient(make_clinician())
    auth.login(clinician)
    assert client.get(f"/clinician/patients/{stranger.id}").status_code == 404
    assert not AuditEvent.select().where(AuditEvent.patient_id == stranger.id).exists()


def test_chain_verifies_and_detects_tampering(app, runner):
    actor = make_admin()
    for n in range(5):
        AuditEvent.record("test_event", actor=actor, detail=f"n={n}")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 event(s)" in result.output
    # Tamper underneath the triggers, as someone with the database file could.
    target = AuditEvent.select().order_by(AuditEvent.id).offset(2).first()
    with db.atomic():
        if db.obj.__class__.__name__.startswith("Pooled") and "Postgres" in db.obj.__class__.__name__:
            db.execute_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
            db.execute_sql("UPDATE audit_event SET detail = 'n=99' WHERE id = %s", (target.id,))
            db.execute_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change")
        else:
            db.execute_sql("DROP TRIGGER audit_event_no_update")
            db.execute_sql("UPDATE audit_event SET detail = 'n=99' WHERE id = ?", (target.id,))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"broken at event {target.id}" in result.output


def test_admin_browses_and_filters_the_audit_log(client, auth):
    admin = make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician)
    AuditEvent.record("view_patient", actor=clinician, patient=patient)
    auth.login(admin)
    page = client.get(f"/admin/audit?action=view_patient&patient={patient.id}").get_data(as_text=True)
    assert clinician.email in page
    assert "sign in" not in page.split("<tbody>")[1]
    assert client.get("/admin/audit?since=not-a-date&page=-3").status_code == 200


# LOG-05: the log survives the database's own tools.


def _is_postgres():
    return "Postgres" in type(db.obj).__name__


def _is_postgres_url() -> bool:
    from tests.conftest import PG_URL

    return bool(PG_URL)


def _refused(sql, params=()):
    try:
        with db.atomic():
            db.execute_sql(sql, params)
    except Exception as error:  # noqa: BLE001 - IntegrityError, InternalError or OperationalError by driver
        return str(error)
    return None


def test_truncate_and_replace_are_refused(app):
    actor = make_admin()
    event = AuditEvent.record("test_event", actor=actor)
    if _is_postgres():
        for table in ("audit_event", "audit_head"):
            message = _refused(f"TRUNCATE {table}")
            assert message and "append-only" in message, table
    else:
        columns = "id, at, actor_id, actor_role, patient_id, action, detail, prev_hash, hash"
        message = _refused(
            f"INSERT OR REPLACE INTO audit_event ({columns}) SELECT id, at, actor_id, actor_role, patient_id, "
            "'rewritten', detail, prev_hash, hash FROM audit_event WHERE id = ?",
            (event.id,),
        )
        assert message and "append-only" in message
    assert AuditEvent.get_by_id(event.id).action == "test_event"


def test_the_chain_head_cannot_go_back_or_vanish(app):
    actor = make_admin()
    for n in range(3):
        AuditEvent.record("test_event", actor=actor, detail=f"n={n}")
    mark = "%s" if _is_postgres() else "?"
    assert _refused(f"UPDATE audit_head SET count = 0, hash = {mark}", ("0" * 64,))
    assert _refused("DELETE FROM audit_head")
    check = AuditEvent.verify_chain()
    assert (check.checked, check.broken) == (3, None)


def test_verify_prints_the_head_and_checks_a_recorded_one(app, runner):
    actor = make_admin()
    for n in range(4):
        AuditEvent.record("test_event", actor=actor, detail=f"n={n}")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    recorded = result.output.split("head ")[1].split()[0]
    head_hash, count = recorded.split(":")
    assert count == "4" and AuditSeal.get(AuditSeal.hash == head_hash).total == 4
    # Later, with more events, the recorded head is still part of the chain.
    AuditEvent.record("test_event", actor=actor, detail="n=4")
    result = runner.invoke(args=["audit", "verify", "--expect", recorded])
    assert result.exit_code == 0, result.output
    assert "still in the chain" in result.output
    assert result.output.split("head ")[1].split()[0].endswith(":5")  # and the new head covers the new event
    # A head that is not in the chain (the chain was rewritten, or the record is wrong) fails.
    result = runner.invoke(args=["audit", "verify", "--expect", f"{'f' * 64}:4"])
    assert result.exit_code == 1
    result = runner.invoke(args=["audit", "verify", "--expect", f"{head_hash}:9"])
    assert result.exit_code == 1
    result = runner.invoke(args=["audit", "verify", "--expect", "not-a-head"])
    assert result.exit_code == 2


def test_a_head_recorded_before_lanes_is_still_found(app, runner):
    """Before lanes, the head was the Nth event's hash and N; every such event is in lane 0."""
    actor = make_admin()
    events = [AuditEvent.record("test_event", actor=actor, detail=f"n={n}", lane=0) for n in range(3)]
    old_head = f"{events[1].hash}:2"
    AuditEvent.record("test_event", actor=actor, detail="later", lane=3)
    result = runner.invoke(args=["audit", "verify", "--expect", old_head])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["audit", "verify", "--expect", f"{events[1].hash}:3"]).exit_code == 1


def test_a_rewritten_chain_fails_against_the_recorded_head(app, runner):
    """Someone with the database rebuilds the whole chain from scratch: only the recorded head notices."""
    actor = make_admin()
    for n in range(3):
        AuditEvent.record("test_event", actor=actor, detail=f"n={n}")
    recorded = runner.invoke(args=["audit", "verify"]).output.split("head ")[1].split()[0]
    with db.atomic():
        if _is_postgres():
            for table in ("audit_event", "audit_head", "audit_seal"):
                db.execute_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            db.execute_sql("DELETE FROM audit_event")
            db.execute_sql("DELETE FROM audit_seal")
            db.execute_sql("UPDATE audit_head SET count = 0, hash = %s", ("0" * 64,))
            for table in ("audit_event", "audit_head", "audit_seal"):
                db.execute_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        else:
            names = [row[0] for row in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
            for name in names:
                if name.startswith("audit_"):
                    db.execute_sql(f"DROP TRIGGER {name}")
            db.execute_sql("DELETE FROM audit_event")
            db.execute_sql("DELETE FROM audit_seal")
            db.execute_sql("UPDATE audit_head SET count = 0, hash = ?", ("0" * 64,))
    AuditEvent.record("test_event", actor=actor, detail="forged")
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # internally consistent...
    result = runner.invoke(args=["audit", "verify", "--expect", recorded])
    assert result.exit_code == 1  # ...but the recorded head is gone


# LOG-01: the panel shows every patient's scores, so it names every patient in the log.


def test_the_panel_names_every_patient_it_shows(client, auth):
    make_admin()
    clinician = make_clinician()
    patients = [make_patient(clinician) for _ in range(7)]
    other = make_patient(make_clinician())
    auth.login(clinician)
    before = AuditEvent.select().count()
    assert client.get("/clinician/").status_code == 200
    rows = list(AuditEvent.select().where(AuditEvent.id > before))
    assert {r.patient_id for r in rows} == {p.id for p in patients}
    assert {(r.action, r.actor_id) for r in rows} == {("view_panel", clinician.id)}
    assert other.id not in {r.patient_id for r in rows}
    assert AuditEvent.verify_chain().broken is None


# LOG-06: an administrator sees who acted on which account, not clinical events tied to a patient.


def test_admin_log_shows_no_clinical_events(client, auth):
    admin = make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician)
    for action in ("alert_acknowledged", "phq9_submitted", "mood_logged", "journal_entry_written", "intention_saved"):
        AuditEvent.record(action, actor=clinician if action == "alert_acknowledged" else patient, patient=patient)
    AuditEvent.record("account_deactivated", actor=admin, subject=clinician)
    auth.login(admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    body = page.split("<tbody>")[1]
    for hidden in ("alert", "phq9", "mood", "journal", "intention", "PHQ", "Mood"):
        assert hidden not in body, hidden
    assert "deactivated" in body.lower()
    options = page.split('id="action"')[1].split("</select>")[0] if 'id="action"' in page else page
    assert "alert_acknowledged" not in options
    filtered = client.get("/admin/audit?action=alert_acknowledged").get_data(as_text=True)
    assert "alert" not in filtered.split("<tbody>")[1] if "<tbody>" in filtered else True


# LOG-05 without a hot row: the log is several chains, tied together by seals.


def test_every_lane_is_checked_and_tied_into_the_head(app, runner):
    actor = make_admin()
    for lane in (0, 3, 5, 3, 0):
        AuditEvent.record("test_event", actor=actor, detail=f"lane {lane}", lane=lane)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 event(s)" in result.output  # make_admin writes no audit row
    recorded = result.output.split("head ")[1].split()[0]
    assert recorded.endswith(":5")
    # A row changed in one lane is found, whichever lane it is in.
    victim = AuditEvent.get(AuditEvent.lane == 5)
    with db.atomic():
        if _is_postgres():
            db.execute_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
            db.execute_sql("UPDATE audit_event SET detail = 'changed' WHERE id = %s", (victim.id,))
            db.execute_sql("ALTER TABLE audit_event ENABLE TRIGGER USER")
        else:
            db.execute_sql("DROP TRIGGER audit_event_no_update")
            db.execute_sql("UPDATE audit_event SET detail = 'changed' WHERE id = ?", (victim.id,))
    assert AuditEvent.verify_chain().broken == victim.id
    assert runner.invoke(args=["audit", "verify", "--expect", recorded]).exit_code == 1


def test_seals_are_append_only(app):
    AuditEvent.record("test_event", actor=None)
    AuditEvent.seal()
    assert _refused("DELETE FROM audit_seal")
    assert _refused("UPDATE audit_seal SET total = 0")


@pytest.mark.skipif(not _is_postgres_url(), reason="row locks between writers: the PostgreSQL run checks this")
def test_writers_in_different_lanes_do_not_wait_for_each_other(app):
    holding, release = threading.Event(), threading.Event()

    def first_writer():
        with db.atomic():
            AuditEvent.record("test_event", actor=None, detail="first", lane=1)
            holding.set()
            release.wait(10)  # lane 1's head stays locked until this transaction ends

    first = threading.Thread(target=first_writer)
    first.start()
    assert holding.wait(5)
    other_lane = threading.Thread(target=lambda: AuditEvent.record("test_event", actor=None, detail="other", lane=2))
    same_lane = threading.Thread(target=lambda: AuditEvent.record("test_event", actor=None, detail="same", lane=1))
    other_lane.start()
    same_lane.start()
    other_lane.join(5)
    same_lane.join(0.5)
    try:
        assert not other_lane.is_alive(), "a writer in another lane waited for the first one"
        assert same_lane.is_alive(), "the same lane is one chain: its next writer waits for the head"
    finally:
        release.set()
        first.join(5)
        same_lane.join(5)
    check = AuditEvent.verify_chain()
    assert (check.checked, check.broken) == (3, None)
