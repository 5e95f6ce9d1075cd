"""First and repeat visit to the Today page in headless Chromium: bytes on the wire, and what
goes to the network once the service worker is active.

Three independent records are kept for each visit:
- the counting relay (bench/proxy.py) between browser and server: every byte the server sent,
  headers included; this is the figure reported as "bytes on the wire";
- Playwright's `requestfinished` events for the context, which on Chromium include the
  service worker's own fetches (its precache), each sized from CDP's
  Network.loadingFinished.encodedDataLength in the page's or the worker's target: the
  breakdown by URL;
- the server's access log: the list of requests that really reached the network.
"""

import gzip
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

from . import client
from .proxy import CountingProxy
from .report import plural
from .servers import REPO

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 15_000
TEXT_TYPES = ("text/", "javascript", "json", "svg", "manifest")
QUIET_SECONDS = 1.0  # the access log must stay still this long before a visit counts as over

WAIT_FOR_WORKER = """async (timeout) => {
  const activated = (async () => {
    const registration = await navigator.serviceWorker.ready;
    const worker = registration.active;
    if (worker.state !== "activated") {
      await new Promise((done) => worker.addEventListener("statechange", () => worker.state === "activated" && done()));
    }
    return worker.state;
  })();
  const late = new Promise((done) => setTimeout(() => done("timeout"), timeout));
  return Promise.race([activated, late]);
}"""


def worker_imports() -> set[str]:
    """Return the scripts /sw.js imports: the browser's update check fetches them too."""
    source = (REPO / "aftercare" / "static" / "sw.js").read_text()
    return set(re.findall(r"""importScripts\(\s*["']([^"']+)["']""", source))


class Meter:
    """Each finished request of a browser context, page's and service worker's alike."""

    def __init__(self, context):
        self.entries: list[dict] = []
        context.on("requestfinished", self.finished)
        context.on("requestfailed", self.failed)

    def finished(self, request) -> None:
        """Record a finished request and its bytes on the wire."""
        response = request.response()
        sizes = request.sizes()
        # headers + body = CDP's encodedDataLength; 0 when answered by a cache or the worker.
        on_wire = max(0, sizes["responseHeadersSize"] + sizes["responseBodySize"])
        self.entries.append(
            {
                "url": path_of(request.url),
                "by": "worker" if request.service_worker else "page",
                "status": response.status if response else None,
                "from_worker": bool(response and response.from_service_worker),
                "bytes": on_wire,
            }
        )

    def failed(self, request) -> None:
        """Record a failed request."""
        self.entries.append({"url": path_of(request.url), "by": "failed", "error": request.failure, "bytes": 0})

    def take(self) -> list[dict]:
        """Return the requests recorded since the last call, and start afresh."""
        entries, self.entries = self.entries, []
        return entries


def path_of(url: str) -> str:
    """Return a URL's path and query."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def log_size(access_log: Path) -> int:
    """Return the access log's size in bytes (0 before its first line)."""
    return access_log.stat().st_size if access_log.exists() else 0


