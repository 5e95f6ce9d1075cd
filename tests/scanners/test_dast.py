"""DAST: wapiti 3 (Debian's package) scans the running app signed in as a patient and as a clinician.

The demo clinic is loaded into this run's database and served by a real server process in
production mode. Each scan gets a session the test made (its cookie passed as a header), skips
the pages that would end that session or change its password, and has a bounded time. It must
find nothing above low severity, and the server's own log must show that it reached a signed-in
page, so a scan that was bounced to the sign-in page cannot pass. Run once, on SQLite.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aftercare.demo import DEMO_PASSWORD
from aftercare.demo import DEMO_TOTP_SECRET
from bench.client import sign_in
from tests.crash_server import Server

ROOT = Path(__file__).resolve().parents[2]
SCAN_SECONDS = 30  # crawling; then each attack module gets ATTACK_SECONDS
LOW = 1  # wapiti's levels: 1 low, 2 medium, 3 high
# With the crawl, about 2 minutes for the clinician and 1 for the patient: CI stays under half an hour.
ATTACK_SECONDS = 5
NEVER = ["/logout", "/my-data/close", "/account/password", "/account/sessions/*", "/account/recovery-codes"]


@pytest.fixture
def demo_server(database_url, tmp_path):
    if not shutil.which("wapiti"):
        pytest.fail("wapiti is not installed (Debian: apt-get install wapiti); .ci/run installs it")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AFTERCARE_")}
    env |= {"AFTERCARE_DATABASE_URL": database_url, "AFTERCARE_ENV": "development"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "aftercare", "demo"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    server = Server(database_url, log=tmp_path / "server.log")
    server.start()
    yield server
    server.kill()


@pytest.mark.parametrize(
    ("email", "totp", "home"),
    [("maya@demo.aftercare.example", None, "/home"), ("dana@demo.aftercare.example", DEMO_TOTP_SECRET, "/clinician/")],
    ids=["patient", "clinician"],
)
def test_a_signed_in_scan_finds_nothing_above_low(demo_server, tmp_path, email, totp, home):
    cookie = sign_in(demo_server.url, email, DEMO_PASSWORD, totp).cookie_header
    report = tmp_path / "wapiti.json"
    command = ["/usr/bin/python3", str(ROOT / "tests/scanners/wapiti_run.py"), "-u", f"{demo_server.url}/",
               "--scope", "folder", "-H", f"Cookie: {cookie}", "--max-scan-time", str(SCAN_SECONDS),
               "--max-attack-time", str(ATTACK_SECONDS), "--flush-session", "-f", "json", "-o", str(report), "-v", "0"]  # fmt: skip
    for path in NEVER:
        command += ["-x", demo_server.url + path]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0 and report.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    found = json.loads(report.read_text())
    above_low = [
        f"{kind}: level {item['level']} {item['method']} {item['path']} {item.get('parameter') or ''} {item['info'][:200]}"
        for section in ("vulnerabilities", "anomalies")
        for kind, items in found[section].items()
        for item in items
        if item["level"] > LOW
    ]
    assert not above_low, "\n".join(above_low)
    log = (tmp_path / "server.log").read_text(errors="replace")
    # The scan was signed in: it got the signed-in page itself, not a redirect to /login.
    assert re.search(rf'"GET {re.escape(home)}(\?[^ ]*)? HTTP/1\.1[^"]*" 200', log), "the scan never reached " + home
    assert len(re.findall(r'" 200 ', log)) > 50, "the scan barely ran"
