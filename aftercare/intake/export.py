"""The intake's part of the patient's export (PRIV-01): every intake, each question with its answer."""

from ..exports import iso
from ..exports import Section
from ..models import Intake
from ..models import User
from ..models.intake import INTAKE_STATUSES
from . import intakes
from .questions import shown

README = (
    "intake: your answers to the health questions before treatment, one record per time you answered\n"
    "them, with each question as it was worded then, your answer, when you sent it and when your clinic\n"
    "reviewed it. Weight is in kilograms and height in centimetres (as you typed them beside them)."
)


def intake_section(patient: User) -> Section:
    records = []
    for intake in Intake.select().where(Intake.patient == patient).order_by(Intake.created_at, Intake.id):
        answers = intake.answer_dict
        records.append(
            {
                "status": INTAKE_STATUSES[intake.status],
                "questionnaire_version": intake.form_id,
                "started_at": iso(intake.created_at),
                "sent_at": iso(intake.submitted_at),
                "reviewed_at": iso(intake.reviewed_at),
                "answers": [
                    {"question": q.text, "answer": shown(q, answers)}
                    for section in intakes.sections(intake.form)
                    for q in section.questions
                    if q.key in answers
                ],
            }
        )
    return Section("intake", records, README)
