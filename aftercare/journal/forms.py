"""Forms for the journal. They carry the CSRF token and the fields; the rules live in entries and voice,
so an entry is checked the same way whether it comes from a form or from the offline outbox."""

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms import TextAreaField
from wtforms.validators import AnyOf
from wtforms.validators import InputRequired

from .entries import BODY_MAX


class EntryForm(FlaskForm):
    body = TextAreaField("Your reflection", render_kw={"rows": 10, "maxlength": BODY_MAX})
    client_id = HiddenField()
    prompt = HiddenField()
    session_id = HiddenField()


class EditEntryForm(FlaskForm):
    body = TextAreaField("Your reflection", render_kw={"rows": 12, "maxlength": BODY_MAX})


class ShareForm(FlaskForm):
    """One tap: the button says which way (share or stop sharing), so a double tap does not undo it."""

    share = HiddenField(validators=[InputRequired(), AnyOf(["1", "0"])])


class VoiceNoteForm(FlaskForm):
    """The recorder's upload (journal.js), and the plain file upload for browsers without MediaRecorder.
    The file itself (`audio`) is read and checked by voice.store, by its bytes."""

    client_id = HiddenField()
    duration = HiddenField()
    session_id = HiddenField()
