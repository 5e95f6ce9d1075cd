"""The clinician's views at clinic scale: server time of each page beside a plain aggregate over the raw rows.

    python -m bench.clinician --database-url sqlite:////tmp/clinic.db [--runs 7]
    python -m bench.clinician --database-url postgresql://... --fill 2000   # migrate and fill it first

(`python -m bench.run --only clinician` runs it on the benchmark's own `--scale` database.)

The database must hold a clinic from `flask --app aftercare demo --scale N` (`--fill N` makes one).
A clinician holding every patient is added (`everyone@bench.aftercare.example`) next to the scale
clinic's clinician 0, who holds a tenth. Each page is timed in this process: the view function
called in a request context as the signed-in clinician, from its first line to the rendered page
(its audit row included), so nothing of HTTP or the sign-in layer is counted.

| page | plain aggregate over the raw rows, timed in the same rounds |
|---|---|
| panel (a tenth, and everyone) | each patient's last mood entry and mean mood over two weeks, and last questionnaire, from `mood_entry` and `check_in` |
| one patient's record | that patient's daily mood over 30 days and all their questionnaires |
| cohort, 12 months (a tenth) | each patient's mean mood over the range, from `mood_entry` |
| clinic figures, 12 months (everyone, the admin page) | the same over every patient |

Rounds interleave page and aggregate; the median of each is reported with the ratio
page / aggregate. Goal: every page under 150 ms.
"""

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_MS = 150.0
EVERYONE = "everyone@bench.aftercare.example"


def fill(url: str, scale: int) -> None:
    """Migrate the database and fill it with the demo clinic and `scale` generated patients."""
    env = {**os.environ, "AFTERCARE_DATABASE_URL": url, "AFTERCARE_ENV": "development", "PYTHONPATH": str(REPO)}
    for args in (["db", "migrate"], ["demo", "--scale", str(scale)]):
        command = [sys.executable, "-m", "flask", "--app", "aftercare", *args]
        subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True, timeout=3600)


def measure(url: str, runs: int = 7) -> dict:
    """Time each page and its plain aggregate, interleaved; return the medians."""
    os.environ["AFTERCARE_DATABASE_URL"] = url
    os.environ.setdefault("AFTERCARE_ENV", "development")
    from flask_login import login_user

    from aftercare import create_app
    from aftercare.db import db
    from aftercare.models import ADMIN
    from aftercare.models import CareRelationship
    from aftercare.models import CLINICIAN
    from aftercare.models import PATIENT
    from aftercare.models import User
    from aftercare.models import utcnow

    app = create_app()
    with app.app_context(), db.connection_context():
        tenth = User.get(User.email == "clinician00000@scale.aftercare.example")
        everyone = everyone_clinician(User, CareRelationship, CLINICIAN, PATIENT, utcnow)
        admin = User.get(User.role == ADMIN)
        patient = tenth.patients().first()
        ids_tenth = [p.id for p in tenth.patients()]
        ids_all = [p.id for p in everyone.patients()]
        today = utcnow().date()
        year = {"from": (today - dt.timedelta(days=364)).isoformat(), "to": today.isoformat()}
        month = today.replace(day=1)
        first_month = (month - dt.timedelta(days=330)).replace(day=1)
        months = {"from": first_month.strftime("%Y-%m"), "to": month.strftime("%Y-%m")}
        cases = [
            ("panel", f"{len(ids_tenth)} patients", tenth, "clinician.index", {}, "/clinician/", panel_sql(ids_tenth)),
            ("panel", f"{len(ids_all)} patients", everyone, "clinician.index", {}, "/clinician/", panel_sql(ids_all)),
            (
                "record",
                "one patient",
                tenth,
                "clinician.patient",
                {"patient_id": patient.id},
                f"/clinician/patients/{patient.id}",
                record_sql(patient.id),
            ),
            (
                "cohort",
                f"{len(ids_tenth)} patients, 12 months",
                tenth,
                "clinician.cohort_page",
                {},
                "/clinician/cohort?" + "&".join(f"{k}={v}" for k, v in year.items()),
                cohort_sql(ids_tenth, today - dt.timedelta(days=364), today),
            ),
            (
                "clinic figures",
                f"{len(ids_all)} patients, 12 whole months",
                admin,
                "admin.cohort_page",
                {},
                "/admin/cohort?" + "&".join(f"{k}={v}" for k, v in months.items()),
                cohort_sql(ids_all, first_month, today),
            ),
        ]
        results = []
        for name, what, user, endpoint, view_args, path, (sql, params) in cases:
            view = app.view_functions[endpoint]

            def page(user=user, view=view, view_args=view_args, path=path):
                with app.test_request_context(path):
                    login_user(user)
                    response = view(**view_args)
                    body = response[0] if isinstance(response, tuple) else response
                    assert isinstance(body, str) and len(body) > 1000, f"{path} did not render"

            def plain(sql=sql, params=params):
                db.execute_sql(sql, params).fetchall()

            page(), plain()  # warm: templates compiled, pages cached
            page_ms, plain_ms = [], []
            for _ in range(runs):
                page_ms.append(_timed(page))
                plain_ms.append(_timed(plain))
            row = {
                "page": name,
                "what": what,
                "page_ms": round(statistics.median(page_ms), 1),
                "plain_ms": round(statistics.median(plain_ms), 1),
                "page_runs": [round(x, 1) for x in page_ms],
            }
            row["ratio"] = round(row["page_ms"] / row["plain_ms"], 2) if row["plain_ms"] else None
            row["pass"] = row["page_ms"] < GOAL_MS
            results.append(row)
            print(f"  {describe(row)}", flush=True)
        return {"database": db.obj.__class__.__name__, "runs": runs, "goal_ms": GOAL_MS, "pages": results}


