"""Pictures and drawings in journal entries: re-encoded on arrival, kept outside the web root (UP-02).

Nothing the phone sends is kept as it came. Each file goes through `prepare`:

1. at most MAX_BYTES (413), and at most MAX_PER_ENTRY in one entry;
2. opened by its bytes, as JPEG, PNG or WebP only (the name and type the browser gives are ignored);
3. its width and height read from the header before a single pixel is decoded: more than MAX_PIXELS
   is refused, so a decompression bomb (a 20,000 x 20,000 PNG is a few kilobytes) never reaches
   memory; Pillow's own DecompressionBombWarning is an error here too;
4. decoded (the first frame only), turned the way the camera's EXIF Orientation says, colours taken
   from its ICC profile into sRGB, transparency laid on white, and shrunk to at most LONG_SIDE pixels
   on its long side;
5. saved fresh: a photo as JPEG, a drawing as PNG (as JPEG if that PNG would be over DRAWING_PNG_MAX,
   which a photo passed off as a drawing is). Nothing from the original's metadata is passed on: no
   EXIF (so no GPS position, camera or time), no ICC profile, XMP or comments.

The entry and its pictures are stored together by `entries.submit`, once per client id: the files
are written and synced first, then the entry's row and its pictures' rows are one transaction. A
file without a row (a crash between the two) is removed later by `remove_orphans`.
"""

import datetime as dt
import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image
from PIL import ImageCms
from PIL import ImageOps

from ..inputs import Invalid
from ..models import AuditEvent
from ..models import IMAGE_KINDS
from ..models import JournalEntry
from ..models import JournalImage
from ..models import User
from ..models import utcnow
from .voice import remove_unknown_files
from .voice import write_private

PHOTO, DRAWING = "photo", "drawing"
MAX_BYTES = 10 * 1024 * 1024  # each file as sent
MAX_PER_ENTRY = 4
MAX_PIXELS = 40_000_000  # a 48-megapixel phone's full-size photo is refused; its usual 12 MP is not
LONG_SIDE = 2048
JPEG_QUALITY = 85
DRAWING_PNG_MAX = 2 * 1024 * 1024
FORMATS = ("JPEG", "PNG", "WEBP")
JPEG, PNG = "image/jpeg", "image/png"
EXTENSIONS = {JPEG: "jpg", PNG: "png"}
WHITE = (255, 255, 255)

NOT_AN_IMAGE = (
    "This file is not a picture aftercare can keep. Pictures must be JPEG, PNG or WebP; "
    "please choose another one, or take a photo."
)
TOO_LARGE = "This picture is larger than 10 MiB, so it cannot be kept. Please choose a smaller one."
TOO_MANY = f"An entry can hold up to {MAX_PER_ENTRY} pictures or drawings. Please leave some for another entry."


class ImageError(Invalid):
    """A picture that cannot be kept; `status` is 413 for size, 422 otherwise."""

    def __init__(self, message: str, status: int = 422):
        super().__init__({"images": message})
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Upload:
    """A file as the phone sent it, with what the patient made it as (a photo or a drawing)."""

    kind: str
    data: bytes

    @property
    def fingerprint(self) -> str:
        """What a replay of the same entry must send again (DUR-04): the kind and the bytes as sent."""
        return f"{self.kind}:{hashlib.sha256(self.data).hexdigest()}"


@dataclass(frozen=True)
class Prepared:
    """A picture re-encoded and ready to store."""

    kind: str
    data: bytes
    mime: str
    width: int
    height: int


def check_uploads(uploads: list[Upload]) -> None:
    """Refuse too many files, an unknown kind, or a file too large, before anything is decoded."""
    if len(uploads) > MAX_PER_ENTRY:
        raise ImageError(TOO_MANY)
    for upload in uploads:
        if upload.kind not in IMAGE_KINDS:
            raise ImageError("A picture was sent in a way aftercare does not know. Please reload the page.")
        if len(upload.data) > MAX_BYTES:
            raise ImageError(TOO_LARGE, 413)
        if not upload.data:
            raise ImageError("One of the pictures is empty. Please choose it again.")


def _open(data: bytes) -> Image.Image:
    """Open the bytes as JPEG, PNG or WebP and check their size; decode nothing yet."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(_too_many_pixels(None)) from None
    except Exception:  # Pillow refuses unknown or damaged files with several kinds of error
        raise ImageError(NOT_AN_IMAGE) from None
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(NOT_AN_IMAGE)
    if width * height > MAX_PIXELS:
        raise ImageError(_too_many_pixels((width, height)))
    return image


def _too_many_pixels(size: tuple[int, int] | None) -> str:
    named = f" ({size[0]:,} × {size[1]:,} pixels)" if size else ""
    return (
        f"This picture is too large to open{named}. Pictures can be up to {MAX_PIXELS // 1_000_000} megapixels; "
        "please choose a smaller one, or a screenshot of it."
    )


def _to_srgb(image: Image.Image) -> Image.Image:
    """Take the colours out of the picture's own profile (a phone's Display P3, say) into sRGB."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a damaged profile: the pixels as they are


