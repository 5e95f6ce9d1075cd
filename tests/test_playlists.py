"""Playlists: staff curate them (tracks, order, links, archive), everyone signed in reads them."""

import datetime as dt

import pytest

from aftercare.models import AuditEvent
from aftercare.models import Playlist
from aftercare.models import Track
from aftercare.models import TreatmentSession
from aftercare.models import utcnow
from aftercare.playlists.demo import seed_demo_playlists
from aftercare.playlists.forms import check_link
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient
from tests.factories import make_playlist as new_playlist


def make_playlist(title="Evening drone", purpose="session", tracks=3, **fields):
    return new_playlist(title, purpose, tracks=tracks, **fields)


def titles(playlist) -> list[str]:
    return [t.title for t in Track.select().where(Track.playlist == playlist).order_by(Track.position)]


def changes() -> list[str]:
    return [
        e.detail for e in AuditEvent.select().where(AuditEvent.action == "playlist_changed").order_by(AuditEvent.id)
    ]


class Curator:
    """A signed-in staff member posting through the real forms."""

    def __init__(self, client, auth, user):
        self.client, self.user = client, user
        assert auth.login(user).status_code == 302
        self.token = auth.csrf("/playlists/")

    def post(self, path, **data):
        return self.client.post(path, data={"csrf_token": self.token, **data})

    def add_track(self, playlist, title="Spiegel im Spiegel", artist="Arvo Pärt", duration="10:26", url=""):
        return self.post(
            f"/playlists/{playlist.id}/tracks",
            **{"track-title": title, "track-artist": artist, "track-duration": duration, "track-url": url},
        )

    def move(self, track, direction):
        return self.post(f"/playlists/{track.playlist_id}/tracks/{track.id}/move", direction=direction)


@pytest.fixture
def curator(client, auth):
    make_admin()
    return Curator(client, auth, make_clinician())


@pytest.mark.parametrize("role", ["clinician", "admin"])
def test_staff_create_edit_reorder_and_remove(client, auth, role):
    admin = make_admin()
    staff = Curator(client, auth, admin if role == "admin" else make_clinician())

    created = staff.post("/playlists/new", title="  Soft focus  ", purpose="session", description="Piano.\r\nStrings.")
    assert created.status_code == 302
    playlist = Playlist.get()
    assert created.headers["Location"].endswith(f"/playlists/{playlist.id}/edit")
    assert (playlist.title, playlist.purpose, playlist.description) == ("Soft focus", "session", "Piano.\nStrings.")
    assert playlist.created_by_id == staff.user.id

    for title, duration in (("Spiegel im Spiegel", "10:26"), ("Says", "8:18"), ("Saman", "2:58")):
        assert staff.add_track(playlist, title=title, duration=duration).status_code == 302
    assert titles(playlist) == ["Spiegel im Spiegel", "Says", "Saman"]
    assert Playlist.get_by_id(playlist.id).duration_seconds == 626 + 498 + 178

    edited = staff.post(
        f"/playlists/{playlist.id}/edit",
        **{"details-title": "Piano and strings", "details-purpose": "integration", "details-description": ""},
    )
    assert edited.status_code == 302
    playlist = Playlist.get_by_id(playlist.id)
    assert (playlist.title, playlist.purpose, playlist.description) == ("Piano and strings", "integration", "")

    says = Track.get(Track.title == "Says")
    page = client.get(f"/playlists/{playlist.id}/tracks/{says.id}/edit").get_data(as_text=True)
    assert 'value="8:18"' in page
    saved = staff.post(
        f"/playlists/{playlist.id}/tracks/{says.id}/edit",
        title="Says",
        artist="Nils Frahm",
        duration="8:19",
        url="https://open.spotify.com/search/says",
    )
    assert saved.status_code == 302
    says = Track.get_by_id(says.id)
    assert (says.artist, says.duration_seconds, says.url) == ("Nils Frahm", 499, "https://open.spotify.com/search/says")

    assert staff.move(says, "up").status_code == 302
    assert titles(playlist) == ["Says", "Spiegel im Spiegel", "Saman"]
    assert staff.move(Track.get(Track.title == "Spiegel im Spiegel"), "down").status_code == 302
    assert titles(playlist) == ["Says", "Saman", "Spiegel im Spiegel"]

    removed = staff.post(f"/playlists/{playlist.id}/tracks/{says.id}/remove")
    assert removed.status_code == 302
    assert titles(playlist) == ["Saman", "Spiegel im Spiegel"]

    listing = client.get("/playlists/").get_data(as_text=True)
    assert "Piano and strings" in listing and "2 tracks · 13 min" in listing

    deleted = staff.post(f"/playlists/{playlist.id}/remove")
    assert deleted.status_code == 302
    assert Playlist.get_or_none(Playlist.id == playlist.id) is None
    assert Track.select().count() == 0


