"""The form for one integration practice in the clinic's library."""

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import SelectChoice
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import ValidationError
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from ..models import PRACTICE_KINDS
from ..safety import suggests_driving

TITLE_MAX = 120
DESCRIPTION_MAX = 1_000
DAYS = [("0", "The session day"), ("1", "The day after"), ("2", "Two days after"), ("3", "Three days after")]
# CLIN-08: no driving for 24 hours after a session, and days are calendar days: "the day after"
# an evening session begins a few hours later. So neither may suggest driving.
NO_DRIVING_DAYS = {"0", "1"}


class CheckboxesField(SelectMultipleField):
    """A set of checkboxes: each choice is its own labelled input, not a hard-to-use multi-select list."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PracticeForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[DataRequired(message="Give the practice a short title."), Length(max=TITLE_MAX)],
        render_kw={"maxlength": TITLE_MAX},
    )
    kind = SelectField("Kind", choices=[SelectChoice(value, label) for value, label in PRACTICE_KINDS.items()])
    description = TextAreaField(
        "What the patient is asked to do",
        validators=[
            DataRequired(message="Say in a sentence or two what the patient is asked to do."),
            Length(max=DESCRIPTION_MAX, message=f"Keep it under {DESCRIPTION_MAX:,} characters."),
        ],
        description="Patients read this on their phone in the days after a session: short, calm, concrete.",
        render_kw={"rows": 4, "maxlength": DESCRIPTION_MAX},
    )
    days = CheckboxesField("Offered on", choices=[SelectChoice(value, label) for value, label in DAYS])
    active = BooleanField("Offer this practice to patients", default=True)

    def validate_days(self, field):
        if not field.data:
            raise ValidationError("Choose at least one day to offer it on.")

    def validate_description(self, field):
        text = f"{self.title.data or ''} {field.data or ''}"
        if NO_DRIVING_DAYS & set(self.days.data or []) and suggests_driving(text):
            raise ValidationError(
                "Patients must not drive, cycle or use machinery for 24 hours after a session, "
                "so a practice for the session day or the day after cannot suggest it. "
                "Reword it, or offer it from two days after."
            )

    @property
    def day_string(self) -> str:
        return ",".join(sorted(set(self.days.data), key=int))
