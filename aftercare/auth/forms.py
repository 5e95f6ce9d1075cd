"""Forms for signing in, joining, resetting and managing one's account."""

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import EmailField
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import Length

from ..forms import TimeSettingsMixin
from ..forms import valid_email
from ..passwords import MAX_LENGTH


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


class JoinForm(NewPasswordMixin, TimeSettingsMixin, FlaskForm):
    consent = BooleanField("I have read what my care team will see, and I agree.")
    remember_device = BooleanField("Keep me signed in on this phone for 30 days")


class ResetForm(NewPasswordMixin, FlaskForm):
    pass


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
