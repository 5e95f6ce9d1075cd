"""Forms for scheduling sessions and for the patient's preparation before one."""

import datetime as dt

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import RadioField
from wtforms import SelectChoice
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import ValidationError
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.widgets import DateInput
from wtforms.widgets import NumberInput
from wtforms.widgets import TimeInput

from ..inputs import clean_text
from ..models import COMPLETED
from ..models import NO_SHOW
from ..models import SESSION_KINDS
from .scheduling import MAX_MINUTES
from .scheduling import MIN_MINUTES

INTENTION_MAX = 1000  # IN-01
RIDE_NAME_MAX = 120


def _parse(value: str, formats: tuple[str, ...]):
    for fmt in formats:
        try:
            return dt.datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    return None


class SessionForm(FlaskForm):
    """A session's kind, start (a wall-clock time in the clinic's zone) and length."""

    kind = SelectField(
        "Kind of session",
        choices=[SelectChoice("", "Choose…"), *(SelectChoice(k, label) for k, label in SESSION_KINDS.items())],
        # The scheduling rules check the kind, with the same message as the other rules.
        validate_choice=False,
    )
    date = StringField("Date", widget=DateInput(), validators=[InputRequired(message="Enter the date.")])
    time = StringField("Start time", widget=TimeInput(), validators=[InputRequired(message="Enter the start time.")])
    # Shown when the patient's intake screening is not reviewed: booking a dosing session then asks (never blocks).
    intake_ok = BooleanField("Book it anyway: I have considered that the intake is not reviewed")
    duration = StringField(
        "Length in minutes",
        default="60",
        widget=NumberInput(min=MIN_MINUTES, max=MAX_MINUTES, step=5),
        validators=[InputRequired(message="Enter how many minutes the session lasts.")],
    )

    def validate_date(self, field):
        parsed = _parse(field.data, ("%Y-%m-%d",))
        if parsed is None:
            raise ValidationError("Enter the date as year-month-day, for example 2026-12-03.")
        if not 2000 <= parsed.year <= 2999:
            # Also keeps the time-zone arithmetic far from datetime's limits (years 1 and 9999).
            raise ValidationError("Check the year.")

    def validate_time(self, field):
        if _parse(field.data, ("%H:%M", "%H:%M:%S")) is None:
            raise ValidationError("Enter the time on a 24-hour clock, for example 09:30 or 14:00.")

    def validate_duration(self, field):
        value = field.data.strip()
        if not (value.isascii() and value.isdigit()) or not MIN_MINUTES <= int(value) <= MAX_MINUTES:
            raise ValidationError(f"Enter a whole number of minutes from {MIN_MINUTES} to {MAX_MINUTES}.")

    @property
    def wall(self) -> dt.datetime:
        """The start as entered: a naive wall-clock time in the clinic's zone."""
        day = _parse(self.date.data, ("%Y-%m-%d",)).date()
        clock = _parse(self.time.data, ("%H:%M", "%H:%M:%S")).time()
        return dt.datetime.combine(day, clock.replace(second=0))

    @property
    def minutes(self) -> int:
        return int(self.duration.data.strip())


class StatusForm(FlaskForm):
    status = HiddenField(validators=[InputRequired()])

    def validate_status(self, field):
        if field.data not in (COMPLETED, NO_SHOW):
            raise ValidationError("Choose completed or no-show.")


def _intention_field(label: str, hint: str) -> TextAreaField:
    return TextAreaField(
        label,
        description=hint,
        filters=[clean_text],
        validators=[Length(max=INTENTION_MAX, message=f"Please keep this to {INTENTION_MAX:,} characters or fewer.")],
    )


class IntentionForm(FlaskForm):
    explore = _intention_field(
        "What do I hope to explore, uncover or resolve?",
        "A question, a feeling, a memory, a pattern: whatever is true.",
    )
    let_go = _intention_field("What would I like to let go of?", "Optional. A worry, a habit, a story about yourself.")
    carry = _intention_field(
        "One sentence to carry in", "Something short to come back to, such as “I am safe to look.”"
    )

    @property
    def texts(self) -> dict[str, str]:
        return {"explore": self.explore.data or "", "let_go": self.let_go.data or "", "carry": self.carry.data or ""}


class PlaylistForm(FlaskForm):
    playlist = RadioField("Music for the room", validate_choice=False)

    def __init__(self, playlists, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.playlist.choices = [("", "No preference: the care team chooses")] + [
            (str(p.id), p.title) for p in playlists
        ]

    def validate_playlist(self, field):
        # One message for nothing chosen, a playlist since retired, or a forged value.
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Choose one of the playlists listed.")

    @property
    def playlist_id(self) -> int | None:
        return int(self.playlist.data) if self.playlist.data else None


class RideForm(FlaskForm):
    ride_name = StringField(
        "Who is taking you home? (optional)",
        filters=[clean_text],
        validators=[Length(max=RIDE_NAME_MAX, message=f"Please keep the name to {RIDE_NAME_MAX} characters.")],
        description="A first name is enough. Your care team sees it on the day.",
    )
    confirmed = BooleanField("Someone will drive me home")

    def __init__(self, *args, confirmed_before: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.confirmed_before = confirmed_before

    def validate_confirmed(self, field):
        # Unticking a confirmed ride withdraws it; leaving an unconfirmed one unticked says nothing.
        if not field.data and not self.confirmed_before:
            raise ValidationError("Tick the box once someone has agreed to take you home.")
