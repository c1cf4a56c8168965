"""gunicorn settings for the radplain HTTP service.

Run as ``gunicorn -c gunicorn.conf.py service.wsgi:app`` (the container image's command).

Tuning that differs per deployment comes from the environment:

- ``RADPLAIN_WEB_CONCURRENCY``: worker processes (default 2). Each worker loads the
  mappings once and serves ``threads`` requests at a time; explaining is CPU-bound, so
  more than one worker per CPU the container may use buys nothing.
- ``RADPLAIN_LOG_LEVEL``: gunicorn's own log level (default ``info``).

Anything else can be overridden without editing this file through ``GUNICORN_CMD_ARGS``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from gunicorn import glogging


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SystemExit(f"radplain: error: {name}={raw!r}: must be a whole number >= 1")
    return value


bind = "0.0.0.0:8080"
workers = _positive_int("RADPLAIN_WEB_CONCURRENCY", 2)
worker_class = "gthread"
threads = 4
timeout = 60  # a request still running after this long is a stuck worker: it is restarted
graceful_timeout = 30  # the pod's terminationGracePeriodSeconds must be longer than this
# Longer than the idle timeout of the proxies in front (ingress-nginx and cloud load
# balancers keep upstream connections for 60 s): a proxy that reuses a connection gunicorn
# has just closed answers 502.
keepalive = 75

# Heartbeat files on tmpfs: a worker blocked on a disk-backed /tmp looks dead to the
# arbiter. /dev/shm is a tmpfs in every container (and writable with a read-only root).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn heartbeat files in RAM, not secrets

# /metrics must count every worker's requests, not whichever worker answered the scrape:
# prometheus-client's multiprocess mode keeps each worker's values in files in this
# directory (set here, in the master, so every worker inherits it) and adds them up.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(worker_tmp_dir or tempfile.gettempdir(), f"radplain-metrics-{os.getpid()}"),
)


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)  # values from an earlier run would be added in
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# gunicorn >= 25.1 opens a control socket under $HOME; the container has no writable home
# and nothing uses it (older versions ignore this unknown name)
control_socket_disable = True

loglevel = os.environ.get("RADPLAIN_LOG_LEVEL", "info").lower()
errorlog = "-"
accesslog = "-"
# One JSON object per request. The path only (%(U)s), never the query string or the
# Referer: either can carry identifiers. The request id is the one the app echoes back,
# so an access line joins the app's own log lines for the same call.
access_log_format = (
    '{"time":"%(t)s","remote":"%(h)s","method":"%(m)s","path":"%(U)s","status":%(s)s,'
    '"bytes":%(B)s,"duration_ms":%(M)s,"request_id":"%({x-request-id}o)s",'
    '"user_agent":"%(a)s"}'
)


class _JsonAtoms(dict):
    """gunicorn's SafeAtoms, JSON-escaped: each value is made safe for a JSON string (gunicorn
    escapes only the double quote), so every access line parses as JSON whatever a client
    puts in its User-Agent or path. Missing atoms read as ``-``, as in gunicorn."""

    def __init__(self, atoms):
        super().__init__(
            (k, json.dumps(v)[1:-1] if isinstance(v, str) else v) for k, v in atoms.items()
        )
        if self.get("B") is None:  # nothing sent
            self["B"] = 0

    def __getitem__(self, key):
        key = key.lower() if key.startswith("{") else key
        return super().__getitem__(key) if key in self else "-"


class JsonAccessLogger(glogging.Logger):
    atoms_wrapper_class = _JsonAtoms


logger_class = JsonAccessLogger
