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
