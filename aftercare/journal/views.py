"""The patient's journal pages, the voice-note upload and download, and the JSON endpoint for the outbox."""

import datetime as dt
import uuid

from flask import abort
from flask import Blueprint
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for
from flask_login import current_user

from ..access import patient_for_staff
from ..access import patients_only
from ..access import roles
from ..api.views import body as json_body
from ..api.views import conflict
from ..api.views import invalid
from ..auth.forms import EmptyForm
from ..localtime import to_local
from ..models import AuditEvent
from ..models import CLINICIAN
from ..models import JournalEntry
from ..models import PATIENT
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..models import VoiceNote
from ..safety import CRISIS_PATTERNS
from ..safety import has_crisis_language
from ..selfreports import Conflict
from ..selfreports import Invalid
from . import entries
from . import prompts
from . import voice
from .forms import EditEntryForm
from .forms import EntryForm
from .forms import ShareForm
from .forms import VoiceNoteForm

bp = Blueprint("journal", __name__)

# Row ids in URLs stop at the database's largest integer: a longer one is "not found", not an
# overflow inside the driver (a 500).
ID = "int(max=9223372036854775807)"

SAVED_PRIVATE = "Saved in your journal. Only you can see it until you share it."


def _me() -> User:
    return current_user._get_current_object()


def _own_entry(entry_id: int) -> JournalEntry:
    entry = JournalEntry.get_or_none(JournalEntry.id == entry_id, JournalEntry.patient == _me())
    if entry is None:
        abort(404)
    return entry


def _own_note(note_id: int) -> VoiceNote:
    note = VoiceNote.get_or_none(VoiceNote.id == note_id, VoiceNote.patient == _me())
    if note is None:
        abort(404)
    return note


def _own_session(value) -> TreatmentSession | None:
    """The session a new entry is about: one of the patient's, or none; anyone else's is not found (AC-02)."""
    try:
        return entries.own_session(_me(), value)
    except Invalid:
        abort(404)


def _share_value() -> bool:
    form = ShareForm()
    if not form.validate_on_submit():
        abort(400, "Choose whether to share it or to stop sharing it.")
    return form.share.data == "1"


@bp.route("/journal")
@patients_only
def index():
    before = None
    if request.args.get("before"):
        try:
            before = dt.datetime.fromisoformat(request.args["before"]).replace(tzinfo=None)
        except ValueError:
            abort(400, "That page of your journal could not be found. Go back to the newest entries.")
    items, older = entries.timeline(_me(), before)
    return render_template(
        "journal/index.html", items=items, older=older and older.isoformat(), paged=before is not None
    )


def _new_page(form: EntryForm, prompt: prompts.Prompt, errors: dict, status: int = 200):
    errors = dict(errors)
    voice_error = errors.pop("audio", None)
    return render_template(
        "journal/new.html",
        form=form,
        prompt=prompt,
        entry_error=next(iter(errors.values()), None),
        voice_error=voice_error,
        voice_form=VoiceNoteForm(formdata=None, client_id=str(uuid.uuid4()), session_id=form.session_id.data),
        crisis_patterns=CRISIS_PATTERNS,
        body_max=entries.BODY_MAX,
    ), status


@bp.route("/journal/new", methods=["GET", "POST"])
@patients_only
def new_entry():
    """Write an entry, answering a prompt chosen by where the patient is in their series."""
    me = _me()
    form = EntryForm()
    session = _own_session(form.session_id.data if request.method == "POST" else request.args.get("session"))
    if request.method == "GET":
        prompt = prompts.choose(me, session)
        form.client_id.data = str(uuid.uuid4())
        form.prompt.data = prompt.text
        form.session_id.data = prompt.session.id if prompt.session else ""
        return _new_page(form, prompt, {})
    if not form.validate_on_submit():
        abort(400)
    data = {
        "client_id": form.client_id.data,
        "body": form.body.data,
        "prompt": form.prompt.data,
        "session_id": form.session_id.data,
    }
    try:
        entry, _ = entries.submit(me, data)
    except Invalid as error:
        # The text comes back in the form: nothing the patient wrote is lost to a refusal.
        return _new_page(form, prompts.choose(me, session), error.fields, 422)
    except Conflict:
        flash("That entry was already saved.", "info")
        return redirect(url_for("journal.index"))
    flash(SAVED_PRIVATE, "success")
    if has_crisis_language(entry.body):
        return redirect(url_for("patient.support"))  # CLIN-04
    return redirect(url_for("journal.index", _anchor=f"entry-{entry.id}"))


@bp.route("/api/v1/journal", methods=["POST"])
@patients_only
def api_create():
    """Store a journal entry sent by the offline outbox (or any script); a replay returns the original."""
    try:
        entry, created = entries.submit(_me(), json_body())
    except Invalid as error:
        return invalid(error)
    except Conflict as error:
        return conflict(error)
    return jsonify(entries.entry_json(entry)), 201 if created else 200


@bp.route(f"/journal/<{ID}:entry_id>/edit", methods=["GET", "POST"])
@patients_only
def edit_entry(entry_id):
    me = _me()
    entry = _own_entry(entry_id)
    form = EditEntryForm(obj=entry)
    errors = {}
    if form.validate_on_submit():
        try:
            entry = entries.edit(me, entry, form.body.data)
        except Invalid as error:
            errors = error.fields
        else:
            flash("Your entry is updated.", "success")
            if has_crisis_language(entry.body):
                return redirect(url_for("patient.support"))
            return redirect(url_for("journal.index", _anchor=f"entry-{entry.id}"))
    return render_template(
        "journal/edit.html",
        entry=entry,
        form=form,
        errors=errors,
        delete_form=EmptyForm(formdata=None),
        body_max=entries.BODY_MAX,
    ), 422 if errors else 200


