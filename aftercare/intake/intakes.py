"""The intake screening's life: a draft the patient fills in, submitted, reviewed by a clinician.

Every change is one transaction with its audit row. "Thoughts of ending your life at the moment"
answered Yes raises the safety alert in the same transaction as the save that holds it, draft or
not (CLIN-02): the patient sees crisis help at once.
"""

import json

from .. import alerts
from ..db import db
from ..inputs import Invalid
from ..models import AuditEvent
from ..models import Intake
from ..models import IntakeForm
from ..models import User
from ..models import utcnow
from ..models.intake import DRAFT
from ..models.intake import REVIEWED
from ..models.intake import SUBMITTED
from . import questions
from . import review

SAFETY_KEY = "suicidal_now"
SAFETY_REASON = "intake_suicidal_now"
NOTE_MAX = 2000
CLINIC_QUESTIONS_MAX = 20


class VersionChanged(Exception):
    """The clinic changed the questionnaire while the patient was answering (their answers were kept)."""


def current_form() -> IntakeForm:
    """Return the questionnaire's current version, making a new one when the starting questions changed.

    The clinic's own questions are carried into the new version unchanged.
    """
    latest = IntakeForm.select().order_by(IntakeForm.id.desc()).first()
    starting = questions.starting_sections()
    if latest is not None:
        stored = json.loads(latest.questions)
        if [s for s in stored if s["key"] != questions.CLINIC_SECTION] == starting:
            return latest
        starting += [s for s in stored if s["key"] == questions.CLINIC_SECTION]
    with db.atomic():
        return IntakeForm.create(questions=json.dumps(starting))


def sections(form: IntakeForm) -> list[questions.Section]:
    return questions.sections_of(form.questions)


def latest(patient: User) -> Intake | None:
    """The patient's newest intake (a draft, or the last one sent), or None."""
    return Intake.select().where(Intake.patient == patient).order_by(Intake.created_at.desc(), Intake.id.desc()).first()


def to_answer(patient: User) -> Intake | None:
    """The draft the patient is filling in (made the first time), or None once the newest is sent."""
    found = latest(patient)
    if found is not None and found.status != DRAFT:
        return None
    if found is None:
        with db.atomic():
            found = Intake.create(patient=patient, form=current_form())
    return found


def last_sent(patient: User) -> Intake | None:
    """The patient's newest intake that was sent (submitted or reviewed), or None."""
    return (
        Intake.select()
        .where(Intake.patient == patient, Intake.status != DRAFT)
        .order_by(Intake.created_at.desc(), Intake.id.desc())
        .first()
    )


def open_for_review(patient: User, *, by: User) -> tuple[Intake | None, Intake | None]:
    """Return (the newest sent intake, a newer draft) for a clinician, and audit that they opened it (LOG-01)."""
    newest = latest(patient)
    draft = newest if newest is not None and newest.status == DRAFT else None
    AuditEvent.record("view_intake", actor=by, patient=patient)
    return last_sent(patient), draft


def save(patient: User, intake: Intake, form, *, version: str, send: bool) -> tuple[Intake, bool]:
    """Store the answers of the patient's draft; with send=True, submit it. Return (intake, crisis).

    Raise Invalid (nothing is sent; the draft still holds every answer that could be read) or
    VersionChanged (the answers were kept, moved to the current version, nothing sent).
    """
    current = current_form()
    moved = version != str(intake.form_id) or intake.form_id != current.id
    form_sections = sections(current)
    answers = questions.read(form_sections, form, complete=send and not moved)
    with db.atomic():
        # The draft as it is now: sent from another tab a moment ago, it is no longer a draft.
        fresh = Intake.get_or_none(Intake.id == intake.id, Intake.patient == patient, Intake.status == DRAFT)
        if fresh is None:  # sent a moment ago (another tab): nothing more to save
            raise Invalid({"intake": "These answers were already sent to your clinic."})
        kept = dict(answers)  # the form holds every answer: one left empty is no longer kept
        for key in answers.errors:
            kept.pop(key, None)
        now = utcnow()
        sending = send and not moved and not answers.errors
        Intake.update(
            form=current,
            answers=json.dumps(kept),
            updated_at=now,
            status=SUBMITTED if sending else DRAFT,
            submitted_at=now if sending else None,
        ).where(Intake.id == fresh.id).execute()
        crisis = kept.get(SAFETY_KEY) == "yes"
        if crisis:
            alerts.raise_alert(
                patient,
                about=alerts.subject("intake", fresh.id),
                reason=SAFETY_REASON,
                detail="Intake: answered Yes to thoughts of ending their life at the moment",
            )
        AuditEvent.record(
            "intake_submitted" if sending else "intake_saved",
            actor=patient,
            patient=patient,
            detail=f"intake {fresh.id}",
        )
    saved = Intake.get_by_id(fresh.id)
    if moved:
        raise VersionChanged(saved)
    if answers.errors:
        error = Invalid(answers.errors)
        error.crisis = crisis
        raise error
    return saved, crisis


