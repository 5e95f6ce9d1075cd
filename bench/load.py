"""One bounded wrk run against one server, with the server's CPU time measured around it."""

import json
import os
import shutil
import subprocess
import threading
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from .servers import pinned
from .servers import Server
from .servers import system_cpu

SCRIPT = Path(__file__).resolve().parent / "lua" / "bench.lua"


@dataclass
class Load:
    """What wrk sends: the path, the mode of bench.lua, and the session headers."""

    path: str
    mode: str = "get"  # or "mood"
    cookie: str = ""  # for GETs
    sessions: list[tuple[str, str]] = field(default_factory=list)  # (Cookie, X-CSRFToken) per patient, for posts


@dataclass
class Run:
    """The figures of one wrk run."""

    server: str
    path: str
    requests: int
    seconds: float
    statuses: dict[int, int]
    errors: dict[str, int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_seconds: float
    wrk_cpu_seconds: float = 0.0
    # CPU the rest of the machine used meanwhile (other processes), in CPUs, and hypervisor steal.
    background_cpus: float = 0.0
    steal_cpus: float = 0.0
    acked: list[str] = field(default_factory=list, repr=False)
    rows_added: int | None = None  # rows the run stored, for posts

    @property
    def rps(self) -> float:
        """Return completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        """Return the server's CPU milliseconds per completed request."""
        return 1000 * self.cpu_seconds / self.requests if self.requests else 0.0

    @property
    def non_2xx(self) -> int:
        """Return how many answers were not 2xx."""
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def socket_errors(self) -> int:
        """Return wrk's connect, read, write and timeout errors."""
        # wrk counts non-2xx/3xx answers under "status" too; we count those ourselves.
        return sum(n for kind, n in self.errors.items() if kind != "status")

    def summary(self) -> dict:
        """Return the run as plain data for the JSON report."""
        data = {k: v for k, v in asdict(self).items() if k != "acked"}
        data.update(rps=round(self.rps, 1), cpu_ms_per_request=round(self.cpu_ms_per_request, 3))
        data["statuses"] = {str(k): v for k, v in self.statuses.items()}
        return data


def wrk_binary() -> str:
    """Return the path of wrk, or explain how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed. On Debian/Ubuntu: apt-get install -y wrk")
    return path


def run_timed(command: list[str], env: dict, output: Path, timeout: float) -> tuple[int, float]:
    """Run a command to completion; return its exit status and the CPU seconds it used."""
    with open(output, "wb") as out:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        # wait4, not wait: it also returns the child's resource usage.
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


def run_wrk(server: Server, load: Load, *, seconds: float, threads: int, connections: int, cpu, workdir: Path) -> Run:
    """Run wrk against a server for a bounded time; return its figures and the server's CPU time."""
    result = workdir / "wrk-result.json"
    acked = workdir / "wrk-acked.txt"
    for path in (result, acked):
        path.unlink(missing_ok=True)
    env = {
        **os.environ,
        "BENCH_MODE": load.mode,
        "BENCH_COOKIE": load.cookie,
        "BENCH_SESSIONS": "\n".join(f"{cookie}|{csrf}" for cookie, csrf in load.sessions),
        "BENCH_RESULT": str(result),
        "BENCH_ACKED": str(acked) if load.mode == "mood" else "",
    }
    command = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        server.url + load.path,
    ]
    output = workdir / "wrk-output.txt"
    before, machine_before = server.cpu_seconds(), system_cpu()
    returncode, wrk_cpu = run_timed(pinned(command, cpu), env, output, timeout=seconds + 60)
    after, machine_after = server.cpu_seconds(), system_cpu()
    if returncode != 0 or not result.exists():
        raise RuntimeError(f"wrk failed ({returncode}):\n{output.read_text(errors='replace')}")
    data = json.loads(result.read_text())
    latency = data["latency_us"]
    elapsed = data["duration_us"] / 1e6
    busy = machine_after["busy"] - machine_before["busy"]
    return Run(
        server=server.name,
        path=load.path,
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        statuses={int(k): int(v) for k, v in data["statuses"].items()},
        errors={k: int(v) for k, v in data["errors"].items()},
        p50_ms=latency["p50"] / 1000,
        p95_ms=latency["p95"] / 1000,
        p99_ms=latency["p99"] / 1000,
        cpu_seconds=after - before,
        wrk_cpu_seconds=wrk_cpu,
        background_cpus=max(0.0, busy - (after - before) - wrk_cpu) / elapsed,
        steal_cpus=(machine_after["steal"] - machine_before["steal"]) / elapsed,
        acked=acked.read_text().split() if acked.exists() else [],
    )