@bp.route(f"/journal/<{ID}:entry_id>/delete", methods=["POST"])
@patients_only
def delete_entry(entry_id):
    entry = _own_entry(entry_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    entries.delete(_me(), entry)
    flash("The entry is deleted.", "success")
    return redirect(url_for("journal.index"))


@bp.route(f"/journal/<{ID}:entry_id>/share", methods=["POST"])
@patients_only
def share_entry(entry_id):
    """Share an entry with the care team, or stop sharing it: one tap (AC-03)."""
    entry = _own_entry(entry_id)
    share = _share_value()
    entries.set_shared(_me(), entry, share)
    flash(
        "Shared with your care team." if share else "No longer shared. Only you can see this entry.",
        "success",
    )
    return redirect(url_for("journal.index", _anchor=f"entry-{entry.id}"))


# --------------------------------------------------------------------------- voice notes


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _voice_refused(message: str, status: int):
    if _wants_json():
        return jsonify(error="This recording could not be saved", message=message, fields={"audio": message}), status
    form = EntryForm(formdata=None, client_id=str(uuid.uuid4()))
    session = _own_session(request.form.get("session_id"))
    prompt = prompts.choose(_me(), session)
    form.prompt.data = prompt.text
    form.session_id.data = prompt.session.id if prompt.session else ""
    return _new_page(form, prompt, {"audio": message}, status)


def note_json(note: VoiceNote) -> dict:
    return {
        "client_id": note.client_id,
        "id": note.id,
        "url": url_for("journal.voice_file", note_id=note.id),
        "mime": note.mime,
        "size": note.size,
        "duration": note.duration_seconds,
        "session_id": note.session_id,
        "shared": note.shared_at is not None,
        "created_at": entries.iso(note.created_at),
    }


@bp.route("/journal/voice", methods=["POST"])
@patients_only
def upload_voice():
    """Keep a recorded voice note (UP-01): from the page's recorder, or a file chosen on the phone."""
    me = _me()
    form = VoiceNoteForm()
    upload = request.files.get("audio")
    if upload is None or not upload.filename:
        return _voice_refused("Record a voice note, or choose a recording, first.", 422)
    # One byte past the limit is enough to know it is too large.
    data = upload.stream.read(voice.MAX_BYTES + 1)
    try:
        session = entries.own_session(me, form.session_id.data)
        note, created = voice.store(
            me, data, client_id=form.client_id.data, declared_duration=form.duration.data, session=session
        )
    except voice.VoiceError as error:
        return _voice_refused(error.message, error.status)
    except Invalid as error:
        return _voice_refused(" ".join(error.fields.values()), 422)
    except Conflict:
        return _voice_refused("This recording was already saved as a different one. Please reload the page.", 422)
    if _wants_json():
        return jsonify(note_json(note)), 201 if created else 200
    flash("Your voice note is saved. Only you can hear it until you share it.", "success")
    return redirect(url_for("journal.index", _anchor=f"voice-{note.id}"))


# An <audio> element fetches a file as several byte ranges, and seeking fetches more: one row per
# clinician and voice note within this time is one listen, however the bytes were asked for.
LISTEN_WINDOW = dt.timedelta(minutes=10)


def _audit_download(viewer: User, patient: User, note: VoiceNote) -> None:
    """Write the audit row for a clinician hearing or downloading a voice note (LOG-01).

    Every request that returns audio counts, whichever range it asks for: only a repeat within
    LISTEN_WINDOW of a row already written for the same clinician and note is not written again.
    """
    detail = f"voice note {note.id}"
    recent = AuditEvent.select().where(
        AuditEvent.action == "voice_note_downloaded",
        AuditEvent.actor_id == viewer.id,
        AuditEvent.detail == detail,
        AuditEvent.at >= utcnow() - LISTEN_WINDOW,
    )
    if not recent.exists():
        AuditEvent.record("voice_note_downloaded", actor=viewer, patient=patient, detail=detail)


@bp.route(f"/journal/voice/<{ID}:note_id>")
@roles(PATIENT, CLINICIAN)
def voice_file(note_id):
    """Send a voice note to its owner, or to their care team once shared; to anyone else it does not exist."""
    me = _me()
    if me.role == PATIENT:
        note, owner = _own_note(note_id), me
    else:
        note = VoiceNote.get_or_none(VoiceNote.id == note_id, VoiceNote.shared_at.is_null(False))
        if note is None:
            abort(404)
        owner = patient_for_staff(note.patient_id)
    path = voice.path_of(note)
    if not path.is_file():
        abort(404)
    if me.role == CLINICIAN:
        _audit_download(me, owner, note)
    day = to_local(note.created_at, owner.timezone).strftime("%Y-%m-%d")
    response = send_file(
        path,
        mimetype=note.mime,
        as_attachment=True,
        download_name=f"voice-note-{day}-{note.id}.{voice.EXTENSIONS[note.mime]}",
        conditional=True,
        etag=False,
        max_age=None,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route(f"/journal/voice/<{ID}:note_id>/share", methods=["POST"])
@patients_only
def share_voice(note_id):
    note = _own_note(note_id)
    share = _share_value()
    entries.set_shared(_me(), note, share)
    flash(
        "Shared with your care team." if share else "No longer shared. Only you can hear this voice note.",
        "success",
    )
    return redirect(url_for("journal.index", _anchor=f"voice-{note.id}"))


@bp.route(f"/journal/voice/<{ID}:note_id>/delete", methods=["POST"])
@patients_only
def delete_voice(note_id):
    note = _own_note(note_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    voice.delete(_me(), note)
    flash("The voice note is deleted.", "success")
    return redirect(url_for("journal.index"))
