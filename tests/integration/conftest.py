"""The FHIR test server (tests/fhir_server) as pytest fixtures.

``fhir_server`` (session): installs the server's npm dependencies when needed, starts
``node server.js`` on a random loopback port and stops it at the end of the session.
``fresh_fhir`` (function): the same server, reset to empty (no resources, no registered
SMART clients so auth is off, no pending faults, zeroed stats) before the test.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import npm_ci

SERVER_DIR = Path(__file__).resolve().parents[1] / "fhir_server"
STARTUP_TIMEOUT = 60  # seconds; loading the R4 definitions takes about one
ADMIN_TIMEOUT = 10


@dataclass
class FhirTestServer:
    origin: str  # http://127.0.0.1:PORT
    base: str  # http://127.0.0.1:PORT/fhir/R4
    process: subprocess.Popen = field(repr=False)

    def url(self, path: str = "") -> str:
        """Absolute URL of a path under the FHIR base: url("DiagnosticReport/1")."""
        return f"{self.base}/{path.lstrip('/')}" if path else self.base

    def _admin(self, method: str, name: str, payload: dict | None = None) -> dict:
        response = requests.request(
            method, f"{self.origin}/__admin/{name}", json=payload, timeout=ADMIN_TIMEOUT
        )
        if response.status_code != 200:
            raise AssertionError(f"admin {name} failed ({response.status_code}): {response.text}")
        return response.json()

    def reset(self) -> None:
        """Empty repository; forget clients (auth off), jtis, tokens, faults and stats."""
        self._admin("POST", "reset")

    def faults(self, **kw) -> dict:
        """faults(statuses=[429, 503], retry_after=1, delay_ms=0, match="DiagnosticReport")."""
        return self._admin("POST", "faults", kw)

    def register_client(self, client_id: str, jwks: dict) -> dict:
        """Register a SMART backend client's public JWKS; auth is on from then until reset()."""
        return self._admin("POST", "clients", {"client_id": client_id, "jwks": jwks})

    def token_ttl(self, seconds: float) -> dict:
        return self._admin("POST", "token-ttl", {"seconds": seconds})

    def expire_tokens(self) -> dict:
        return self._admin("POST", "expire-tokens")

    def stats(self) -> dict:
        """Requests by method and status, faults served, subscription deliveries."""
        return self._admin("GET", "stats")


def _wait_for_port(proc: subprocess.Popen, lines: queue.Queue, stderr_log) -> int:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        if line.startswith("LISTENING "):
            return int(line.split()[1])
    proc.kill()
    proc.wait()
    stderr_log.seek(0)
    raise RuntimeError(
        f"FHIR test server did not start (exit code {proc.returncode}):\n{stderr_log.read()}"
    )


@pytest.fixture(scope="session")
def fhir_server():
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed for the FHIR test server (tests/fhir_server)")
    npm_ci(SERVER_DIR)

    env = {**os.environ, "PORT": "0", "EXIT_ON_STDIN_CLOSE": "1"}
    with tempfile.TemporaryFile(mode="w+") as stderr_log:
        proc = subprocess.Popen(
            ["node", "server.js"],
            cwd=SERVER_DIR,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_log,
        )
        # stdout is read by a thread for as long as the server runs, so a chatty server can
        # never block on a full pipe
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in proc.stdout], daemon=True
        ).start()
        try:
            port = _wait_for_port(proc, lines, stderr_log)
            origin = f"http://127.0.0.1:{port}"
            yield FhirTestServer(origin=origin, base=f"{origin}/fhir/R4", process=proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdin.close()


@pytest.fixture
def fresh_fhir(fhir_server):
    fhir_server.reset()
    return fhir_server


POSTGRES = os.environ.get(
    "RADPLAIN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def pg_url():
    """A fresh schema in the real PostgreSQL (.ci/run starts the server when it is down),
    dropped after the test; the URL selects it through search_path."""
    import uuid

    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
