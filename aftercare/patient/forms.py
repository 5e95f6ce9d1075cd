"""Forms for the patient's own settings."""

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import InputRequired
from wtforms.validators import Regexp

from ..auth.forms import TIME_RE
from ..auth.forms import timezone_choices
from ..auth.forms import valid_timezone


class SettingsForm(FlaskForm):
    timezone = SelectField("Your time zone", validators=[DataRequired(), valid_timezone], validate_choice=False)
    quiet_start = StringField(
        "Quiet hours start", validators=[InputRequired(), Regexp(TIME_RE, message="Use a time like 21:00.")]
    )
    quiet_end = StringField(
        "Quiet hours end", validators=[InputRequired(), Regexp(TIME_RE, message="Use a time like 08:00.")]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()