def everyone_clinician(User, CareRelationship, CLINICIAN, PATIENT, utcnow):
    """Return the clinician who holds every patient of the clinic, adding them the first time."""
    found = User.get_or_none(User.email == EVERYONE)
    if found is not None:
        return found
    from aftercare.db import db
    from aftercare.passwords import hash_password

    with db.atomic():
        clinician = User.create(
            email=EVERYONE, name="Bench Everyone", role=CLINICIAN, password_hash=hash_password("bench clinic")
        )
        ids = [user_id for (user_id,) in User.select(User.id).where(User.role == PATIENT).tuples()]
        rows = [{"patient": i, "clinician": clinician.id, "created_at": utcnow()} for i in ids]
        for start in range(0, len(rows), 1000):
            CareRelationship.insert_many(rows[start : start + 1000]).execute()
    return clinician


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _marks(ids) -> str:
    from aftercare.db import db

    return ", ".join([db.obj.param] * len(ids))


def _sql(text: str) -> str:
    from aftercare.db import db

    return text.replace("?", db.obj.param)


def panel_sql(ids: list[int]) -> tuple[str, list]:
    since = dt.datetime.utcnow() - dt.timedelta(days=14)
    marks = _marks(ids)
    sql = (
        f"SELECT m.patient_id, MAX(m.recorded_at), AVG(m.score), (SELECT MAX(c.submitted_at) FROM check_in c "
        f"WHERE c.patient_id = m.patient_id) FROM mood_entry m WHERE m.patient_id IN ({marks}) "
        f"AND m.recorded_at >= {_sql('?')} AND m.deleted_at IS NULL GROUP BY m.patient_id"
    )
    return sql, [*ids, since]


def record_sql(patient_id: int) -> tuple[str, list]:
    since = dt.datetime.utcnow() - dt.timedelta(days=30)
    sql = _sql(
        "SELECT local_day, AVG(score), MIN(score), MAX(score) FROM mood_entry WHERE patient_id = ? "
        "AND recorded_at >= ? AND deleted_at IS NULL GROUP BY local_day "
        "UNION ALL SELECT NULL, total, NULL, NULL FROM check_in WHERE patient_id = ?"
    )
    return sql, [patient_id, since, patient_id]


def cohort_sql(ids: list[int], start: dt.date, end: dt.date) -> tuple[str, list]:
    marks = _marks(ids)
    sql = (
        f"SELECT patient_id, AVG(score) FROM mood_entry WHERE patient_id IN ({marks}) "
        f"AND local_day BETWEEN {_sql('?')} AND {_sql('?')} AND deleted_at IS NULL GROUP BY patient_id"
    )
    return sql, [*ids, start, end]


def describe(row: dict) -> str:
    verdict = "under" if row["pass"] else "OVER"
    return (
        f"{row['page']} ({row['what']}): {row['page_ms']:.0f} ms ({verdict} {GOAL_MS:.0f}); plain aggregate "
        f"{row['plain_ms']:.0f} ms; ratio {row['ratio']}x"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--fill", type=int, default=0, help="first migrate and fill with `demo --scale N`")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.fill:
        print(f"filling {args.database_url.split('@')[-1]} with demo --scale {args.fill}...", flush=True)
        fill(args.database_url, args.fill)
    result = measure(args.database_url, args.runs)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