def mark_reviewed(intake: Intake, *, by: User, note: str) -> bool:
    """Record that a clinician reviewed a submitted intake, with their note; False if a colleague already had."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise Invalid({"note": f"Please keep the note under {NOTE_MAX} characters."})
    with db.atomic():
        done = (
            Intake.update(status=REVIEWED, reviewed_at=utcnow(), reviewed_by=by, review_note=note)
            .where(Intake.id == intake.id, Intake.status == SUBMITTED)
            .execute()
        )
        if done:
            AuditEvent.record("intake_reviewed", actor=by, patient=intake.patient, detail=f"intake {intake.id}")
    return bool(done)


def ask_again(patient: User, *, by: User) -> Intake:
    """Ask the patient to go through the intake again: a new draft, filled in with their last answers."""
    with db.atomic():
        found = latest(patient)
        if found is not None and found.status == DRAFT:
            return found
        answers = found.answers if found is not None else "{}"
        intake = Intake.create(patient=patient, form=current_form(), answers=answers, requested_by=by)
        AuditEvent.record("intake_requested", actor=by, patient=patient, detail=f"intake {intake.id}")
    return intake


def needs_review(patient_ids) -> set[int]:
    """The patients (of these ids, or a query of ids) whose newest sent intake waits for a clinician's review."""
    return {
        patient_id
        for (patient_id,) in Intake.select(Intake.patient)
        .where(Intake.patient.in_(patient_ids), Intake.status == SUBMITTED)
        .distinct()
        .tuples()
    }


def reviewed(patient_ids: list[int]) -> set[int]:
    """The patients (of these ids) whose intake a clinician has reviewed, with no newer one sent and waiting."""
    query = Intake.select(Intake.patient).where(Intake.patient.in_(patient_ids), Intake.status == REVIEWED)
    return {patient_id for (patient_id,) in query.distinct().tuples()} - needs_review(patient_ids)


def highlights(intake: Intake) -> list[review.Highlight]:
    return review.highlights(sections(intake.form), intake.answer_dict)


# --------------------------------------------------------------------------- the clinic's own questions


def add_question(*, by: User, text: str, kind: str, flag: str) -> IntakeForm:
    """Add a question of the clinic's own: a new version of the questionnaire."""
    text, flag = (text or "").strip(), (flag or "").strip()
    problems = {}
    if not 5 <= len(text) <= 300:
        problems["text"] = "Please write the question in 5 to 300 characters."
    if kind not in ("yesno", "text"):
        problems["kind"] = "Please choose Yes/No or a written answer."
    if len(flag) > 200:
        problems["flag"] = "Please keep the reason under 200 characters."
    if flag and kind != "yesno":
        problems["flag"] = "Only a Yes/No question can be highlighted on Yes."
    if problems:
        raise Invalid(problems)
    with db.atomic():
        stored = json.loads(current_form().questions)
        clinic = next((s for s in stored if s["key"] == questions.CLINIC_SECTION), None)
        if clinic is None:
            clinic = {"key": questions.CLINIC_SECTION, "title": "From your clinic", "intro": "", "questions": []}
            stored.append(clinic)
        if len(clinic["questions"]) >= CLINIC_QUESTIONS_MAX:
            raise Invalid({"text": f"The clinic may add up to {CLINIC_QUESTIONS_MAX} questions."})
        used = {q["key"] for s in stored for q in s["questions"]}
        number = 1 + max((int(k.rsplit("_", 1)[1]) for k in used if k.startswith("clinic_")), default=0)
        question = {"key": f"clinic_{number}", "type": kind, "text": text}
        if kind == "yesno":
            question["choices"] = questions.YES_NO + [questions.UNSURE]
        if flag:
            question["flag"] = flag
        clinic["questions"].append(question)
        form = IntakeForm.create(questions=json.dumps(stored), created_by=by)
        AuditEvent.record("intake_form_changed", actor=by, detail=f"version {form.id}: added {question['key']}")
    return form


def remove_question(key: str, *, by: User) -> IntakeForm | None:
    """Stop asking one of the clinic's own questions (a new version); None if it is not asked now."""
    with db.atomic():
        stored = json.loads(current_form().questions)
        clinic = next((s for s in stored if s["key"] == questions.CLINIC_SECTION), None)
        if clinic is None or key not in {q["key"] for q in clinic["questions"]}:
            return None
        clinic["questions"] = [q for q in clinic["questions"] if q["key"] != key]
        if not clinic["questions"]:
            stored.remove(clinic)
        form = IntakeForm.create(questions=json.dumps(stored), created_by=by)
        AuditEvent.record("intake_form_changed", actor=by, detail=f"version {form.id}: removed {key}")
    return form
