"""Forms for the patient's own settings."""

from flask_wtf import FlaskForm
from wtforms import SelectChoice
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import ValidationError
from wtforms import widgets
from wtforms.validators import Optional
from wtforms.validators import Regexp

from ..forms import TIME_RE
from ..forms import TimeSettingsMixin
from ..reminders.planner import KINDS


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


class SettingsForm(TimeSettingsMixin, FlaskForm):
    mood_nudge_at = StringField(
        "A daily “how are you?” at",
        validators=[Optional(), Regexp(TIME_RE, message="Use a time like 19:30, or leave it empty.")],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )

    reminders_on = SelectMultipleField(
        "Remind me",
        choices=[SelectChoice(key, label) for key, (label, _) in KINDS.items()],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        description="Messages from your clinic and changes to your appointments always come.",
    )

    @property
    def reminders_off(self) -> str:
        return ",".join(key for key in KINDS if key not in (self.reminders_on.data or ()))

    def validate_mood_nudge_at(self, field):
        start, end = self.quiet_start.data, self.quiet_end.data
        # WTForms runs this even when the field's own format check failed: only a well-formed time is compared.
        if not field.data or field.errors or self.quiet_start.errors or self.quiet_end.errors or not (start and end):
            return
        at, begin, finish = _minutes(field.data), _minutes(start), _minutes(end)
        quiet = begin <= at < finish if begin < finish else (at >= begin or at < finish)
        if quiet:
            raise ValidationError(
                f"{field.data} is inside your quiet hours ({start}–{end}). Choose a time outside them."
            )
