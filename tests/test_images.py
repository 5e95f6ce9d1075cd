"""Pictures and drawings in journal entries (UP-02, AC-03, LOG-01, PRIV-01/02, DUR-04).

Every file here is made in the test with Pillow (or byte by byte, for the decompression bomb):
a photo carrying EXIF GPS, a photo turned by its EXIF Orientation, a 20,000 x 20,000 PNG, files
that claim to be pictures and are not.
"""

import csv
import datetime as dt
import io
import json
import os
import struct
import time
import tracemalloc
import uuid
import zipfile
import zlib
from pathlib import Path

import pytest
from flask import render_template
from PIL import ExifTags
from PIL import Image
from PIL import ImageCms
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from aftercare.journal import entries
from aftercare.journal import images
from aftercare.journal.export import journal_section
from aftercare.journal.images import ImageError
from aftercare.journal.images import Upload
from aftercare.models import AuditEvent
from aftercare.models import JournalEntry
from aftercare.models import JournalImage
from aftercare.models import User
from aftercare.models import utcnow
from aftercare.mydata import export
from aftercare.mydata import retention
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient

RED, BLUE, WHITE = (220, 30, 30), (30, 30, 220), (255, 255, 255)

# --------------------------------------------------------------------------- files made here


def picture(size=(64, 48), colour=(91, 143, 185), fmt="JPEG", mode="RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt, **save)
    return out.getvalue()


def halves(size=(60, 30), fmt="JPEG", **save) -> bytes:
    """Left half red, right half blue: which way up it is can be read from the pixels."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, fmt, quality=95, **save)
    return out.getvalue()


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Pocket 12"
    exif[ExifTags.Base.DateTime] = "2026:03:14 07:40:00"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    return exif


def photo_with_gps(**save) -> bytes:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return halves(exif=exif_with_gps(), icc_profile=srgb, comment=b"taken at home", **save)


def bomb_png(width: int, height: int) -> bytes:
    """A real, valid 1-bit PNG of any size, written row by row: a few kilobytes however many pixels it has."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\0" * (1 + (width + 7) // 8)  # filter byte 0, then the row's bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def noise_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def has_location(data: bytes) -> bool:
    return bool(Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo))


# --------------------------------------------------------------------------- the pipeline


def test_a_photo_with_gps_keeps_nothing_of_its_metadata():
    original = photo_with_gps()
    source = Image.open(io.BytesIO(original))
    assert has_location(original) and source.getexif()[ExifTags.Base.Make] == "PhoneMaker"
    assert "icc_profile" in source.info and b"taken at home" in original  # what there is to strip

    kept = images.reencode(Upload(images.PHOTO, original))

    assert kept.mime == images.JPEG
    result = opened(kept.data)
    assert result.format == "JPEG"
    assert not has_location(kept.data)
    assert dict(result.getexif()) == {}
    assert not ({"exif", "icc_profile", "xmp", "comment"} & set(result.info))
    # Not anywhere in the bytes either: no APP1 (EXIF/XMP) or APP2 (ICC) segment, no comment.
    for marker in (b"Exif\0\0", b"GPS", b"PhoneMaker", b"ICC_PROFILE", b"http://ns.adobe.com/xap", b"taken at home"):
        assert marker not in kept.data
    assert (kept.width, kept.height) == (60, 30)


def test_a_photo_is_turned_the_way_its_camera_said():
    # Orientation 6: the camera was held on its side; shown upright, it is turned 90 degrees clockwise.
    sideways = halves(exif=exif_with_gps(orientation=6))
    assert Image.open(io.BytesIO(sideways)).size == (60, 30)

    kept = images.reencode(Upload(images.PHOTO, sideways))

    upright = opened(kept.data)
    assert upright.size == (30, 60) and (kept.width, kept.height) == (30, 60)
    top, bottom = upright.getpixel((15, 8)), upright.getpixel((15, 52))
    assert top[0] > 180 and top[2] < 80, top  # the left half (red) is now on top
    assert bottom[2] > 180 and bottom[0] < 80, bottom
    assert ExifTags.Base.Orientation not in upright.getexif()  # never turned a second time


def test_a_decompression_bomb_is_refused_before_a_pixel_is_decoded():
    bomb = bomb_png(20_000, 20_000)
    assert len(bomb) < 200_000 and struct.unpack(">II", bomb[16:24]) == (20_000, 20_000)  # its IHDR
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImageError) as refused:
            images.reencode(Upload(images.PHOTO, bomb))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.status == 422
    assert "too large to open" in refused.value.message
    assert peak < 5 * 1024 * 1024, peak  # 400 million pixels would be 50 MB even at one bit each
    assert time.perf_counter() - started < 2


