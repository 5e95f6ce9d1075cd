"""Medians, ratios, goals and the final table."""

import os
import platform
import sqlite3
import statistics
import subprocess

from .load import Run

KB = 1000  # as Chrome DevTools counts

# From the design. A goal is where we want to be; a floor is what this release must reach.
MOOD_GOAL_RATIO = 0.8
MOOD_GOAL_P95_MS = 50.0
MOOD_FLOOR_RATIO = 0.5
TODAY_GOAL_RATIO = 0.4
TODAY_FLOOR_RATIO = 0.2
FIRST_VISIT_GOAL_BYTES = 60 * KB
# Other processes using more than this share of a CPU during a run make its figures suspect.
BUSY_MACHINE_CPUS = 0.1


def command_output(command: list[str]) -> str:
    """Return a command's first output line, or '' if it cannot run."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return ""
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else ""


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """Describe the machine the figures come from."""
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        "wrk": command_output(["wrk", "-v"]).split(" [")[0],
    }


def config(args, gunicorn_cpu, wrk_cpu) -> dict:
    """Return the run's settings for the report."""
    return {
        "benchmarks": args.only,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "rounds": args.rounds,
        "retries": args.retries,
        "wrk": f"-t{args.threads} -c{args.connections}",
        "gunicorn": f"sync, --workers {args.workers}",
        "pinned": gunicorn_cpu is not None,
        "gunicorn_cpu": gunicorn_cpu,
        "wrk_cpu": wrk_cpu,
        "scale": args.scale,
    }


def config_line(cfg: dict) -> str:
    """Say in one line how this run measures."""
    pinning = f"gunicorn on CPU {cfg['gunicorn_cpu']}, wrk on CPU {cfg['wrk_cpu']}" if cfg["pinned"] else "not pinned"
    return (
        f"wrk {cfg['wrk']}, {cfg['rounds']} x {cfg['duration_s']:g} s per server after {cfg['warmup_s']:g} s warm-up; "
        f"gunicorn {cfg['gunicorn']}; {pinning}"
    )


def run_line(run: Run) -> str:
    """Describe one run in a line."""
    return (
        f"{run.server:7} {run.rps:8.1f} req/s  p50 {run.p50_ms:6.2f}  p95 {run.p95_ms:6.2f}  p99 {run.p99_ms:6.2f} ms"
        f"  CPU {run.cpu_ms_per_request:.3f} ms/req  statuses {run.statuses}"
        f"{f'  stored {run.rows_added}' if run.rows_added is not None else ''}"
        f"  (others {run.background_cpus:.2f} CPUs)"
    )


def medians(runs: list[Run]) -> dict:
    """Return the median of each figure over runs."""
    return {
        "rps": round(statistics.median(r.rps for r in runs), 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in runs), 2),
        "p95_ms": round(statistics.median(r.p95_ms for r in runs), 2),
        "p99_ms": round(statistics.median(r.p99_ms for r in runs), 2),
        "cpu_ms_per_request": round(statistics.median(r.cpu_ms_per_request for r in runs), 3),
    }


def pair(name: str, runs: dict[str, list[Run]]) -> dict:
    """Summarise interleaved runs: medians per server, ratio per round and their median."""
    ratios = [a.rps / b.rps for b, a in zip(runs["baseline"], runs["app"], strict=True) if b.rps]
    summary = {}
    for key in ("baseline", "app"):
        summary[key] = {
            "server": runs[key][0].server,
            "path": runs[key][0].path,
            "median": medians(runs[key]),
            "runs": [r.summary() for r in runs[key]],
        }
    summary["discarded"] = [r.summary() for r in runs.get("discarded", [])]
    summary["ratios"] = [round(r, 3) for r in ratios]
    summary["ratio"] = round(statistics.median(ratios), 3) if ratios else None
    return summary


