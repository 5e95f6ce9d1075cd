"""Static analysis of aftercare's own code: bandit finds nothing of medium or high severity.

The few statements that build SQL text from module constants (the prepared hot-path queries and
the migrations' dosing kinds) carry `# nosec B608` with the reason on the line bandit reports;
every value in them is a bound parameter. Run once, on SQLite (.ci/run skips it for PostgreSQL).
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bandit_finds_nothing_of_medium_or_high_severity():
    done = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", "aftercare", "--severity-level", "medium", "-f", "json", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    findings = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} ({r['issue_severity']}) {r['issue_text']}"
        for r in report["results"]
    ]
    assert not findings, "bandit:\n" + "\n".join(findings)
    assert not report["errors"], report["errors"]
    assert report["metrics"]["_totals"]["loc"] > 10_000  # it read the whole package
    assert done.returncode == 0, done.stderr
