"""The patient's journal pages, the voice-note upload and download, the pictures in entries, and the JSON
endpoint for the outbox."""

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

from ..access import get_object_or_404
from ..access import patient_for_staff
from ..access import patients_only
from ..access import roles
from ..exports import iso
from ..forms import EmptyForm
from ..idempotency import Conflict
from ..inputs import Invalid
from ..inputs import json_body
from ..localtime import to_local
from ..models import CLINICIAN
from ..models import JournalEntry
from ..models import JournalImage
from ..models import PATIENT
from ..models import TreatmentSession
from ..models import User
from ..models import VoiceNote
from ..pages import button
from ..pages import stored
from ..safety import has_crisis_language
from . import entries
from . import images
from . import prompts
from . import voice
from .forms import EditEntryForm
from .forms import EntryForm
from .forms import ShareForm
from .forms import VoiceNoteForm

bp = Blueprint("journal", __name__)

SAVED_PRIVATE = "Saved in your journal. Only you can see it until you share it."


def _me() -> User:
    return current_user._get_current_object()


def _own_entry(entry_id: int) -> JournalEntry:
    return get_object_or_404(JournalEntry, JournalEntry.id == entry_id, JournalEntry.patient == _me())


def _own_note(note_id: int) -> VoiceNote:
    return get_object_or_404(VoiceNote, VoiceNote.id == note_id, VoiceNote.patient == _me())


def _own_session(value) -> TreatmentSession | None:
    """The session a new entry is about: one of the patient's, or none; anyone else's is not found (AC-02)."""
    try:
        return entries.own_session(_me(), value)
    except Invalid:
        abort(404)


def _share(item: JournalEntry | VoiceNote, anchor: str, private: str):
    """Share an entry or a voice note with the care team, or stop sharing it: one tap (AC-03)."""
    form = ShareForm()
    if not form.validate_on_submit():
        abort(400, "Choose whether to share it or to stop sharing it.")
    share = form.share.data == "1"
    entries.set_shared(_me(), item, share)
    flash("Shared with your care team." if share else f"No longer shared. {private}", "success")
    return redirect(url_for("journal.index", _anchor=anchor))


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
    image_error = errors.pop("images", None)
    return render_template(
        "journal/new.html",
        form=form,
        prompt=prompt,
        entry_error=next(iter(errors.values()), None),
        image_error=image_error,
        image_max=images.MAX_PER_ENTRY,
        voice_error=voice_error,
        voice_form=VoiceNoteForm(formdata=None, client_id=str(uuid.uuid4()), session_id=form.session_id.data),
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
        entry, _ = entries.submit(me, data, _uploads())
    except Invalid as error:
        # The text comes back in the form: nothing the patient wrote is lost to a refusal. (A file
        # field cannot be filled again by the server: the message says which picture to choose again.)
        status = error.status if isinstance(error, images.ImageError) else 422
        return _new_page(form, prompts.choose(me, session), error.fields, status)
    except Conflict:
        flash("That entry was already saved.", "info")
        return redirect(url_for("journal.index"))
    flash(SAVED_PRIVATE, "success")
    if has_crisis_language(entry.body):
        return redirect(url_for("patient.support"))  # CLIN-04
    return redirect(url_for("journal.index", _anchor=f"entry-{entry.id}"))


def _uploads() -> list[images.Upload]:
    """The pictures sent with an entry, in the order they were added: `photo` and `drawing` file fields.
    A file field left empty (a form posted without choosing a picture) is no picture."""
    uploads = []
    for field, upload in request.files.items(multi=True):
        if field not in images.IMAGE_KINDS:
            continue
        # One byte past the limit is enough to know it is too large.
        data = upload.stream.read(images.MAX_BYTES + 1)
        if data or upload.filename:
            uploads.append(images.Upload(field, data))
    return uploads


@bp.route("/api/v1/journal", methods=["POST"])
@patients_only
def api_create():
    """Store a journal entry sent by the offline outbox (or any script); a replay returns the original.

    JSON for words alone; multipart/form-data (the same fields, and `photo` and `drawing` files) for an
    entry with pictures."""
    if request.mimetype != "multipart/form-data":
        return stored(entries.submit(_me(), json_body()), entries.entry_json)
    data = {name: request.form.get(name) for name in ("client_id", "body", "prompt", "session_id")}
    try:
        return stored(entries.submit(_me(), data, _uploads()), entries.entry_json)
    except images.ImageError as error:
        return jsonify(
            error="This picture could not be saved", message=error.message, fields=error.fields
        ), error.status


@bp.route("/journal/<int:entry_id>/edit", methods=["GET", "POST"])
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
        body_max=entries.BODY_MAX,
        delete_form=EmptyForm(formdata=None),
        entry=entry,
        images=images.for_entries([entry.id]).get(entry.id, []),
        form=form,
        errors=errors,
    ), 422 if errors else 200


@bp.route("/journal/<int:entry_id>/delete", methods=["POST"])
@patients_only
def delete_entry(entry_id):
    entry = _own_entry(entry_id)
    return button(lambda: entries.delete(_me(), entry), "The entry is deleted.", url_for("journal.index"))


@bp.route("/journal/images/<int:image_id>")
@roles(PATIENT, CLINICIAN)
def image_file(image_id):
    """Send a picture to its owner, or to their care team once its entry is shared; to anyone else it does not exist."""
    me = _me()
    if me.role == PATIENT:
        image, owner = get_object_or_404(JournalImage, JournalImage.id == image_id, JournalImage.patient == me), me
    else:
        image = get_object_or_404(
            JournalImage.select().join(JournalEntry).where(JournalEntry.shared_at.is_null(False)),
            JournalImage.id == image_id,
        )
        owner = patient_for_staff(image.patient_id)
    path = images.path_of(image)
    if not path.is_file():
        abort(404)
    if me.role == CLINICIAN:
        images.record_view(me, owner, image)
    day = to_local(image.created_at, owner.timezone).strftime("%Y-%m-%d")
    response = send_file(
        path,
        mimetype=image.mime,
        download_name=f"{image.kind}-{day}-{image.id}.{images.EXTENSIONS[image.mime]}",
        conditional=False,
        etag=False,
        max_age=None,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/journal/<int:entry_id>/share", methods=["POST"])
@patients_only
def share_entry(entry_id):
    entry = _own_entry(entry_id)
    return _share(entry, f"entry-{entry.id}", "Only you can see this entry.")


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
        "created_at": iso(note.created_at),
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


@bp.route("/journal/voice/<int:note_id>")
@roles(PATIENT, CLINICIAN)
def voice_file(note_id):
    """Send a voice note to its owner, or to their care team once shared; to anyone else it does not exist."""
    me = _me()
    if me.role == PATIENT:
        note, owner = _own_note(note_id), me
    else:
        note = get_object_or_404(VoiceNote, VoiceNote.id == note_id, VoiceNote.shared_at.is_null(False))
        owner = patient_for_staff(note.patient_id)
    path = voice.path_of(note)
    if not path.is_file():
        abort(404)
    if me.role == CLINICIAN:
        voice.record_listen(me, owner, note)
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


@bp.route("/journal/voice/<int:note_id>/share", methods=["POST"])
@patients_only
def share_voice(note_id):
    note = _own_note(note_id)
    return _share(note, f"voice-{note.id}", "Only you can hear this voice note.")


@bp.route("/journal/voice/<int:note_id>/delete", methods=["POST"])
@patients_only
def delete_voice(note_id):
    note = _own_note(note_id)
    return button(lambda: voice.delete(_me(), note), "The voice note is deleted.", url_for("journal.index"))
