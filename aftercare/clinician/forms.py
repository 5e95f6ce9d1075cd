"""Forms for clinicians."""

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from ..forms import valid_email


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
