"""Forms for the patient's data page."""

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from ..passwords import MAX_LENGTH


class CloseAccountForm(FlaskForm):
    # The password, not a checkbox: a phone left unlocked should not be enough to close an account.
    password = PasswordField(
        "Type your password to confirm",
        validators=[DataRequired(message="Type your password to confirm."), Length(max=MAX_LENGTH)],
    )
