"""Voice notes: checking recorded audio and keeping it outside the web root (UP-01).

A file is accepted for what its bytes are, never for the type or name the browser gives it:
WebM/Matroska (EBML magic 1A 45 DF A3), Ogg ("OggS") or MP4 ("ftyp" at offset 4). Its length
is read from the file where we can:

- MP4: the movie header (mvhd), or the fragments' sample durations (MediaRecorder writes
  fragmented MP4, whose header says 0);
- Ogg: the granule position of the last page (Opus at 48 kHz less its pre-skip, or Vorbis's rate);
- WebM: the Info Duration element, or the last block's timestamp. MediaRecorder streams WebM
  and never goes back to write Duration, but every block carries its time, so this still works.

Only when none of that can be read (a truncated or unusual file) does the browser's own
measurement count, and then only if the size is plausible for it: at most PLAUSIBLE_BYTES_PER_SECOND.
That bounds the bytes, not the time: a very low bit-rate file could claim to be shorter than it
is. It still cannot be larger than MAX_BYTES.
"""

import datetime as dt
import hashlib
import math
import os
import secrets
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from ..db import db
from ..idempotency import find
from ..idempotency import store_once
from ..inputs import client_id as parse_client_id
from ..inputs import Invalid
from ..models import AuditEvent
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..models import VoiceNote

MAX_BYTES = 10 * 1024 * 1024
MAX_SECONDS = 5 * 60
# The recorder stops itself at five minutes, a frame or two late: that much is not "over".
SLACK_SECONDS = 1.0
# MediaRecorder's Opus runs at 32-128 kb/s (we ask for 64); 320 kb/s is a generous ceiling.
PLAUSIBLE_BYTES_PER_SECOND = 40_000
PLAUSIBLE_OVERHEAD = 64 * 1024

WEBM, OGG, MP4 = "audio/webm", "audio/ogg", "audio/mp4"
EXTENSIONS = {WEBM: "webm", OGG: "ogg", MP4: "m4a"}
# ISO base media files that are pictures, not sound (HEIF, AVIF, ...).
IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis", b"crx "}

TOO_LARGE = "This recording is larger than 10 MiB, so it cannot be kept. Please record a shorter voice note."
NOT_AUDIO = (
    "This file is not a recording aftercare can keep. Voice notes must be WebM, Ogg or MP4 audio; "
    "please record one on this page."
)


class VoiceError(Invalid):
    """A recording that cannot be kept; `status` is 413 for size, 422 otherwise."""

    def __init__(self, message: str, status: int = 422):
        super().__init__({"audio": message})
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Probe:
    """What a file's own bytes say about it."""

    duration: float | None = None  # seconds, or None if it could not be read
    video: bool = False


