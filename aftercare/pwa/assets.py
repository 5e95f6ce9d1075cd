"""Static files as browsers get them: named by their content, imports named the same way, compressed once.

A page asks for `/static/js/app.js?v=<hash of its content>`; such a URL never changes content, so
it is cached for a year (`immutable`), by the browser and by the service worker alike, which
precaches exactly these URLs (never a second, unversioned copy). Inside the scripts, each import
("./sync.js") and each "/static/..." path (the worker's precache list, its importScripts) is
rewritten to its versioned URL, so a change to one file changes the URL of every file that
depends on it. Text files are compressed ahead of time with brotli and gzip and served to the
browsers that say they accept them. Built once per process, on first use, from the files as they
are on disk.

HTML is never compressed here (pages carry a CSRF token and echo what people type: BREACH).
"""

import gzip
import hashlib
import mimetypes
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import brotli

COMPRESSIBLE = {".css", ".js", ".svg", ".webmanifest", ".json", ".txt"}
MIN_COMPRESS = 256  # smaller bodies gain less than their headers cost
# A module import or a script's own static path: from "./sync.js", import "./outbox.js",
# importScripts("/static/js/outbox.js"), "/static/css/app.css" in the worker's precache list.
REFERENCE = re.compile(r"""(?P<quote>["'])(?P<target>\./[\w./-]+\.js|/static/[\w./-]+\.\w+)(?P=quote)""")


WORKER_KEY = "\0worker"
WORKER_VERSION = re.compile(r'const VERSION = "[^"]*";')


@dataclass(frozen=True)
class Asset:
    name: str  # relative to the static folder: "js/app.js"
    body: bytes
    version: str  # the first 10 hex digits of the SHA-256 of body
    mimetype: str
    gzip: bytes | None = None
    brotli: bytes | None = None

    @property
    def url(self) -> str:
        return f"/static/{self.name}?v={self.version}"


class Assets:
    """The static folder, built into versioned, compressed assets on first use (thread-safe)."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self._built: dict[str, Asset | None] = {}
        self._lock = threading.RLock()

    def get(self, name: str) -> Asset | None:
        """Return the asset for a path relative to the static folder, or None if there is no such file."""
        asset = self._built.get(name)
        if asset is not None or name in self._built:
            return asset
        with self._lock:
            if name not in self._built:
                self._built[name] = self._build(name, ())
            return self._built[name]

    def url(self, name: str) -> str:
        """Return the versioned URL of a static file (unversioned if it does not exist)."""
        asset = self.get(name)
        return asset.url if asset else f"/static/{name}"

    def worker(self) -> Asset:
        """Return the service worker (sw.js) with its precache list versioned and VERSION set to its content's hash."""
        worker = self._built.get(WORKER_KEY)
        if worker is not None:
            return worker
        with self._lock:
            text = self._rewrite((self.folder / "sw.js").read_text(encoding="utf-8"), "", ())
            version = hashlib.sha256(text.encode()).hexdigest()[:10]
            text = WORKER_VERSION.sub(f'const VERSION = "{version}";', text, count=1)
            body = text.encode("utf-8")
            worker = Asset(
                "sw.js",
                body,
                version,
                "text/javascript",
                gzip.compress(body, 9, mtime=0),
                brotli.compress(body, quality=11),
            )
            self._built[WORKER_KEY] = worker
            return worker

    def rewrite(self, text: str, base: str = "") -> str:
        """Version every import and /static/ path in a script's text (used for the service worker too)."""
        with self._lock:
            return self._rewrite(text, base, ())

    def _build(self, name: str, seen: tuple) -> Asset | None:
        path = (self.folder / name).resolve()
        if self.folder.resolve() not in path.parents or not path.is_file():
            return None
        body = path.read_bytes()
        if name.endswith(".js"):
            body = self._rewrite(body.decode("utf-8"), str(Path(name).parent), (*seen, name)).encode("utf-8")
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if name.endswith(".webmanifest"):
            mimetype = "application/manifest+json"
        squeezed = {}
        if path.suffix in COMPRESSIBLE and len(body) >= MIN_COMPRESS:
            squeezed = {"gzip": gzip.compress(body, 9, mtime=0), "brotli": brotli.compress(body, quality=11)}
        return Asset(name, body, hashlib.sha256(body).hexdigest()[:10], mimetype, **squeezed)

    def _rewrite(self, text: str, base: str, seen: tuple) -> str:
        def versioned(match: re.Match) -> str:
            target = match["target"]
            name = target.removeprefix("/static/") if target.startswith("/static/") else _join(base, target)
            if name in seen:  # an import cycle: leave it unversioned rather than loop
                return match[0]
            asset = self._built.get(name)
            if asset is None:
                asset = self._built[name] = self._build(name, seen)
            if asset is None:
                return match[0]
            return f"{match['quote']}{target}?v={asset.version}{match['quote']}"

        return REFERENCE.sub(versioned, text)


def _join(base: str, relative: str) -> str:
    parts = [p for p in base.split("/") if p]
    for part in relative.split("/"):
        if part == "..":
            parts = parts[:-1]
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def encoding_for(accept: str, asset: Asset) -> str | None:
    """Pick the best encoding the browser accepts that this asset has: br, then gzip, else none."""
    accepted = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if asset.brotli is not None and "br" in accepted:
        return "br"
    if asset.gzip is not None and ("gzip" in accepted or "*" in accepted):
        return "gzip"
    return None
