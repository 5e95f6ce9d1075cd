"""Forms for clinicians."""

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import SelectChoice
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import widgets
from wtforms.validators import DataRequired
from wtforms.validators import Length

from ..forms import valid_email
from ..selfreports.instruments import INSTRUMENTS


class InvitePatientForm(FlaskForm):
    name = StringField("Patient's name", validators=[DataRequired(), Length(max=120)])
    email = EmailField(
        "Patient's email",
        validators=[DataRequired(), Length(max=254), valid_email],
        description="They sign in with this address. aftercare sends no email; you hand over the link or code.",
    )


class AddColleagueForm(FlaskForm):
    clinician = SelectField("Colleague", coerce=int, validate_choice=True)


class AcknowledgeForm(FlaskForm):
    note = TextAreaField(
        "What did you do?",
        validators=[DataRequired(message="Write a short note of what you did or decided."), Length(max=1000)],
        description="For example: called the patient, safety plan reviewed, appointment moved forward.",
    )


class MeasuresForm(FlaskForm):
    measures = SelectMultipleField(
        "Questionnaires this patient answers",
        choices=[
            SelectChoice(key, f"{spec.name}: {spec.condition} ({len(spec.items)} questions, {spec.title.lower()})")
            for key, spec in INSTRUMENTS.items()
        ],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(message="Choose at least one questionnaire.")],
        description="Each is asked for at its own rhythm: "
        + "; ".join(f"{spec.name} {spec.rhythm.describe()}" for spec in INSTRUMENTS.values())
        + ". Scores already given stay in the record.",
    )


class PanelSearchForm(FlaskForm):
    """Find a patient by name: posted, so the name is in no address, history or server log."""

    name = StringField("Find a patient by name", validators=[DataRequired(), Length(max=120)])
