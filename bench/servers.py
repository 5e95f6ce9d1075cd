"""Starting, waiting for, measuring and stopping gunicorn servers, all the same way."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
# method|path|query|status (header atoms such as %({x}i)s break gunicorn's log when the header is absent)
ACCESS_FORMAT = "%(m)s|%(U)s|%(q)s|%(s)s"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(command: list[str], cpu: int | None) -> list[str]:
    """Prefix a command with `taskset -c cpu` when a core is given."""
    return ["taskset", "-c", str(cpu), *command] if cpu is not None else command


class Server:
    """One gunicorn master (sync workers) on 127.0.0.1, started as a subprocess of ours."""

    def __init__(self, name: str, target: str, *, env: dict, workdir: Path, workers: int = 2, cpu=None, log=None):
        self.name = name
        self.target = target
        self.env = env
        self.workers = workers
        self.cpu = cpu
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self.access_log = log  # a path: gunicorn writes one line per request there
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        """Return the gunicorn command line."""
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--worker-class",
            "sync",
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ]
        if self.access_log:
            command += ["--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT]
        return pinned([*command, self.target], self.cpu)

    def start(self, probe: str = "/") -> "Server":
        """Start gunicorn and wait until `probe` answers."""
        with open(self.log_path, "ab") as log:
            # A session of its own: a Ctrl-C in the terminal reaches us, and we stop it in order.
            self.process = subprocess.Popen(
                self.command(),
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self.wait_ready(probe)
        return self

    def wait_ready(self, probe: str) -> None:
        """Poll the probe URL until any response arrives, or fail with gunicorn's log."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited with {self.process.returncode}:\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", probe)
                status = conn.getresponse().status
                conn.close()
                if status < 500 and len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server did not answer {probe} in {START_TIMEOUT:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        """Return the end of the server's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's children (the workers)."""
        return children(self.process.pid)

    def cpu_seconds(self) -> float:
        """Return the CPU time (user + system) used so far by the master and its workers."""
        return sum(cpu_seconds(pid) for pid in [self.process.pid, *self.worker_pids()])

    def stop(self) -> None:
        """Stop gunicorn: SIGTERM, wait, and SIGKILL its process group if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # our own session: only gunicorn is in it
            self.process.wait()


def read_stat(pid: int) -> list[str] | None:
    """Return /proc/<pid>/stat's fields after the command name, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces; fields after it are plain.
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """Return utime + stime of one process in seconds (0 if it is gone)."""
    fields = read_stat(pid)
    if fields is None:
        return 0.0
    # After the name: state(0) ppid(1) ... utime(11) stime(12), i.e. fields 14 and 15 of stat(5).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def system_cpu() -> dict[str, float]:
    """Return the whole machine's busy and stolen CPU seconds so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = (fields + [0] * 8)[:8]
    # Interrupt time is left out: loopback traffic's softirq work belongs to no process.
    return {"busy": (user + nice + system) / CLOCK_TICKS, "steal": steal / CLOCK_TICKS}


def children(parent: int) -> list[int]:
    """Return the pids whose parent is `parent`, from /proc."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = read_stat(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                pids.append(int(entry.name))
    return sorted(pids)