def test_a_picture_over_the_pixel_limit_says_how_large_it_is():
    # 7,000 x 7,000 is under Pillow's own alarm (89 MP) and over ours (40 MP).
    with pytest.raises(ImageError) as refused:
        images.reencode(Upload(images.PHOTO, bomb_png(7_000, 7_000)))
    assert "(7,000 × 7,000 pixels)" in refused.value.message and "40 megapixels" in refused.value.message


def test_pillows_bomb_warning_is_an_error_here(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a 64 x 48 picture now sets off Pillow's warning
    with pytest.raises(ImageError) as refused:
        images.reencode(Upload(images.PHOTO, picture()))
    assert "too large to open" in refused.value.message


def gif() -> bytes:
    return picture(fmt="GIF", mode="P", colour=3)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"This is a letter, not a photo.\n" * 20, id="text"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\0" * 300, id="jpeg-magic-then-nothing"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 200, id="png-magic-then-nothing"),
        pytest.param(picture()[:400], id="truncated-jpeg"),
        pytest.param(gif(), id="gif"),
        pytest.param(picture(fmt="BMP"), id="bmp"),
        pytest.param(picture(fmt="TIFF"), id="tiff"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="svg"),
        pytest.param(b"GIF89a" + b"\0" * 100, id="gif-magic"),
    ],
)
def test_files_that_are_not_jpeg_png_or_webp_are_refused(data):
    with pytest.raises(ImageError) as refused:
        images.reencode(Upload(images.PHOTO, data))
    assert refused.value.status == 422
    assert refused.value.message == images.NOT_AN_IMAGE


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_are_accepted_by_their_bytes(fmt):
    kept = images.reencode(Upload(images.PHOTO, picture(fmt=fmt)))
    assert kept.mime == images.JPEG and opened(kept.data).format == "JPEG"


def test_a_drawing_is_kept_as_png_with_transparency_on_white():
    drawing = Image.new("RGBA", (100, 80), (0, 0, 0, 0))
    drawing.paste((79, 157, 138, 255), (10, 10, 50, 50))
    out = io.BytesIO()
    drawing.save(out, "WEBP", lossless=True)

    kept = images.reencode(Upload(images.DRAWING, out.getvalue()))

    assert kept.mime == images.PNG
    result = opened(kept.data)
    assert result.format == "PNG" and result.mode == "RGB"
    assert result.getpixel((90, 70)) == WHITE
    assert result.getpixel((20, 20)) == (79, 157, 138)


def test_a_large_photo_is_made_smaller_and_a_noisy_drawing_becomes_a_jpeg():
    big = images.reencode(Upload(images.PHOTO, picture(size=(4000, 1000))))
    assert (big.width, big.height) == (images.LONG_SIDE, 512) and opened(big.data).size == (2048, 512)

    noisy = noise_png(1500)
    assert len(noisy) > images.DRAWING_PNG_MAX
    kept = images.reencode(Upload(images.DRAWING, noisy))
    assert kept.mime == images.JPEG and len(kept.data) < len(noisy)


def test_too_many_too_large_and_empty_files_are_refused_before_decoding():
    with pytest.raises(ImageError) as refused:
        images.check_uploads([Upload(images.PHOTO, b"x")] * (images.MAX_PER_ENTRY + 1))
    assert "up to 4" in refused.value.message
    with pytest.raises(ImageError) as refused:
        images.check_uploads([Upload(images.PHOTO, b"x" * (images.MAX_BYTES + 1))])
    assert refused.value.status == 413 and "10 MiB" in refused.value.message
    with pytest.raises(ImageError):
        images.check_uploads([Upload(images.PHOTO, b"")])
    with pytest.raises(ImageError):
        images.check_uploads([Upload("video", picture())])


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def image_dir(app):
    return Path(app.config["IMAGE_DIR"])  # a folder of this test's own (tests/conftest.py)


def stored_files(directory) -> list:
    return sorted(directory.iterdir()) if directory.exists() else []


@pytest.fixture
def clinic(app):
    make_admin()
    clinician = make_clinician(name="Dr. Rowan Lee")
    return {
        "clinician": clinician,
        "patient": make_patient(clinician, name="Pat Example"),
        "other": make_patient(clinician, name="Other Person"),
        "stranger": make_clinician(name="Dr. Not Theirs"),
    }


