"""Forms for the patient's own settings."""

from flask_wtf import FlaskForm

from ..forms import TimeSettingsMixin


class SettingsForm(TimeSettingsMixin, FlaskForm):
    pass