def _flatten(image: Image.Image) -> Image.Image:
    """Return the picture in RGB, any transparency laid on white."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if "A" in image.getbands():
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encode(image: Image.Image, kind: str) -> tuple[bytes, str]:
    out = io.BytesIO()
    if kind == DRAWING:
        image.save(out, "PNG", optimize=True)
        if out.tell() <= DRAWING_PNG_MAX:
            return out.getvalue(), PNG
        out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), JPEG


def reencode(upload: Upload) -> Prepared:
    """Check one file by its bytes and make a fresh picture of it; raise ImageError if it cannot be kept."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(upload.data)
        try:
            if image.format == "JPEG":
                image.draft("RGB", (LONG_SIDE, LONG_SIDE))  # decode a big JPEG at a fraction of its size
            image.load()
            picture = ImageOps.exif_transpose(image)
            picture = _flatten(_to_srgb(picture))
            picture.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(_too_many_pixels(image.size)) from None
        except Exception:  # truncated or damaged pixel data, whatever Pillow calls it
            raise ImageError(NOT_AN_IMAGE) from None
        finally:
            image.close()
    data, mime = _encode(picture, upload.kind)
    return Prepared(upload.kind, data, mime, picture.width, picture.height)


def prepare(uploads: list[Upload]) -> list[Prepared]:
    """Check and re-encode every file of an entry; all of them or none."""
    check_uploads(uploads)
    return [reencode(upload) for upload in uploads]


# --------------------------------------------------------------------------- storing


def image_dir() -> Path:
    """Return the folder for journal pictures: outside the web root (the instance folder, or IMAGE_DIR)."""
    configured = current_app.config.get("IMAGE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "images"


def path_of(image: JournalImage) -> Path:
    return image_dir() / image.stored_name


def write(prepared: list[Prepared]) -> list[Path]:
    """Write each picture under a new random name, synced; if one fails, none is left behind."""
    paths: list[Path] = []
    try:
        for picture in prepared:
            paths.append(write_private(image_dir(), picture.data))
    except BaseException:
        discard(paths)
        raise
    return paths


def discard(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def attach(patient: User, entry: JournalEntry, prepared: list[Prepared], paths: list[Path]) -> None:
    """Insert the rows of an entry's pictures; called inside the entry's own transaction."""
    if not prepared:
        return
    JournalImage.insert_many(
        [
            {
                "patient": patient,
                "entry": entry,
                "position": position,
                "kind": picture.kind,
                "stored_name": path.name,
                "mime": picture.mime,
                "width": picture.width,
                "height": picture.height,
                "size": len(picture.data),
                "created_at": entry.created_at,
            }
            for position, (picture, path) in enumerate(zip(prepared, paths, strict=True))
        ]
    ).execute()


def for_entries(entry_ids) -> dict[int, list[JournalImage]]:
    """Return the pictures of these entries, in their order, by entry id (one query)."""
    found: dict[int, list[JournalImage]] = {}
    ids = list(entry_ids)
    if not ids:
        return found
    query = JournalImage.select().where(JournalImage.entry.in_(ids)).order_by(JournalImage.position)
    for image in query:
        found.setdefault(image.entry_id, []).append(image)
    return found


def paths_of_entry(entry: JournalEntry) -> list[Path]:
    return [path_of(image) for image in JournalImage.select().where(JournalImage.entry == entry)]


# A page shows a picture once and a browser may ask for it again (a reload, scrolling back): one row
# per clinician and picture within this time is one look.
VIEW_WINDOW = dt.timedelta(minutes=10)


def record_view(viewer: User, patient: User, image: JournalImage) -> None:
    """Write the audit row for a clinician seeing a picture in a shared entry (LOG-01)."""
    detail = f"journal picture {image.id}"
    recent = AuditEvent.select().where(
        AuditEvent.action == "journal_image_viewed",
        AuditEvent.actor_id == viewer.id,
        AuditEvent.detail == detail,
        AuditEvent.at >= utcnow() - VIEW_WINDOW,
    )
    if not recent.exists():
        AuditEvent.record("journal_image_viewed", actor=viewer, patient=patient, detail=detail)


def remove_orphans(older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Delete picture files no row points to (a crash between write and commit, deleted entries, purged accounts)."""
    known = {name for (name,) in JournalImage.select(JournalImage.stored_name).tuples()}
    return remove_unknown_files(image_dir(), known, older_than)