@pytest.fixture
def patient(clinic, auth):
    auth.login(clinic["patient"])
    return clinic["patient"]


@pytest.fixture
def token(client, patient):
    return client.get("/api/v1/csrf").get_json()["csrf_token"]


def signed_in(app, user):
    other = app.test_client()
    assert Auth(other).login(user).status_code == 302
    return other


def page_token(client, path="/journal/new") -> str:
    with client.get(path) as response:
        return csrf_from(response.get_data(as_text=True))


def multipart(fields: list[tuple[str, object]]) -> dict:
    """Encode a form in memory, fields in their order (a picture field may come more than once)."""
    boundary, body = encode_multipart(MultiDict(fields))
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def as_file(data: bytes, name="picture.jpg", mime="image/jpeg") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type=mime)


def post_entry(client, token, *, client_id=None, body="", pictures=(), session_id=""):
    fields = [("client_id", client_id or str(uuid.uuid4())), ("body", body), ("session_id", session_id)]
    fields += [(kind, as_file(data, f"{kind}.png")) for kind, data in pictures]
    return client.post(
        "/api/v1/journal", headers={"Accept": "application/json", "X-CSRFToken": token}, **multipart(fields)
    )


def audit(action: str):
    return AuditEvent.select().where(AuditEvent.action == action)


# --------------------------------------------------------------------------- storing, once


def test_an_entry_with_a_drawing_and_a_photo_is_stored_once(client, token, patient, image_dir):
    client_id = str(uuid.uuid4())
    pictures = [("drawing", picture(fmt="PNG")), ("photo", photo_with_gps())]
    first = post_entry(client, token, client_id=client_id, body="After the session.", pictures=pictures)
    assert first.status_code == 201, first.get_json()
    answer = first.get_json()
    assert [p["kind"] for p in answer["images"]] == ["drawing", "photo"]
    assert [p["type"] for p in answer["images"]] == ["image/png", "image/jpeg"]
    assert answer["shared"] is False  # private by default (AC-03)

    again = post_entry(client, token, client_id=client_id, body="After the session.", pictures=pictures)
    assert again.status_code == 200 and again.get_json() == answer
    changed = post_entry(client, token, client_id=client_id, body="After the session.", pictures=pictures[:1])
    assert changed.status_code == 422

    assert JournalEntry.select().count() == 1 and JournalImage.select().count() == 2
    files = stored_files(image_dir)
    assert len(files) == 2
    assert all(oct(f.stat().st_mode & 0o777) == "0o600" for f in files)
    assert oct(image_dir.stat().st_mode & 0o777) == "0o700"
    assert not any(has_location(f.read_bytes()) for f in files)  # stored safe (UP-02)
    assert audit("journal_entry_written").count() == 1


def test_an_entry_may_be_only_a_picture_but_not_nothing(client, token, patient):
    only = post_entry(client, token, pictures=[("drawing", picture(fmt="PNG"))])
    assert only.status_code == 201 and only.get_json()["body"] == ""
    nothing = post_entry(client, token)
    assert nothing.status_code == 422 and "add a drawing or a picture" in nothing.get_json()["fields"]["body"]
    assert JournalEntry.select().count() == 1


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"GIF89a not really", 422, "not a picture aftercare can keep"),
        (bomb_png(20_000, 20_000), 422, "too large to open"),
        (b"\xff\xd8\xff" + b"\0" * (images.MAX_BYTES + 10), 413, "larger than 10 MiB"),
    ],
    ids=["not-an-image", "bomb", "over-10-mib"],
)
def test_a_bad_picture_is_refused_with_its_reason_and_nothing_is_stored(
    client, token, patient, image_dir, data, status, words
):
    response = post_entry(client, token, body="With a picture.", pictures=[("photo", data)])
    assert response.status_code == status
    answer = response.get_json()
    assert words in answer["message"] and words in answer["fields"]["images"]
    assert JournalEntry.select().count() == 0 and JournalImage.select().count() == 0
    assert stored_files(image_dir) == []


def test_one_bad_picture_keeps_the_good_ones_out_too(client, token, patient, image_dir):
    response = post_entry(client, token, pictures=[("photo", picture()), ("photo", b"not a picture")])
    assert response.status_code == 422
    assert JournalEntry.select().count() == 0 and stored_files(image_dir) == []


def test_five_pictures_are_refused(client, token, patient):
    response = post_entry(client, token, pictures=[("photo", picture())] * 5)
    assert response.status_code == 422 and "up to 4" in response.get_json()["message"]