def sniff(data: bytes) -> str | None:
    """Return the audio type the file's magic bytes name, or None."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return WEBM
    if data[:4] == b"OggS":
        return OGG
    if data[4:8] == b"ftyp" and data[8:12] not in IMAGE_BRANDS:
        return MP4
    return None


# --------------------------------------------------------------------------- WebM / Matroska

EBML_HEADER, DOC_TYPE = 0x1A45DFA3, 0x4282
SEGMENT, INFO, TIMECODE_SCALE, DURATION = 0x18538067, 0x1549A966, 0x2AD7B1, 0x4489
TRACKS, TRACK_ENTRY, TRACK_TYPE = 0x1654AE6B, 0xAE, 0x83
CLUSTER, CLUSTER_TIMECODE, SIMPLE_BLOCK, BLOCK_GROUP, BLOCK = 0x1F43B675, 0xE7, 0xA3, 0xA0, 0xA1
EBML_MASTERS = {EBML_HEADER, SEGMENT, INFO, TRACKS, TRACK_ENTRY, CLUSTER, BLOCK_GROUP}
# A live recording writes the Segment and its Clusters with "unknown size": such a Cluster ends
# where the next element that belongs to the Segment begins.
SEGMENT_CHILDREN = {0x114D9B74, INFO, TRACKS, CLUSTER, 0x1C53BB6B, 0x1254C367, 0x1043A770, 0x1941A469}
VIDEO_TRACK = 1


def _vint(data: bytes, pos: int, *, marker: bool) -> tuple[int, int, bool]:
    """Read an EBML variable-length integer; return (value, next position, all-ones)."""
    first = data[pos]
    if first == 0:
        raise ValueError("EBML integer longer than 8 bytes")
    length = 9 - first.bit_length()
    if pos + length > len(data):
        raise ValueError("truncated")
    value = first if marker else first & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, pos + length, not marker and value == (1 << (7 * length)) - 1


def probe_webm(data: bytes) -> Probe:
    scale = 1_000_000  # nanoseconds per tick, unless Info says otherwise
    declared = None
    cluster_time = 0
    last_tick = None
    video = False
    stack: list[tuple[int, int | None]] = []  # open masters: (id, end or None for unknown size)
    pos = 0
    try:
        while pos < len(data):
            while stack and stack[-1][1] is not None and pos >= stack[-1][1]:
                stack.pop()
            element, after_id, _ = _vint(data, pos, marker=True)
            size, start, unknown = _vint(data, after_id, marker=False)
            if stack and stack[-1] == (CLUSTER, None) and element in SEGMENT_CHILDREN:
                stack.pop()
            if element in EBML_MASTERS:
                stack.append((element, None if unknown else start + size))
                pos = start
                continue
            if unknown:
                break
            payload = data[start : start + size]
            if element == DOC_TYPE and payload.rstrip(b"\0") not in (b"webm", b"matroska"):
                break
            if element == TIMECODE_SCALE and 0 < size <= 8:
                scale = int.from_bytes(payload, "big") or scale
            elif element == DURATION and size in (4, 8) and len(payload) == size:
                declared = struct.unpack(">f" if size == 4 else ">d", payload)[0]
            elif element == TRACK_TYPE and int.from_bytes(payload, "big") == VIDEO_TRACK:
                video = True
            elif element == CLUSTER_TIMECODE and 0 < size <= 8:
                cluster_time = int.from_bytes(payload, "big")
            elif element in (SIMPLE_BLOCK, BLOCK) and len(payload) >= 4:
                _, offset, _ = _vint(payload, 0, marker=False)  # the track number
                if offset + 2 <= len(payload):
                    relative = struct.unpack(">h", payload[offset : offset + 2])[0]
                    tick = cluster_time + relative
                    last_tick = tick if last_tick is None else max(last_tick, tick)
            pos = start + size
    except (ValueError, IndexError, struct.error):
        pass  # what was read before the damage still counts
    readings = [d * scale / 1e9 for d in (declared, last_tick) if d is not None and math.isfinite(d) and d >= 0]
    return Probe(duration=max(readings) if readings else None, video=video)


# --------------------------------------------------------------------------- Ogg


def probe_ogg(data: bytes) -> Probe:
    serial = rate = last_granule = None
    pre_skip = 0
    video = False
    pos = 0
    while pos + 27 <= len(data) and data[pos : pos + 4] == b"OggS":
        header_type = data[pos + 5]
        granule = int.from_bytes(data[pos + 6 : pos + 14], "little", signed=True)
        page_serial = data[pos + 14 : pos + 18]
        segments = data[pos + 26]
        table = data[pos + 27 : pos + 27 + segments]
        body_start = pos + 27 + segments
        body = data[body_start : body_start + sum(table)]
        if header_type & 0x02:  # the first page of a stream names its codec
            if body.startswith((b"\x80theora", b"\x80daala")):
                video = True
            if serial is None and body.startswith(b"OpusHead") and len(body) >= 12:
                serial, rate = page_serial, 48_000
                pre_skip = int.from_bytes(body[10:12], "little")
            elif serial is None and body.startswith(b"\x01vorbis") and len(body) >= 16:
                serial, rate = page_serial, int.from_bytes(body[12:16], "little")
        if page_serial == serial and granule >= 0:
            last_granule = granule
        pos = body_start + sum(table)
    if not rate or last_granule is None:
        return Probe(video=video)
    return Probe(duration=max(0, last_granule - pre_skip) / rate, video=video)


# --------------------------------------------------------------------------- MP4


def _boxes(data: bytes, start: int, end: int):
    """Yield (type, payload start, payload end) for each box between start and end."""
    pos = start
    while pos + 8 <= end:
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if size == 1 and pos + 16 <= end:
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, min(pos + size, end)
        pos += size


def _full_box(data: bytes, start: int) -> tuple[int, int, int]:
    """Return (version, flags, body start) of a full box."""
    return data[start], int.from_bytes(data[start + 1 : start + 4], "big"), start + 4


def _uint(data: bytes, pos: int, size: int) -> int:
    if pos + size > len(data):
        raise ValueError("truncated")
    return int.from_bytes(data[pos : pos + size], "big")


def probe_mp4(data: bytes) -> Probe:
    movie_scale = movie_duration = fragment_duration = 0
    track_scale: dict[int, int] = {}  # track id -> media timescale
    default_duration: dict[int, int] = {}  # track id -> default sample duration (trex)
    track_end: dict[int, int] = {}  # track id -> end of the last fragment, in media ticks
    video = False
    try:
        for kind, start, end in _boxes(data, 0, len(data)):
            if kind == b"moov":
                for child, c_start, c_end in _boxes(data, start, end):
                    if child == b"mvhd":
                        version, _, body = _full_box(data, c_start)
                        width = 8 if version == 1 else 4
                        movie_scale = _uint(data, body + 2 * width, 4)
                        movie_duration = _uint(data, body + 2 * width + 4, width)
                    elif child == b"trak":
                        video |= _read_track(data, c_start, c_end, track_scale)
                    elif child == b"mvex":
                        for grand, g_start, _ in _boxes(data, c_start, c_end):
                            version, _, body = _full_box(data, g_start)
                            if grand == b"mehd":
                                fragment_duration = _uint(data, body, 8 if version == 1 else 4)
                            elif grand == b"trex":
                                default_duration[_uint(data, body, 4)] = _uint(data, body + 8, 4)
            elif kind == b"moof":
                for child, c_start, c_end in _boxes(data, start, end):
                    if child == b"traf":
                        _read_fragment(data, c_start, c_end, default_duration, track_end)
    except (ValueError, IndexError):
        pass
    readings = []
    if movie_scale and movie_duration:
        readings.append(movie_duration / movie_scale)
    if movie_scale and fragment_duration:
        readings.append(fragment_duration / movie_scale)
    readings += [ticks / track_scale[track] for track, ticks in track_end.items() if track_scale.get(track)]
    return Probe(duration=max(readings) if readings else None, video=video)


def _read_track(data: bytes, start: int, end: int, track_scale: dict[int, int]) -> bool:
    """Note a track's media timescale; return True if it is video."""
    track_id = scale = 0
    handler = b""
    for kind, k_start, k_end in _boxes(data, start, end):
        if kind == b"tkhd":
            version, _, body = _full_box(data, k_start)
            track_id = _uint(data, body + (16 if version == 1 else 8), 4)
        elif kind == b"mdia":
            for child, c_start, _ in _boxes(data, k_start, k_end):
                version, _, body = _full_box(data, c_start)
                if child == b"mdhd":
                    scale = _uint(data, body + (16 if version == 1 else 8), 4)
                elif child == b"hdlr":
                    handler = data[body + 4 : body + 8]
    if track_id and scale:
        track_scale[track_id] = scale
    return handler == b"vide"


