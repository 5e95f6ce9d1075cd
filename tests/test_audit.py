"""LOG-01/02: who looked at which patient, in a hash chain nobody can rewrite."""

from aftercare.db import db
from aftercare.models import AuditEvent
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
