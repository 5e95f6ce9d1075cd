"""Forms for signing in, joining, resetting and managing one's account."""

import re
import zoneinfo

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import EmailField
from wtforms import PasswordField
from wtforms import SelectChoice
from wtforms import SelectField
from wtforms import StringField
from wtforms import ValidationError
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Regexp

from ..passwords import MAX_LENGTH

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
TIME_RE = r"^([01]\d|2[0-3]):[0-5]\d$"


def valid_email(form, field):
    if not EMAIL_RE.match(field.data.strip()):
        raise ValidationError("Enter an email address like name@example.org.")


def valid_timezone(form, field):
    if field.data not in _zones():
        raise ValidationError("Choose a time zone from the list, such as America/Chicago.")


_ZONES: list[str] = []


def _zones() -> list[str]:
    if not _ZONES:
        _ZONES.extend(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))
    return _ZONES


def timezone_choices():
    return [SelectChoice(z, z.replace("_", " ")) for z in _zones()]


class EmptyForm(FlaskForm):
    """A CSRF-protected form with no fields, for buttons that change something."""


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember_device = BooleanField("Keep me signed in on this phone for 30 days")


class CodeForm(FlaskForm):
    code = StringField(
        "6-digit code from your authenticator app, or a recovery code",
        validators=[DataRequired(), Length(max=32)],
    )


class EnrolTotpForm(FlaskForm):
    code = StringField("6-digit code from your authenticator app", validators=[DataRequired(), Length(max=16)])


class NewPasswordMixin:
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description="At least 12 characters. A few unrelated words work well; paste is fine.",
    )
    confirm = PasswordField(
        "Type it again",
        validators=[DataRequired(), EqualTo("password", message="The two passwords are not the same.")],
    )


class SetupAdminForm(NewPasswordMixin, FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), valid_email])


class JoinCodeForm(FlaskForm):
    code = StringField("Invite code", validators=[DataRequired(), Length(max=32)], description="Like 7K2QD-M9XPA.")


class TimeSettingsMixin:
    """The patient's time zone and quiet hours, which reminders are planned around."""

    timezone = SelectField(
        "Your time zone", default="UTC", validators=[DataRequired(), valid_timezone], validate_choice=False
    )
    quiet_start = StringField(
        "Quiet hours start",
        default="21:00",
        validators=[InputRequired(), Regexp(TIME_RE, message="Use a time like 21:00.")],
    )
    quiet_end = StringField(
        "Quiet hours end",
        default="08:00",
        validators=[InputRequired(), Regexp(TIME_RE, message="Use a time like 08:00.")],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()


class JoinForm(NewPasswordMixin, TimeSettingsMixin, FlaskForm):
    consent = BooleanField("I have read what my care team will see, and I agree.")
    remember_device = BooleanField("Keep me signed in on this phone for 30 days")


class ResetForm(NewPasswordMixin, FlaskForm):
    pass


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