def test_every_change_is_audited(curator):
    location = curator.post("/playlists/new", title="Arriving", purpose="preparation").headers["Location"]
    playlist = Playlist.get()
    curator.add_track(playlist, title="One")
    curator.add_track(playlist, title="Two")
    one, two = Track.select().order_by(Track.position)
    curator.move(two, "up")
    curator.post(f"/playlists/{playlist.id}/tracks/{one.id}/edit", title="Uno", artist="A", duration="1:00")
    curator.post(f"/playlists/{playlist.id}/tracks/{one.id}/remove")
    curator.post(
        f"/playlists/{playlist.id}/edit", **{"details-title": "Arriving gently", "details-purpose": "preparation"}
    )
    curator.post(f"/playlists/{playlist.id}/remove")
    assert location.endswith(f"/playlists/{playlist.id}/edit")
    assert changes() == [f"playlist {playlist.id}"] * 8
    event = AuditEvent.get(AuditEvent.action == "playlist_changed")
    assert (event.actor_id, event.actor_role, event.patient_id) == (curator.user.id, "clinician", None)
    assert AuditEvent.verify_chain().broken is None


def test_patients_view_active_playlists_but_cannot_curate(client, auth):
    make_admin()
    patient = make_patient(make_clinician())
    playlist = make_playlist()
    track = Track.get(Track.position == 1)
    auth.login(patient)
    page = client.get(f"/playlists/{playlist.id}")
    assert page.status_code == 200
    assert b"Evening drone" in page.data and b"Track 3" in page.data and b"Edit playlist" not in page.data
    token = auth.csrf("/more")
    refused = [
        client.get("/playlists/"),
        client.get("/playlists/new"),
        client.get(f"/playlists/{playlist.id}/edit"),
        client.get(f"/playlists/{playlist.id}/tracks/{track.id}/edit"),
        client.post("/playlists/new", data={"csrf_token": token, "title": "Mine", "purpose": "session"}),
        client.post(f"/playlists/{playlist.id}/tracks", data={"csrf_token": token, "track-title": "x"}),
        client.post(
            f"/playlists/{playlist.id}/tracks/{track.id}/move", data={"csrf_token": token, "direction": "down"}
        ),
        client.post(f"/playlists/{playlist.id}/tracks/{track.id}/remove", data={"csrf_token": token}),
        client.post(f"/playlists/{playlist.id}/remove", data={"csrf_token": token}),
        client.post(f"/playlists/{playlist.id}/restore", data={"csrf_token": token}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert Playlist.select().count() == 1 and titles(playlist) == ["Track 1", "Track 2", "Track 3"]
    assert changes() == []


def test_signed_out_visitors_are_sent_to_sign_in(client):
    make_admin()
    playlist = make_playlist()
    response = client.get(f"/playlists/{playlist.id}")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_archived_playlists_are_hidden_from_patients(client, auth):
    make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician)
    archived = make_playlist(active=False)
    auth.login(patient)
    assert client.get(f"/playlists/{archived.id}").status_code == 404
    assert client.get("/playlists/99999").status_code == 404
    auth.logout()
    auth.login(clinician)
    page = client.get(f"/playlists/{archived.id}")
    assert page.status_code == 200 and b"Archived" in page.data


def test_a_picked_playlist_is_archived_not_deleted(curator):
    picked = make_playlist("Picked")
    unpicked = make_playlist("Never picked", tracks=2)
    patient = make_patient(curator.user)
    starts = utcnow() + dt.timedelta(days=2)
    session = TreatmentSession.create(
        patient=patient,
        kind="infusion",
        starts_at=starts,
        wall_time=starts.strftime("%Y-%m-%dT%H:%M"),
        zone="UTC",
        playlist=picked,
    )
    page = curator.client.get(f"/playlists/{picked.id}/edit").get_data(as_text=True)
    assert "Archive playlist" in page and "Delete playlist" not in page

    assert curator.post(f"/playlists/{picked.id}/remove").status_code == 302
    picked = Playlist.get_by_id(picked.id)
    assert picked.active is False and len(titles(picked)) == 3
    assert TreatmentSession.get_by_id(session.id).playlist_id == picked.id
    listing = curator.client.get("/playlists/").get_data(as_text=True)
    assert listing.index('id="archived-heading"') < listing.index(f"/playlists/{picked.id}/edit")

    assert curator.post(f"/playlists/{unpicked.id}/remove").status_code == 302
    assert Playlist.get_or_none(Playlist.id == unpicked.id) is None
    assert Track.select().where(Track.playlist == unpicked.id).count() == 0

    assert curator.post(f"/playlists/{picked.id}/restore").status_code == 302
    assert Playlist.get_by_id(picked.id).active is True
    assert changes() == [f"playlist {picked.id}", f"playlist {unpicked.id}", f"playlist {picked.id}"]


def test_reordering_keeps_positions_unique(curator):
    playlist = make_playlist(tracks=4)
    t1, t2, t3, t4 = Track.select().where(Track.playlist == playlist).order_by(Track.position)
    other = make_playlist("Other", tracks=2)  # same positions in another playlist are no conflict

    curator.post(f"/playlists/{playlist.id}/tracks/{t2.id}/remove")  # leaves a gap at position 2
    assert curator.move(t3, "up").status_code == 302  # swaps across the gap with track 1
    assert titles(playlist) == ["Track 3", "Track 1", "Track 4"]
    assert curator.move(t4, "up").status_code == 302
    assert curator.move(t4, "up").status_code == 302
    assert titles(playlist) == ["Track 4", "Track 3", "Track 1"]

    before = changes()
    first = curator.move(t4, "up")  # already first: nothing changes, nothing audited
    last = curator.move(t1, "down")
    assert first.status_code == last.status_code == 302
    assert titles(playlist) == ["Track 4", "Track 3", "Track 1"] and changes() == before
    page = curator.client.get(f"/playlists/{playlist.id}/edit").get_data(as_text=True)
    assert "already first" in page

    assert curator.move(t3, "sideways").status_code == 400
    assert curator.post(f"/playlists/{other.id}/tracks/{t3.id}/move", direction="up").status_code == 404

    positions = [t.position for t in Track.select().where(Track.playlist == playlist)]
    assert len(positions) == len(set(positions)) == 3 and min(positions) > 0
    assert titles(other) == ["Track 1", "Track 2"]


def test_tracks_are_only_reachable_through_their_playlist(curator):
    mine, theirs = make_playlist("Mine"), make_playlist("Theirs")
    foreign = Track.get(Track.playlist == theirs, Track.position == 1)
    assert curator.client.get(f"/playlists/{mine.id}/tracks/{foreign.id}/edit").status_code == 404
    assert curator.post(f"/playlists/{mine.id}/tracks/{foreign.id}/remove").status_code == 404
    assert Track.get_or_none(Track.id == foreign.id) is not None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC", None),
        ("https://music.apple.com/us/search?term=arvo%20p%C3%A4rt", None),
        ("HTTPS://example.org:443/a", None),
        ("", None),
        ("http://open.spotify.com/track/1", "use the address that starts with https://"),
        ("javascript:alert(1)", "Only https:// links"),
        ("JavaScript:alert(1)", "Only https:// links"),
        ("data:text/html,<script>alert(1)</script>", "Only https:// links"),
        ("//open.spotify.com/track/1", "Only https:// links"),
        ("open.spotify.com/track/1", "Only https:// links"),
        ("https://", "has no website in it"),
        ("https:///path", "has no website in it"),
        ("https://user:pw@host/", "user name or password"),
        ("https://evil.example@open.spotify.com/", "user name or password"),
        ("https://open.spotify.com:99999/", "port is not valid"),
        ("https://evil.example\\@open.spotify.com/", "spaces or backslashes"),
        ("https://open.spotify.com/a b", "spaces or backslashes"),
        ("https://e.org/" + "a" * 486, None),  # exactly 500 characters
        ("https://e.org/" + "a" * 487, "at most 500 characters"),
    ],
)
def test_track_links(curator, url, problem):
    playlist = make_playlist(tracks=0)
    response = curator.add_track(playlist, url=url)
    if problem is None:
        assert response.status_code == 302
        assert Track.get(Track.playlist == playlist).url == url
    else:
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert problem in page.replace("&#39;", "'")
        assert Track.select().count() == 0 and changes() == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("4:05", 245),
        (" 4:05 ", 245),
        ("0:01", 1),
        ("75:00", 4500),
        ("180:00", 10800),
        ("1:02:30", 3750),
        ("3:00:00", 10800),
        ("3:00:01", None),
        ("180:01", None),
        ("0:00", None),
        ("4:5", None),
        ("4:60", None),
        ("1:60:00", None),
        ("4", None),
        ("4.05", None),
        ("-1:00", None),
        ("four minutes", None),
        ("٤:٠٥", None),
        ("", None),
    ],
)
def test_track_durations(curator, text, seconds):
    playlist = make_playlist(tracks=0)
    response = curator.add_track(playlist, duration=text)
    if seconds is None:
        assert response.status_code == 422
        assert Track.select().count() == 0 and changes() == []
    else:
        assert response.status_code == 302
        assert Track.get().duration_seconds == seconds


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": " ", "purpose": "session"}, "Give the playlist a title."),
        ({"title": "x" * 121, "purpose": "session"}, "120 characters"),
        ({"title": "Calm", "purpose": "party"}, "Choose preparation, session or integration."),
        ({"title": "Calm", "purpose": "session", "description": "x" * 2001}, "2000 characters"),
    ],
)
def test_bad_playlist_details_change_nothing(curator, data, message):
    assert curator.post("/playlists/new", **data).status_code == 422
    playlist = make_playlist("Original", description="Kept")
    response = curator.post(f"/playlists/{playlist.id}/edit", **{f"details-{k}": v for k, v in data.items()})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    playlist = Playlist.get_by_id(playlist.id)
    assert (playlist.title, playlist.purpose, playlist.description) == ("Original", "session", "Kept")
    assert Playlist.select().count() == 1 and changes() == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("track-title", "", "Give the track&#39;s title."),
        ("track-title", "x" * 201, "200 characters"),
        ("track-artist", " ", "Give the artist or composer."),
        ("track-artist", "x" * 201, "200 characters"),
    ],
)
def test_bad_track_text_changes_nothing(curator, field, value, message):
    playlist = make_playlist(tracks=0)
    data = {"track-title": "Says", "track-artist": "Nils Frahm", "track-duration": "8:18", field: value}
    response = curator.post(f"/playlists/{playlist.id}/tracks", **data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert Track.select().count() == 0 and changes() == []


def test_a_bad_track_edit_changes_nothing(curator):
    playlist = make_playlist(tracks=1)
    track = Track.get()
    response = curator.post(
        f"/playlists/{playlist.id}/tracks/{track.id}/edit",
        title="New",
        artist="New",
        duration="1:00",
        url="javascript:alert(1)",
    )
    assert response.status_code == 422
    assert Track.get_by_id(track.id).title == "Track 1" and changes() == []


def test_user_text_is_escaped(client, auth, curator):
    evil = "<script>alert(1)</script>"
    playlist = make_playlist(evil, description=f"{evil}\n\nsecond", tracks=0)
    Track.create(playlist=playlist, position=1, title=evil, artist=evil, duration_seconds=60)
    for url in ("/playlists/", f"/playlists/{playlist.id}", f"/playlists/{playlist.id}/edit"):
        page = client.get(url).get_data(as_text=True)
        assert evil not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url


def test_only_safe_links_are_shown_and_they_open_apart(client, auth):
    make_admin()
    patient = make_patient(make_clinician())
    playlist = make_playlist(tracks=0)
    Track.create(
        playlist=playlist,
        position=1,
        title="Says",
        artist="Nils Frahm",
        duration_seconds=498,
        url="https://www.open.spotify.com/search/says",
    )
    # Rows written before validation existed (or by hand) must not become links either.
    Track.create(playlist=playlist, position=2, title="Old", artist="A", duration_seconds=3725, url="javascript:x()")
    Track.create(playlist=playlist, position=3, title="Plain", artist="A", duration_seconds=5, url="http://a.example/")
    auth.login(patient)
    page = client.get(f"/playlists/{playlist.id}").get_data(as_text=True)
    assert (
        '<a class="small" href="https://www.open.spotify.com/search/says" target="_blank" '
        'rel="noopener noreferrer">Listen on open.spotify.com' in page
    )
    assert "javascript:" not in page and "http://a.example" not in page
    assert page.count("Listen on") == 1
    assert "8:18" in page and "1:02:05" in page and "0:05" in page
    assert "3 tracks · 1 h 10 min" in page


def test_demo_playlists_are_seeded_once(app):
    admin = make_admin()
    first = seed_demo_playlists(admin)
    again = seed_demo_playlists(admin)
    assert [p.id for p in first] == [p.id for p in again]
    assert Playlist.select().count() == 4
    assert sorted(p.purpose for p in first) == ["integration", "preparation", "session", "session"]
    for playlist in first:
        tracks = list(playlist.tracks)
        assert 6 <= len(tracks) <= 10, playlist.title
        assert [t.position for t in tracks] == list(range(1, len(tracks) + 1))
        assert all(t.artist and 1 <= t.duration_seconds <= 3 * 3600 and check_link(t.url) for t in tracks)
        assert playlist.created_by_id == admin.id
