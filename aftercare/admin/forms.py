"""Forms for clinic administrators."""

from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms import EmailField
from wtforms import IntegerField
from wtforms import SelectChoice
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import ValidationError
from wtforms import widgets
from wtforms.validators import DataRequired
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional
from wtforms.validators import Regexp

from ..forms import clock_field
from ..forms import timezone_choices
from ..forms import valid_email
from ..forms import valid_timezone
from ..models import ADMIN
from ..models import CLINICIAN
from ..selfreports.instruments import INSTRUMENTS
from ..settings import ClinicSettings
from ..settings import MAX_RETENTION_DAYS
from ..settings import WEEKDAYS


class InviteStaffForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), valid_email])
    role = SelectField(
        "Role", choices=[SelectChoice(CLINICIAN, "Clinician"), SelectChoice(ADMIN, "Administrator")], default=CLINICIAN
    )


class SettingsForm(FlaskForm):
    clinic_timezone = SelectField(
        "Clinic time zone",
        validators=[DataRequired(), valid_timezone],
        validate_choice=False,
        description="Staff enter session times in this zone; patients see them in their own.",
    )
    clinic_phone = StringField(
        "Clinic phone number",
        validators=[
            Optional(),
            Length(max=32),
            Regexp(r"^\+?[0-9 ()-]{3,32}$", message="Use digits, spaces, + ( ) and - only."),
        ],
        description="Shown with the crisis resources, as a tap-to-call button.",
    )
    crisis_lines = TextAreaField(
        "Crisis resources",
        validators=[DataRequired(), Length(max=4000)],
        description="One per line: name | what to do | link (tel:, sms: or https://). "
        "For example: Samaritans | Call 116 123 | tel:116123",
    )
    mood_tags = StringField(
        "Extra mood tags",
        validators=[Optional(), Length(max=300), Regexp(r"^[\w ,-]*$", message="Use words separated by commas.")],
        description="Besides sleep, anxiety, energy, pain and nausea. Separate with commas, e.g. appetite, focus.",
    )
    retention_days = IntegerField(
        "Days to keep a closed account's data",
        validators=[InputRequired(), NumberRange(min=0, max=MAX_RETENTION_DAYS)],
        default=30,
    )

    work_days = SelectMultipleField(
        "Working days",
        choices=[SelectChoice(str(n), name) for n, name in enumerate(WEEKDAYS)],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(message="Choose at least one working day.")],
    )
    work_start = clock_field("Working hours start", "09:00")
    work_end = clock_field("Working hours end", "17:00")
    escalate_minutes = IntegerField(
        "Escalate an unacknowledged safety alert after (working minutes)",
        default=60,
        validators=[InputRequired(), NumberRange(min=5, max=24 * 60)],
        description="Counted only within working hours. Then every clinician in the patient's care team and on call "
        "sees it first on their panel, and their devices are told.",
    )
    on_call = SelectMultipleField(
        "On call for escalated alerts",
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=True,
        description="These clinicians also hear of every escalated alert, and may open that patient's record.",
    )

    def validate_work_end(self, field):
        if field.data and self.work_start.data and field.data <= self.work_start.data:
            raise ValidationError("The working day must end after it starts.")

    @property
    def clinic_settings(self) -> ClinicSettings:
        tags = [t.strip().lower()[:32] for t in (self.mood_tags.data or "").split(",") if t.strip()]
        return ClinicSettings(
            timezone=self.clinic_timezone.data,
            phone=(self.clinic_phone.data or "").strip(),
            crisis_lines=self.crisis_lines.data.strip(),
            retention_days=self.retention_days.data,
            mood_tags=tuple(dict.fromkeys(tags)),
            work_days=tuple(sorted(int(d) for d in self.work_days.data)),
            work_start=self.work_start.data,
            work_end=self.work_end.data,
            escalate_minutes=self.escalate_minutes.data,
            on_call=tuple(sorted(int(c) for c in self.on_call.data or ())),
            cutoffs=tuple((spec.key, getattr(self, f"cutoff_{spec.key}").data) for spec in WITH_CUTOFF),
        )

    @property
    def cutoff_fields(self) -> list:
        return [getattr(self, f"cutoff_{spec.key}") for spec in WITH_CUTOFF]


# One field per measure read against a cut-off (the PCL-5's), made from the measures themselves.
WITH_CUTOFF = [spec for spec in INSTRUMENTS.values() if spec.cutoff]
for _spec in WITH_CUTOFF:
    setattr(
        SettingsForm,
        f"cutoff_{_spec.key}",
        IntegerField(
            f"{_spec.name} cut-off",
            default=int(_spec.cutoff.default),
            validators=[InputRequired(), NumberRange(min=int(_spec.min_total) + 1, max=int(_spec.max_total))],
            description=f"Charts draw the line “{_spec.cutoff.label}” at this {_spec.name} total "
            f"(published default {_spec.cutoff.default:g}).",
        ),
    )


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    action = StringField("Action", validators=[Optional(), Length(max=64)])
    actor = StringField("Who (email)", validators=[Optional(), Length(max=254)])
    account = IntegerField("Account number", validators=[Optional(), NumberRange(min=1, max=2**63 - 1)])
    since = DateField("From", validators=[Optional()])
    until = DateField("Until", validators=[Optional()])


def settings_form(*args, clinicians=(), **kwargs) -> SettingsForm:
    form = SettingsForm(*args, **kwargs)
    form.clinic_timezone.choices = timezone_choices()
    form.on_call.choices = [SelectChoice(str(c.id), c.name) for c in clinicians]
    return form
