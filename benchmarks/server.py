"""gunicorn as deployed (``gunicorn -c gunicorn.conf.py service.wsgi:app``) on a free loopback
port, for the benchmarks and tests that measure the real server: its master and worker
processes, and their memory.

    with gunicorn(folder, {"DATABASE_URL": ...}) as server:
        requests.get(f"{server.base}/healthz")
        server.memory_mb()

Nothing but the bind address differs from production unless the caller passes more
(``GUNICORN_CMD_ARGS`` in ``env``, or ``args``). The server's stdout and stderr (gunicorn's
access and error logs) go to ``folder``; ``server.log()`` reads the error log back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    folder: Path

    @property
    def master(self) -> int:
        return self.process.pid

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.master)], capture_output=True, text=True)
        return sorted(int(p) for p in out.stdout.split())

    def memory_mb(self, field: str = "RssAnon") -> float:
        """The master's and workers' memory, summed, in MB, from /proc/PID/status.

        ``RssAnon`` by default: their heaps, where a leak shows. ``VmRSS`` adds the
        file-backed pages, mostly libraries, and PSS would divide those among every
        process that maps them, so it moves whenever another Python process on the
        machine starts or stops: neither is steady enough to bound growth by."""
        return sum(_status_kb(pid, field) for pid in [self.master, *self.workers()]) / 1024

    def worker_memory_mb(self, field: str = "VmRSS") -> list[float]:
        """Each worker's memory in MB from /proc/PID/status (VmRSS: what a pod limit counts)."""
        return [_status_kb(pid, field) / 1024 for pid in self.workers()]

    def log(self, tail: int = 2000) -> str:
        return (self.folder / "gunicorn.err").read_text(errors="replace")[-tail:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(folder: Path, env: dict | None = None, args: tuple = ()) -> Iterator[Server]:
    """Start the server, wait until /healthz answers (the workers have loaded the mappings),
    yield it, and stop it with SIGTERM (a graceful shutdown) on the way out."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {"GUNICORN_CMD_ARGS": "", **(env or {})}
    env["GUNICORN_CMD_ARGS"] = f"--bind 127.0.0.1:{port} {env['GUNICORN_CMD_ARGS']}".strip()
    # the HTTP service alone, unless the caller names an EHR: one set in the shell is not taken
    full_env = {k: v for k, v in os.environ.items() if k != "RADPLAIN_FHIR_BASE"} | env
    with open(folder / "gunicorn.out", "wb") as out, open(folder / "gunicorn.err", "wb") as err:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "service.wsgi:app",
                *args,
            ],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, folder)
    try:
        _wait_healthy(server)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=35)  # gunicorn.conf.py: graceful_timeout 30 s
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_healthy(server: Server, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server.process.poll() is not None:
            break
        try:
            if requests.get(f"{server.base}/healthz", timeout=5).ok:
                return
        except requests.RequestException:  # bound, but workers still loading
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start within {seconds:.0f} s:\n{server.log()}")


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):  # a worker that has just exited
        pass
    return 0
