"""The administrator's form for the wording of one kind of reminder."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from .texts import BODY_MAX
from .texts import LEAD_MAX
from .texts import TITLE_MAX


class WordingForm(FlaskForm):
    title = StringField("Lock-screen title", validators=[DataRequired(), Length(max=TITLE_MAX)])
    body = StringField("Lock-screen text", validators=[DataRequired(), Length(max=BODY_MAX)])
    lead = TextAreaField("In the app", validators=[DataRequired(), Length(max=LEAD_MAX)])


class MessageForm(FlaskForm):
    """A message to one patient (a clinician) or to every patient (an administrator's notice)."""

    title = StringField(
        "Lock-screen title (optional)",
        validators=[Length(max=TITLE_MAX)],
        description="Leave empty for the clinic's usual title. General words only: the lock screen is public.",
    )
    body = TextAreaField("Message", validators=[DataRequired(message="Write the message."), Length(max=2000)])


class SnoozeForm(FlaskForm):
    when = StringField("When", validators=[DataRequired()])