def plural(count: int, noun: str) -> str:
    """Return "1 request", "2 requests"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def verdict(ok: bool | None) -> str:
    """Return PASS, FAIL, or - when there is nothing to judge."""
    return "-" if ok is None else "PASS" if ok else "FAIL"


def goals(results: dict) -> list[dict]:
    """Compare the measured figures with the design's goals and this release's floors."""
    rows = []
    if "mood" in results:
        ratio, p95 = results["mood"]["ratio"], results["mood"]["app"]["median"]["p95_ms"]
        rows.append(
            {
                "benchmark": "mood API",
                "goal": f">= {MOOD_GOAL_RATIO}x insert and p95 < {MOOD_GOAL_P95_MS:g} ms",
                "measured": f"{ratio:.2f}x, p95 {p95:.1f} ms",
                "pass": ratio >= MOOD_GOAL_RATIO and p95 < MOOD_GOAL_P95_MS,
                "floor": f">= {MOOD_FLOOR_RATIO}x",
                "floor_pass": ratio >= MOOD_FLOOR_RATIO,
            }
        )
    if "today" in results:
        ratio = results["today"]["ratio"]
        rows.append(
            {
                "benchmark": "Today page",
                "goal": f">= {TODAY_GOAL_RATIO}x bare",
                "measured": f"{ratio:.2f}x",
                "pass": ratio >= TODAY_GOAL_RATIO,
                "floor": f">= {TODAY_FLOOR_RATIO}x",
                "floor_pass": ratio >= TODAY_FLOOR_RATIO,
            }
        )
    visits = results.get("first_visit")
    if visits:
        first = visits["first"]["bytes"]
        rows.append(
            {
                "benchmark": "first visit",
                "goal": f"< {FIRST_VISIT_GOAL_BYTES // KB} KB",
                "measured": f"{first / KB:.1f} KB",
                "pass": first < FIRST_VISIT_GOAL_BYTES,
                "floor": None,
                "floor_pass": None,
            }
        )
        extra = visits["repeat"]["unexpected"]
        rows.append(
            {
                "benchmark": "repeat visit",
                "goal": "only the HTML",
                "measured": f"{plural(len(visits['repeat']['network']), 'request')}, {len(extra)} beyond the goal",
                "pass": not extra,
                "floor": None,
                "floor_pass": None,
            }
        )
    dispatch = results.get("dispatch")
    if dispatch:
        rows.append(
            {
                "benchmark": "dispatch",
                "goal": f"{dispatch['reminders']:,} reminders < {dispatch['goal_seconds']:g} s",
                "measured": f"{dispatch['seconds']:.1f} s, {dispatch['ratio']:.2f}x raw rate",
                "pass": dispatch["seconds"] < dispatch["goal_seconds"],
                "floor": None,
                "floor_pass": None,
            }
        )
    for database, measured in (results.get("clinician") or {}).items():
        for page in measured["pages"]:
            rows.append(
                {
                    "benchmark": f"{page['page']} ({database})",
                    "goal": f"< {measured['goal_ms']:g} ms, {page['what']}",
                    "measured": f"{page['page_ms']:.0f} ms, {page['ratio']}x plain",
                    "pass": page["pass"],
                    "floor": None,
                    "floor_pass": None,
                }
            )
    return rows


def table(results: dict) -> str:
    """Return the final table: throughput and latency per route, then goals."""
    lines = []
    header = f"{'route':28} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10} {'ratio':>6}"
    lines += [header, "-" * len(header)]
    for key in ("mood", "today"):
        if key not in results:
            continue
        for side in ("baseline", "app"):
            part = results[key][side]
            m = part["median"]
            method = "POST" if key == "mood" else "GET"
            route = f"{method} {part['path']} ({part['server']})"
            ratio = f"{results[key]['ratio']:.2f}" if side == "app" else ""
            lines.append(
                f"{route:28} {m['rps']:8.1f} {m['p50_ms']:7.2f} {m['p95_ms']:7.2f} {m['p99_ms']:7.2f}"
                f" {m['cpu_ms_per_request']:10.3f} {ratio:>6}"
            )
    visits = results.get("first_visit")
    if visits:
        first = visits["first"]
        on_wire = f"{first['bytes'] / KB:8.1f} KB on the wire, {plural(first['requests'], 'request')}"
        lines.append(f"{'first visit /home':28} {on_wire}")
        network = ", ".join(visits["repeat"]["network"]) or "nothing"
        lines.append(f"{'repeat visit /home':28} to the network: {network}")
    dispatch = results.get("dispatch")
    if dispatch:
        lines.append(
            f"{'reminder dispatch':28} {dispatch['reminders']:,} in {dispatch['seconds']:.2f} s ({dispatch['rate']:,.0f}/s); "
            f"encrypt + sign alone {dispatch['raw_rate']:,.0f}/s per core"
        )
    for database, measured in (results.get("clinician") or {}).items():
        for page in measured["pages"]:
            name = f"{page['page']} ({database})"
            lines.append(
                f"{name:28} {page['page_ms']:8.1f} ms ({page['what']}); plain aggregate {page['plain_ms']:.1f} ms"
            )
    lines.append("")
    header = f"{'goal':14} {'target':40} {'measured':32} {'goal':5} {'floor':14} {'floor':5}"
    lines += [header, "-" * len(header)]
    for row in results["goals"]:
        lines.append(
            f"{row['benchmark']:14} {row['goal']:40} {row['measured']:32} {verdict(row['pass']):5}"
            f" {row['floor'] or '':14} {verdict(row['floor_pass']):5}"
        )
    busiest = max((run["background_cpus"] for run in all_runs(results)), default=0.0)
    if busiest > BUSY_MACHINE_CPUS:
        lines += [
            "",
            f"WARNING: other processes used up to {busiest:.2f} CPUs during the runs; the figures above are "
            "low and noisy. Measure on a quiet machine.",
        ]
    if results["problems"]:
        lines += ["", "CORRECTNESS PROBLEMS (the run fails):", *(f"  - {p}" for p in results["problems"])]
    else:
        checks = []
        if "mood" in results or "today" in results:
            checks.append("every answer 2xx")
        if "mood" in results:
            checks.append("stored rows match acknowledged requests; audit chain intact")
        if "first_visit" in results:
            checks.append("the first visit reached the Today page and the worker activated")
        if "dispatch" in results:
            checks.append("one push per reminder, every decrypted sample a notification, every reminder sent")
        if results.get("clinician"):
            checks.append("every clinician's page rendered for the signed-in clinician or administrator")
        lines += ["", f"correctness: {'; '.join(checks)}"]
    return "\n".join(lines)


def all_runs(results: dict) -> list[dict]:
    """Return every measured run in the results."""
    return [
        run
        for key in ("mood", "today")
        if key in results
        for side in ("baseline", "app")
        for run in results[key][side]["runs"]
    ]


def exit_status(results: dict, *, enforce_floors: bool) -> int:
    """Return 1 on any correctness problem (or a missed floor when enforcing floors), else 0."""
    if results["problems"]:
        return 1
    if enforce_floors and any(row["floor_pass"] is False for row in results["goals"]):
        return 1
    return 0