def test_the_plain_form_takes_pictures_and_says_why_one_is_refused(client, patient, image_dir):
    token = page_token(client)
    data = {"csrf_token": token, "client_id": str(uuid.uuid4()), "body": "Keep these words."}
    refused = client.post(
        "/journal/new",
        **multipart([*data.items(), ("photo", as_file(b"%PDF-1.7 a document", "scan.jpg"))]),
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "not a picture aftercare can keep" in html and "Keep these words." in html
    assert JournalEntry.select().count() == 0 and stored_files(image_dir) == []

    # An empty file field (nothing chosen) is no picture; a real one is kept with the entry.
    empty = FileStorage(io.BytesIO(b""), filename="", content_type="application/octet-stream")
    saved = client.post(
        "/journal/new", **multipart([*data.items(), ("photo", empty), ("photo", as_file(photo_with_gps()))])
    )
    assert saved.status_code == 302 and "#entry-" in saved.headers["Location"]
    [kept] = JournalImage.select()
    assert kept.kind == "photo" and not has_location((image_dir / kept.stored_name).read_bytes())


def test_a_failed_database_write_leaves_no_file(app, clinic, image_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(entries.AuditEvent, "record", broken)
    with app.app_context(), pytest.raises(RuntimeError):
        entries.submit(clinic["patient"], {"client_id": str(uuid.uuid4())}, [Upload("drawing", picture(fmt="PNG"))])
    assert JournalEntry.select().count() == 0 and JournalImage.select().count() == 0
    assert stored_files(image_dir) == []


def test_orphaned_files_are_removed_and_kept_ones_are_not(app, clinic, image_dir):
    with app.app_context():
        entry, _ = entries.submit(
            clinic["patient"], {"client_id": str(uuid.uuid4())}, [Upload("drawing", picture(fmt="PNG"))]
        )
        (image_dir / ("0" * 32)).write_bytes(b"left over by a crash")
        assert images.remove_orphans(older_than=dt.timedelta(hours=1)) == 0  # too young to tell
        assert images.remove_orphans(older_than=dt.timedelta(0)) == 1
    [kept] = JournalImage.select()
    assert [p.name for p in stored_files(image_dir)] == [kept.stored_name]


# --------------------------------------------------------------------------- who sees it (AC-02, AC-03, LOG-01)


@pytest.fixture
def entry(client, token, patient):
    response = post_entry(client, token, body="I drew it.", pictures=[("drawing", picture(fmt="PNG"))])
    assert response.status_code == 201
    return JournalEntry.get_by_id(response.get_json()["id"])


def picture_url(entry) -> str:
    return f"/journal/images/{JournalImage.get(JournalImage.entry == entry).id}"


def test_the_owner_sees_their_picture_and_it_is_never_cached(client, entry):
    with client.get(picture_url(entry)) as response:
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("inline;")
        assert opened(response.data).format == "PNG"
    assert audit("journal_image_viewed").count() == 0  # the patient's own look is not a disclosure


def test_the_clinician_sees_a_picture_only_while_its_entry_is_shared(app, client, clinic, entry, monkeypatch):
    url = picture_url(entry)
    clinician = signed_in(app, clinic["clinician"])
    with clinician.get(url) as response:
        assert response.status_code == 404  # private (AC-03)

    token = page_token(client)
    client.post(f"/journal/{entry.id}/share", data={"csrf_token": token, "share": "1"})
    with clinician.get(url) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "private, no-store"
    with clinician.get(url) as response:  # the same look, a moment later: one row
        assert response.status_code == 200
    [row] = audit("journal_image_viewed")
    assert (row.actor_id, row.actor_role, row.patient_id) == (clinic["clinician"].id, "clinician", clinic["patient"].id)
    monkeypatch.setattr(images, "VIEW_WINDOW", dt.timedelta(0))  # later, a new look (audit rows cannot be aged)
    with clinician.get(url) as response:
        assert response.status_code == 200
    assert audit("journal_image_viewed").count() == 2

    # Nobody else, ever: another clinician, an administrator, another patient of the same clinician.
    with signed_in(app, clinic["stranger"]).get(url) as response:
        assert response.status_code == 404
    with signed_in(app, make_admin()).get(url) as response:
        assert response.status_code == 403
    with signed_in(app, clinic["other"]).get(url) as response:
        assert response.status_code == 404
    with app.test_client().get(url) as response:
        assert response.status_code == 302 and "/login" in response.headers["Location"]

    client.post(f"/journal/{entry.id}/share", data={"csrf_token": token, "share": "0"})
    with clinician.get(url) as response:
        assert response.status_code == 404
    assert audit("journal_image_viewed").count() == 2


def test_the_journal_and_the_care_team_show_pictures_lazily(app, client, clinic, entry):
    with client.get("/journal") as page:
        html = page.get_data(as_text=True)
    image = JournalImage.get(JournalImage.entry == entry)
    assert f'src="/journal/images/{image.id}"' in html and 'loading="lazy"' in html
    assert 'alt="Drawing from ' in html

    patient = clinic["patient"]
    private = JournalImage.get(JournalImage.entry == entry)
    with app.test_request_context():
        assert "/journal/images/" not in render_template(
            "journal/_shared.html", patient=patient, shared_journal=entries.shared_for_patient(patient)
        )
        entries.set_shared(patient, entry, True)
        html = render_template(
            "journal/_shared.html", patient=patient, shared_journal=entries.shared_for_patient(patient)
        )
    assert f'src="/journal/images/{private.id}"' in html and "I drew it." in html


def test_an_entry_of_pictures_alone_can_be_edited_to_no_words(client, token, patient):
    response = post_entry(client, token, body="Words first.", pictures=[("photo", picture())])
    entry_id = response.get_json()["id"]
    token = page_token(client, f"/journal/{entry_id}/edit")
    edited = client.post(f"/journal/{entry_id}/edit", data={"csrf_token": token, "body": ""})
    assert edited.status_code == 302
    assert JournalEntry.get_by_id(entry_id).body == ""


def test_deleting_an_entry_removes_its_pictures(client, entry, image_dir):
    assert len(stored_files(image_dir)) == 1
    token = page_token(client)
    assert client.post(f"/journal/{entry.id}/delete", data={"csrf_token": token}).status_code == 302
    assert JournalImage.select().count() == 0 and stored_files(image_dir) == []


# --------------------------------------------------------------------------- export and purge (PRIV-01, PRIV-02)


def test_the_export_holds_the_pictures_and_names_them_in_the_csv(app, client, patient, token):
    post_entry(client, token, body="Two pictures.", pictures=[("drawing", picture(fmt="PNG")), ("photo", picture())])
    with client.get("/my-data/export.zip") as response:
        with zipfile.ZipFile(io.BytesIO(response.data)) as zipped:
            names = zipped.namelist()
            document = json.loads(zipped.read(export.JSON_NAME))
            rows = list(csv.DictReader(io.StringIO(zipped.read("journal.csv").decode("utf-8-sig"))))
            [entry] = document["journal"]["entries"]
            files = [p["file"] for p in entry["pictures"]]
            assert all(name in names for name in files)
            assert opened(zipped.read(files[0])).format == "PNG" and opened(zipped.read(files[1])).format == "JPEG"
    assert [p["kind"] for p in entry["pictures"]] == ["drawing", "photo"]
    assert (
        files[0].startswith("pictures/") and files[0].endswith("-1-drawing.png") and files[1].endswith("-2-photo.jpg")
    )
    assert rows[0]["pictures"] == " ".join(files)
    with app.test_request_context():
        assert "pictures/" in journal_section(patient).readme


def test_purging_an_account_removes_its_pictures_from_disk(app, runner, clinic, image_dir):
    """PRIV-02: the pictures go with the account; one still being stored is left alone."""
    gone_patient, kept_patient = clinic["patient"], clinic["other"]
    with app.app_context():
        for who in (gone_patient, kept_patient):
            entries.submit(who, {"client_id": str(uuid.uuid4())}, [Upload("drawing", picture(fmt="PNG"))])
        gone = images.path_of(JournalImage.get(JournalImage.patient == gone_patient))
        kept = images.path_of(JournalImage.get(JournalImage.patient == kept_patient))
    retention.close_account(gone_patient)
    User.update(closed_at=utcnow() - dt.timedelta(days=400)).where(User.id == gone_patient.id).execute()
    week_ago = time.time() - 7 * 86400
    os.utime(gone, (week_ago, week_ago))
    storing = image_dir / ("ab" * 16)
    storing.write_bytes(b"not committed yet")

    result = runner.invoke(args=["retention", "purge"])

    assert result.exit_code == 0, result.output
    assert "Removed 1 journal picture file(s) that no longer belonged to anyone." in result.output
    assert not gone.exists() and kept.exists() and storing.exists()
    assert JournalImage.select().count() == 1
