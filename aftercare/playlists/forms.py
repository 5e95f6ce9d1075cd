"""Forms for curating playlists, and the rules for a track's length and link."""

import re
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import SelectChoice
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import URLField
from wtforms import ValidationError
from wtforms.validators import AnyOf
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from ..inputs import clean_text
from ..models import PLAYLIST_PURPOSES

MAX_TRACK_SECONDS = 3 * 60 * 60
MAX_LINK_LENGTH = 500
# Minutes may run past 59 ("75:00") unless hours are given ("1:15:00"); seconds always take two digits,
# so "4:5" (4:05 or 4:50?) is refused rather than guessed. ASCII digits only: \d would admit "٤:٠٥".
DURATION_RE = re.compile(r"(?:([0-9]{1,2}):)?([0-9]{1,3}):([0-5][0-9])")


def parse_duration(text: str) -> int:
    """Return a track length written as m:ss or h:mm:ss in seconds, or raise ValueError with a message."""
    match = DURATION_RE.fullmatch((text or "").strip())
    if match is None:
        raise ValueError("Write the length as minutes:seconds, such as 4:05.")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    if match.group(1) is not None and minutes > 59:
        raise ValueError("With hours, minutes go up to 59, such as 1:02:30.")
    total = hours * 3600 + minutes * 60 + seconds
    if not 1 <= total <= MAX_TRACK_SECONDS:
        raise ValueError("A track lasts between 1 second and 3 hours.")
    return total


def format_duration(seconds: int) -> str:
    """Return a track length as m:ss, or h:mm:ss from an hour up."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def format_total(seconds: int) -> str:
    """Return a playlist's running time in words, such as "1 h 12 min" or "48 min"."""
    minutes = round(seconds / 60)
    if seconds and not minutes:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def check_link(url: str) -> str:
    """Return the link if it is an https address with a host and no credentials, or raise ValueError."""
    if len(url) > MAX_LINK_LENGTH:
        raise ValueError(f"A link can be at most {MAX_LINK_LENGTH} characters. Try the streaming service's share link.")
    # Browsers read a backslash as a slash and drop tabs and newlines, so they could
    # open a different host than the one we parse and show as "Listen on …".
    if any(c.isspace() or c == "\\" or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError("A link cannot contain spaces or backslashes. Copy it again from the streaming service.")
    parts = urlsplit(url)
    if parts.scheme == "http":
        raise ValueError("Only secure links are accepted: use the address that starts with https://.")
    if parts.scheme != "https":
        raise ValueError("Only https:// links to a streaming service are accepted.")
    if "@" in parts.netloc:
        raise ValueError("Links with a user name or password in them are not accepted.")
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number in range
    except ValueError:
        raise ValueError("The link's port is not valid.") from None
    if not parts.hostname:
        raise ValueError("This link has no website in it. It should look like https://open.spotify.com/…")
    return url


def link_host(url: str) -> str | None:
    """Return the host to name in "Listen on …" for a safe https link, or None for anything else."""
    try:
        check_link(url or "")
    except ValueError:
        return None
    host = urlsplit(url).hostname
    return host.removeprefix("www.")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _required(label: str, message: str, max_length: int) -> StringField:
    return StringField(label, validators=[DataRequired(message), Length(max=max_length)], filters=[_strip])


class PlaylistDetailsForm(FlaskForm):
    title = _required("Title", "Give the playlist a title.", 120)
    purpose = SelectField(
        "Purpose",
        choices=[SelectChoice(key, label) for key, label in PLAYLIST_PURPOSES.items()],
        validate_choice=False,
        validators=[AnyOf(list(PLAYLIST_PURPOSES), message="Choose preparation, session or integration.")],
        description="Patients choose session playlists for the treatment room.",
    )
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=2000)],
        filters=[clean_text],
        description="What it feels like and when it helps. Patients see this. Up to 2,000 characters.",
    )


def _valid_duration(form, field):
    try:
        form.seconds = parse_duration(field.data)
    except ValueError as error:
        raise ValidationError(str(error)) from None


def _valid_link(form, field):
    if field.data:
        try:
            check_link(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class TrackForm(FlaskForm):
    title = _required("Track title", "Give the track's title.", 200)
    artist = _required("Artist or composer", "Give the artist or composer.", 200)
    duration = StringField(
        "Length",
        validators=[DataRequired("Give the track's length, such as 4:05."), _valid_duration],
        filters=[_strip],
        description="Minutes and seconds, such as 4:05; 1:02:30 for over an hour.",
    )
    url = URLField(
        "Link (optional)",
        validators=[Optional(), _valid_link],
        filters=[_strip],
        description="An https:// link to the track on a streaming service.",
    )
    seconds: int | None = None

    @property
    def track(self) -> dict:
        """The track as curation stores it: title, artist, length in seconds, link."""
        return {
            "title": self.title.data,
            "artist": self.artist.data,
            "seconds": self.seconds,
            "url": self.url.data or "",
        }
