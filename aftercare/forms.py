"""Form pieces every blueprint shares: the empty CSRF form, email and time-zone fields, quiet hours."""

import re
import zoneinfo

from flask_wtf import FlaskForm
from wtforms import SelectChoice
from wtforms import SelectField
from wtforms import StringField
from wtforms import ValidationError
from wtforms.validators import DataRequired
from wtforms.validators import InputRequired
from wtforms.validators import Regexp

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
TIME_RE = r"^([01]\d|2[0-3]):[0-5]\d$"


class EmptyForm(FlaskForm):
    """A CSRF-protected form with no fields, for buttons that change something."""


def valid_email(form, field):
    if not EMAIL_RE.match(field.data.strip()):
        raise ValidationError("Enter an email address like name@example.org.")


_ZONES: list[str] = []


def zones() -> list[str]:
    """Return the IANA zones people choose from (regions and UTC, not the legacy aliases)."""
    if not _ZONES:
        _ZONES.extend(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))
    return _ZONES


def valid_timezone(form, field):
    if field.data not in zones():
        raise ValidationError("Choose a time zone from the list, such as America/Chicago.")


def timezone_choices():
    return [SelectChoice(z, z.replace("_", " ")) for z in zones()]


def clock_field(label: str, default: str) -> StringField:
    """A required time of day, HH:MM (the browser shows a time picker: attrs={'type': 'time'})."""
    return StringField(
        label, default=default, validators=[InputRequired(), Regexp(TIME_RE, message=f"Use a time like {default}.")]
    )


class TimeSettingsMixin:
    """The patient's time zone and quiet hours, which reminders are planned around."""

    timezone = SelectField(
        "Your time zone", default="UTC", validators=[DataRequired(), valid_timezone], validate_choice=False
    )
    quiet_start = clock_field("Quiet hours start", "21:00")
    quiet_end = clock_field("Quiet hours end", "08:00")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()

    def validate_quiet_end(self, field):
        if field.data and field.data == self.quiet_start.data:
            raise ValidationError(
                "Quiet hours need a start and an end that differ. For no quiet hours at all, "
                "choose a short stretch in the middle of the night."
            )
