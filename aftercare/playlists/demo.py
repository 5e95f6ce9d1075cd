"""Four curated playlists for the demo clinic, built from well-known ambient and classical works."""

import tomllib
from pathlib import Path
from urllib.parse import quote

from ..db import db
from ..models import Playlist
from ..models import Track


def _search(artist: str, title: str) -> str:
    # A search, not a track id: ids differ by country and go stale; a search keeps working.
    return "https://open.spotify.com/search/" + quote(f"{title} {artist}", safe="")


PLAYLISTS = tomllib.loads((Path(__file__).parent / "demo.toml").read_text(encoding="utf-8"))["playlist"]


def _seconds(text: str) -> int:
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


def seed_demo_playlists(created_by) -> list[Playlist]:
    """Create the demo clinic's playlists, skipping any whose title already exists; return all four."""
    playlists = []
    for spec in PLAYLISTS:
        with db.atomic():
            playlist = Playlist.get_or_none(Playlist.title == spec["title"])
            if playlist is None:
                playlist = Playlist.create(
                    title=spec["title"], purpose=spec["purpose"], description=spec["description"], created_by=created_by
                )
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
                        for position, (track_title, artist, length) in enumerate(spec["tracks"], start=1)
                    ]
                ).execute()
        playlists.append(playlist)
    return playlists