def _read_fragment(data, start, end, default_duration, track_end) -> None:
    track_id = base = 0
    sample_duration = None
    total = 0
    for kind, k_start, k_end in _boxes(data, start, end):
        version, flags, body = _full_box(data, k_start)
        if kind == b"tfhd":
            track_id = _uint(data, body, 4)
            pos = body + 4 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
            if flags & 0x08:
                sample_duration = _uint(data, pos, 4)
        elif kind == b"tfdt":
            base = _uint(data, body, 8 if version == 1 else 4)
        elif kind == b"trun":
            count = _uint(data, body, 4)
            pos = body + 4 + (4 if flags & 0x01 else 0) + (4 if flags & 0x04 else 0)
            fixed = sample_duration if sample_duration is not None else default_duration.get(track_id, 0)
            if not flags & 0x100:
                total += count * fixed
                continue
            stride = 4 * sum(1 for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit)
            # Only the samples that fit in this box: a forged count must not turn a 10 MiB
            # upload into billions of reads (each box's samples are read once, so the whole
            # walk is bounded by the file's size).
            count = min(count, max(0, (k_end - pos) // stride))
            for n in range(count):
                total += _uint(data, pos + n * stride, 4)
    if track_id:
        track_end[track_id] = max(track_end.get(track_id, 0), base + total)


PROBES = {WEBM: probe_webm, OGG: probe_ogg, MP4: probe_mp4}


# --------------------------------------------------------------------------- checking


def _declared_seconds(value) -> float | None:
    if value in (None, ""):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise VoiceError("The length of the recording is not a number of seconds.") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise VoiceError("The length of the recording is not a number of seconds.")
    return seconds


def _minutes(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def check(data: bytes, declared_duration=None) -> tuple[str, float]:
    """Check a recording; return (its audio type, its length in seconds). Raise VoiceError if it cannot be kept."""
    if len(data) > MAX_BYTES:
        raise VoiceError(TOO_LARGE, 413)
    if not data:
        raise VoiceError("The recording is empty. Please record your voice note again.")
    declared = _declared_seconds(declared_duration)
    mime = sniff(data[:16])
    if mime is None:
        raise VoiceError(NOT_AUDIO)
    probe = PROBES[mime](data)
    if probe.video:
        raise VoiceError("This file holds video. Only voice recordings can be kept here.")
    duration = probe.duration
    if duration is None:
        if declared is None:
            raise VoiceError("aftercare could not tell how long this recording is. Please record it on this page.")
        if len(data) > PLAUSIBLE_OVERHEAD + declared * PLAUSIBLE_BYTES_PER_SECOND:
            raise VoiceError(
                f"This file is too large for a recording of {_minutes(declared)}. Please record the voice note again."
            )
        duration = declared
    if duration > MAX_SECONDS + SLACK_SECONDS:
        raise VoiceError(f"Voice notes can be up to 5 minutes long; this one is {_minutes(duration)}.")
    return mime, round(min(duration, MAX_SECONDS), 3)


# --------------------------------------------------------------------------- storing


def voice_dir() -> Path:
    """Return the folder for voice notes: outside the web root (the instance folder, or VOICE_DIR)."""
    configured = current_app.config.get("VOICE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "voice"


def path_of(note: VoiceNote) -> Path:
    return voice_dir() / note.stored_name


def write_private(directory: Path, data: bytes) -> Path:
    """Write a file under a new random name, durably, readable by this user only (voice notes, journal pictures)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    # The name must survive a power cut as well as the bytes (DUR-07).
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def _same_recording(note: VoiceNote, data: bytes) -> bool:
    if note.size != len(data):
        return False
    try:
        stored = path_of(note).read_bytes()
    except OSError:
        return False
    return hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()


def store(
    patient: User,
    data: bytes,
    *,
    client_id,
    declared_duration=None,
    session: TreatmentSession | None = None,
) -> tuple[VoiceNote, bool]:
    """Keep a voice note once; return (note, created). A replay of the same recording returns the original."""
    try:
        key = parse_client_id(client_id)
    except Invalid:
        raise VoiceError("This recording has no valid id. Please reload the page and try again.") from None
    if len(data) > MAX_BYTES:
        raise VoiceError(TOO_LARGE, 413)
    same = lambda note: _same_recording(note, data)  # noqa: E731
    # Looked up before the file is written, so a replayed upload costs no disk write.
    existing = find(VoiceNote, patient, key, same)
    if existing is not None:
        return existing, False
    mime, duration = check(data, declared_duration)
    path = write_private(voice_dir(), data)

    row = {"session": session, "stored_name": path.name, "mime": mime, "size": len(data), "duration_seconds": duration}

    def recorded(note: VoiceNote) -> None:
        AuditEvent.record("voice_note_recorded", actor=patient, patient=patient, detail=f"voice note {note.id}")

    try:
        note, created = store_once(VoiceNote, patient, key, same, row, recorded)
    except BaseException:
        # No row, no file: a recording is either kept whole or not at all.
        path.unlink(missing_ok=True)
        raise
    if not created:
        path.unlink(missing_ok=True)  # the same upload arrived twice at once: the other one is kept
    return note, created


# An <audio> element fetches a file as several byte ranges, and seeking fetches more: one row per
# clinician and voice note within this time is one listen, however the bytes were asked for.
LISTEN_WINDOW = dt.timedelta(minutes=10)


def record_listen(viewer: User, patient: User, note: VoiceNote) -> None:
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


def delete(patient: User, note: VoiceNote) -> None:
    """Delete a voice note: the row, then its file."""
    path = path_of(note)
    with db.atomic():
        VoiceNote.delete().where(VoiceNote.id == note.id).execute()
        AuditEvent.record("voice_note_deleted", actor=patient, patient=patient, detail=f"voice note {note.id}")
    # After the commit: a failure here leaves an orphan file for remove_orphans, never a row without audio.
    path.unlink(missing_ok=True)


def remove_orphans(older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Delete audio files no voice note points to (a crash between write and commit, purged accounts)."""
    known = {name for (name,) in VoiceNote.select(VoiceNote.stored_name).tuples()}
    return remove_unknown_files(voice_dir(), known, older_than)


def remove_unknown_files(directory: Path, known: set[str], older_than: dt.timedelta) -> int:
    """Delete the files in a private folder whose names are not `known`; return how many.

    Files younger than `older_than` are left alone: their upload may still be committing.
    """
    if not directory.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for path in directory.iterdir():
        if path.is_file() and path.name not in known and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