def served_since(access_log: Path, offset: int) -> list[str]:
    """Return 'METHOD /path?query STATUS' for each request the server logged after offset."""
    with open(access_log, "rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    served = []
    for line in lines:
        method, path, query, status = (line.split("|") + ["", "", "", ""])[:4]
        served.append(f"{method} {path}{'?' + query if query else ''} {status}")
    return served


def settle(page, access_log: Path) -> None:
    """Wait for the network to go quiet: no page requests, and nothing new in the server's log."""
    page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    size, still_since = log_size(access_log), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - still_since < QUIET_SECONDS:
        time.sleep(0.1)
        if log_size(access_log) != size:
            size, still_since = log_size(access_log), time.monotonic()


def sign_in(browser, url: str, account: dict, proxy: CountingProxy) -> tuple[list[dict], int]:
    """Sign in through the real form in a throwaway context; return its cookies and its bytes."""
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.goto(url + "/login")
        page.fill("input[name=email]", account["email"])
        page.fill("input[name=password]", account["password"])
        page.click("button[type=submit]")
        page.wait_for_url("**/home", timeout=TIMEOUT_MS)
        page.evaluate(WAIT_FOR_WORKER, TIMEOUT_MS)
        page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        return context.cookies(), proxy.take()["to_client"]
    finally:
        context.close()


def visit(page, access_log: Path, meter: Meter, proxy: CountingProxy, action) -> dict:
    """Do one visit and return what it cost: relay bytes, per-URL breakdown, requests served."""
    offset = log_size(access_log)
    proxy.take()
    meter.take()
    action()
    settle(page, access_log)
    counts = proxy.take()
    entries = meter.take()
    on_wire = sorted((e for e in entries if e["bytes"] > 0), key=lambda e: -e["bytes"])
    attributed = sum(e["bytes"] for e in on_wire)
    return {
        "bytes": counts["to_client"],
        "bytes_sent": counts["to_server"],
        "connections": counts["connections"],
        "requests": len(served_since(access_log, offset)),
        "served": served_since(access_log, offset),
        "by_url": [{"url": e["url"], "by": e["by"], "bytes": e["bytes"]} for e in on_wire],
        "attributed_bytes": attributed,
        "failed": [e for e in entries if e["by"] == "failed"],
    }


def classify_repeat(served: list[str]) -> tuple[list[str], list[str]]:
    """Split the repeat visit's requests into the network list and those beyond the goal."""
    allowed_update_check = {"/sw.js", *worker_imports()}
    network, unexpected = [], []
    for line in served:
        _, target, _ = line.split(" ")
        path = target.split("?", 1)[0]
        network.append(target)
        if path == "/home" or path in allowed_update_check or path.startswith("/api/"):
            continue
        unexpected.append(target)
    return network, unexpected


def gzip_estimate(server_url: str, served: list[str], cookie: str) -> int:
    """Estimate a visit's bytes had a reverse proxy gzipped the text responses (level 6).

    Fetches each request the server logged again, straight from the server (not counted).
    """
    total = 0
    for line in served:
        method, target, status = line.split(" ")
        _, headers, _, body = client.request(server_url, method, target, headers={"Cookie": cookie})
        head = len("HTTP/1.1 200 OK\r\n\r\n") + sum(len(k) + len(v) + 4 for k, v in headers.items())
        if status == "304":
            body = b""
        elif any(kind in headers.get("Content-Type", "") for kind in TEXT_TYPES):
            head += len("Content-Encoding: gzip\r\n")
            body = gzip.compress(body, compresslevel=6)
        total += head + len(body)
    return total


def measure_visits(
    base_url: str, server_url: str, proxy: CountingProxy, access_log: Path, account: dict, problems: list
) -> dict:
    """Measure the first visit to /home (service worker install included) and a repeat visit."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            cookies, sign_in_bytes = sign_in(browser, base_url, account, proxy)
            # A fresh context holding only the session cookie: nothing cached, no worker yet.
            context = browser.new_context(**PHONE)
            context.add_cookies(cookies)
            meter = Meter(context)
            page = context.new_page()
            state = {}

            def first_visit():
                """Open /home and wait for the service worker to activate."""
                page.goto(base_url + "/home", wait_until="load")
                state["worker"] = page.evaluate(WAIT_FOR_WORKER, TIMEOUT_MS)

            first = visit(page, access_log, meter, proxy, first_visit)
            heading = page.locator("h1").first.inner_text()
            if state["worker"] != "activated":
                problems.append(f"first visit: the service worker did not activate ({state['worker']})")
            if not page.url.endswith("/home") or "Today" not in heading:
                problems.append(f"first visit: landed on {page.url} ({heading!r}), not the patient's Today page")
            repeat = visit(page, access_log, meter, proxy, lambda: page.reload(wait_until="load"))
            context.close()
        finally:
            browser.close()
    repeat["network"], repeat["unexpected"] = classify_repeat(repeat["served"])
    session = next(f"{c['name']}={c['value']}" for c in cookies if c["name"] == client.COOKIE_NAME)
    first["gzip_estimate_bytes"] = gzip_estimate(server_url, first["served"], session)
    for name, data in (("first", first), ("repeat", repeat)):
        if data["failed"]:
            problems.append(f"{name} visit: failed requests {data['failed']}")
        print(f"  {name} visit: {data['bytes']:,} bytes from the server, {plural(data['requests'], 'request')}")
        for entry in data["by_url"]:
            print(f"    {entry['bytes']:>8,}  {entry['by']:6}  {entry['url']}")
        unattributed = data["bytes"] - data["attributed_bytes"]
        if unattributed:
            print(f"    {unattributed:>8,}  not in the browser's records (relay count minus the above)")
    print(f"  first visit with text gzipped by a reverse proxy (estimate): {first['gzip_estimate_bytes']:,} bytes")
    print(f"  repeat visit, to the network: {', '.join(repeat['network']) or 'nothing'}")
    return {"first": first, "repeat": repeat, "sign_in_then_home_bytes": sign_in_bytes}
