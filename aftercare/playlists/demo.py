"""Four curated playlists for the demo clinic, built from well-known ambient and classical works."""

from urllib.parse import quote

from ..db import db
from ..models import Playlist
from ..models import Track


def _search(artist: str, title: str) -> str:
    # A search, not a track id: ids differ by country and go stale; a search keeps working.
    return "https://open.spotify.com/search/" + quote(f"{title} {artist}", safe="")


# (title, purpose, description, [(track title, artist, "m:ss")])
PLAYLISTS = [
    (
        "Arriving: gentle preparation",
        "preparation",
        "For the evening before or the hour before you come in: slow, warm music with nothing sudden in it.\n\n"
        "Lie down or sit comfortably, and let your breathing slow with it.",
        [
            ("Welcome", "Jon Hopkins", "4:11"),
            ("Weightless", "Marconi Union", "8:09"),
            ("Water Copy", "Hiroshi Yoshimura", "4:52"),
            ("Clair de lune", "Claude Debussy", "5:03"),
            ("Dream 3 (in the midst of my life)", "Max Richter", "6:23"),
            ("Meditation #1", "Laraaji", "11:36"),
        ],
    ),
    (
        "Into the session: ambient and drone",
        "session",
        "Long, spacious pieces without words or beats, so the music holds the room without asking for "
        "attention. About an hour and three quarters.",
        [
            ("An Ending (Ascent)", "Brian Eno", "4:26"),
            ("Articulate Silences, Part 1", "Stars of the Lid", "6:41"),
            ("Love Flows Over Us in Prismatic Waves", "Jon Hopkins", "6:35"),
            ("The Plateaux of Mirror", "Harold Budd & Brian Eno", "4:12"),
            ("Thursday Afternoon", "Brian Eno", "60:59"),
            ("Lux 1", "Brian Eno", "18:59"),
        ],
    ),
    (
        "Soft focus: piano and strings",
        "session",
        "Quiet piano and strings for those who would rather have melody than drone.",
        [
            ("Spiegel im Spiegel", "Arvo Pärt", "10:26"),
            ("On the Nature of Daylight", "Max Richter", "6:12"),
            ("Gymnopédie No. 1", "Erik Satie", "3:05"),
            ("Says", "Nils Frahm", "8:18"),
            ("Nuvole Bianche", "Ludovico Einaudi", "5:57"),
            ("Flight from the City", "Jóhann Jóhannsson", "3:53"),
            ("Saman", "Ólafur Arnalds", "2:58"),
            ("Für Alina", "Arvo Pärt", "10:48"),
        ],
    ),
    (
        "Coming back: integration morning",
        "integration",
        "For the mornings after a session, with your journal or on a slow walk: bright, unhurried music "
        "to help you notice what has stayed with you.",
        [
            ("Morning Mood (Peer Gynt Suite No. 1)", "Edvard Grieg", "3:45"),
            ("Cello Suite No. 1 in G major: Prélude", "Johann Sebastian Bach", "2:30"),
            ("1/1", "Brian Eno", "17:21"),
            ("First Light", "Harold Budd & Brian Eno", "7:01"),
            ("The Lark Ascending", "Ralph Vaughan Williams", "15:42"),
            ("Ambre", "Nils Frahm", "3:57"),
            ("Meditation #2", "Laraaji", "9:20"),
        ],
    ),
]


def _seconds(text: str) -> int:
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


def seed_demo_playlists(created_by) -> list[Playlist]:
    """Create the demo clinic's playlists, skipping any whose title already exists; return all four."""
    playlists = []
    for title, purpose, description, tracks in PLAYLISTS:
        with db.atomic():
            playlist = Playlist.get_or_none(Playlist.title == title)
            if playlist is None:
                playlist = Playlist.create(title=title, purpose=purpose, description=description, created_by=created_by)
                Track.insert_many(
                    [
                        {
                            "playlist": playlist,
                            "position": position,
                            "title": track_title,
                            "artist": artist,
                            "duration_seconds": _seconds(length),
                            "url": _search(artist, track_title),
                        }
                        for position, (track_title, artist, length) in enumerate(tracks, start=1)
                    ]
                ).execute()
        playlists.append(playlist)
    return playlists
