"""The bounded load test: the explain and read endpoints held under load, on gunicorn as
deployed, with no errors and no memory growth.

    .venv/bin/python benchmarks/load.py [SECONDS] [--warmup S] [--connections N]

(default 20 s per endpoint after a 5 s warm-up each; tests/integration/test_load.py runs
the same with the defaults and fails on any of the problems printed at the end).

Starts ``gunicorn -c gunicorn.conf.py service.wsgi:app`` on a free loopback port with a
SQLite database and a stand-in token issuer in a scratch folder, stores the explanation
of every corpus report (made by the server itself), then drives it with wrk
(tests/load/rotate.lua): ``POST /v1/explain`` with the corpus reports in rotation, and
``GET /v1/reports/{id}/explanation`` for the stored ones, as JSON and as HTML, with a
``system/`` bearer token. wrk is a C load generator: it leaves the machine's cores to the
server, which a Python client would not.

Bounds: no socket errors and no response other than 2xx, in the warm-up too; at least
``MIN_RATE`` requests a second (a server that stopped answering cannot pass); the same
worker processes at the end (none crashed or was restarted); and the anonymous memory of
the master and its workers (RssAnon: their heaps, where a leak shows; see
``Server.memory_mb``) at the end at most ``MAX_GROWTH`` above what it was after the
warm-up, by which time every worker has explained and rendered the whole corpus many
times over. VmRSS, libraries included, is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import requests
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.server import Server, gunicorn  # noqa: E402
from service.store.db import Store  # noqa: E402

REPORTS = yaml.safe_load((ROOT / "tests/data/corpus/reports.yaml").read_text(encoding="utf-8"))
SCRIPT = ROOT / "tests/load/rotate.lua"
WRK_MISSING = (
    "wrk (the HTTP load generator) is not installed: run .ci/run, or apt-get install -y wrk"
)
MAX_GROWTH = 0.10  # memory after the run over memory after the warm-up, minus one
MIN_RATE = 20.0  # requests/s; each endpoint makes some 20 times this on 2 shared cores
ISSUER, AUDIENCE = "https://auth.load-test.example", "radplain"


@dataclass
class Phase:
    endpoint: str
    warmup: bool
    seconds: float
    requests: int
    p50_ms: float
    p99_ms: float
    socket_errors: dict
    non2xx: int
    first_bad_status: int
    memory_before: float
    memory_after: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values()) + self.non2xx


@dataclass
class Run:
    folder: Path
    workers: int
    phases: list[Phase] = field(default_factory=list)
    memory_before: float = 0.0  # RssAnon MB, after the warm-up
    memory_after: float = 0.0  # RssAnon MB, at the end
    rss_before: float = 0.0  # VmRSS MB, after the warm-up (printed, not bounded)
    rss_after: float = 0.0  # VmRSS MB, at the end
    restarted: bool = False  # a worker process was replaced during the run

    @property
    def growth(self) -> float:
        return self.memory_after / self.memory_before - 1 if self.memory_before else 0.0

    def problems(self) -> list[str]:
        found = []
        for p in self.phases:
            name = _name(p)
            if any(p.socket_errors.values()):
                detail = ", ".join(f"{k} {v}" for k, v in p.socket_errors.items() if v)
                found.append(f"{name}: socket errors ({detail})")
            if p.non2xx:
                found.append(
                    f"{name}: {p.non2xx} responses were not 2xx (the first: {p.first_bad_status});"
                    f" see {self.folder / 'gunicorn.err'}"
                )
            if not p.warmup and p.rate < MIN_RATE:
                found.append(
                    f"{name}: {p.requests} requests in {p.seconds:.0f} s, fewer than "
                    f"{MIN_RATE:.0f}/s: is the server answering?"
                )
        if self.restarted:
            found.append("a gunicorn worker was restarted during the run (crash or timeout)")
        if self.growth > MAX_GROWTH:
            found.append(
                f"memory grew {self.growth:+.1%} under steady load ({self.memory_before:.1f} MB "
                f"after the warm-up, {self.memory_after:.1f} MB at the end; at most "
                f"{MAX_GROWTH:+.0%}): something is kept per request"
            )
        return found

    def table(self) -> str:
        width = max(len(_name(p)) for p in self.phases)
        head = (
            f"{'endpoint':<{width}} {'s':>4} {'requests':>8} {'req/s':>7} {'p50 ms':>7} "
            f"{'p99 ms':>7} {'errors':>6} {'RssAnon MB before':>17} {'after':>6} {'growth':>7}"
        )
        lines = [head, "-" * len(head)]
        for p in self.phases:
            growth = p.memory_after / p.memory_before - 1 if p.memory_before else 0.0
            lines.append(
                f"{_name(p):<{width}} {p.seconds:>4.0f} {p.requests:>8} {p.rate:>7.1f} "
                f"{p.p50_ms:>7.1f} {p.p99_ms:>7.1f} {p.errors:>6} {p.memory_before:>17.1f} "
                f"{p.memory_after:>6.1f} {growth:>+7.1%}"
            )
        lines.append(
            f"gunicorn master + {self.workers} workers, RssAnon: {self.memory_before:.1f} MB "
            f"after the warm-up, {self.memory_after:.1f} MB at the end: {self.growth:+.1%} "
            f"(bound {MAX_GROWTH:+.0%}); VmRSS: {self.rss_before:.1f} -> {self.rss_after:.1f} MB"
        )
        return "\n".join(lines)


def _name(phase: Phase) -> str:
    return f"{phase.endpoint}{' (warm-up)' if phase.warmup else ''}"


def run(folder: Path, seconds: float = 20, warmup: float = 5, connections: int = 8) -> Run:
    """Start the server in ``folder`` (which must be empty or absent), load it, stop it."""
    if shutil.which("wrk") is None:
        raise RuntimeError(WRK_MISSING)
    folder.mkdir(parents=True, exist_ok=True)
    database = f"sqlite:///{folder / 'load.sqlite3'}"
    store = Store(database)  # migrated here, before the workers open it
    token, auth_env = _issuer(folder, lifetime=3 * (seconds + warmup) + 600)
    env = {
        "DATABASE_URL": database,
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        **auth_env,
    }
    with gunicorn(folder, env) as server:
        ids = _seed(server, store)
        explain = _requests_file(
            folder / "explain.tsv",
            [f"POST\t/v1/explain\t{json.dumps({'text': r['text']})}" for r in REPORTS],
        )
        reads = [f"GET\t/v1/reports/{i}/explanation" for i in ids]
        read_json = _requests_file(folder / "read-json.tsv", reads)
        read_html = _requests_file(folder / "read-html.tsv", [f"{r}?format=html" for r in reads])
        json_body = ["-H", "Content-Type: application/json"]
        bearer = ["-H", f"Authorization: Bearer {token}"]
        endpoints = [
            ("POST /v1/explain", explain, json_body),
            ("GET /v1/reports/{id}/explanation", read_json, bearer),
            ("GET /v1/reports/{id}/explanation?format=html", read_html, bearer),
        ]
        workers = server.workers()
        result = Run(folder, len(workers))
        for endpoint, requests_file, headers in endpoints:
            result.phases.append(
                _hold(server, endpoint, requests_file, headers, warmup, connections, True)
            )
        result.memory_before, result.rss_before = server.memory_mb(), server.memory_mb("VmRSS")
        for endpoint, requests_file, headers in endpoints:
            result.phases.append(
                _hold(server, endpoint, requests_file, headers, seconds, connections, False)
            )
        result.memory_after, result.rss_after = server.memory_mb(), server.memory_mb("VmRSS")
        result.restarted = server.workers() != workers
    return result


def _issuer(folder: Path, lifetime: float) -> tuple[str, dict]:
    """A stand-in for the hospital's authorization server: one RS256 key pair, the public
    half where the service reads it, and one integration token signed with the other."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = folder / "issuer.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "load-test",
        "scope": "system/Communication.read",
        "exp": int(time.time() + lifetime),
    }
    env = {
        "RADPLAIN_AUTH_ISSUER": ISSUER,
        "RADPLAIN_AUTH_AUDIENCE": AUDIENCE,
        "RADPLAIN_AUTH_PUBLIC_KEY_FILE": str(pem),
    }
    return jwt.encode(claims, key, algorithm="RS256"), env


def _seed(server: Server, store: Store) -> list[str]:
    """Store each corpus report's explanation, as the server makes it, under its own report
    id, as a sync would; returns the ids."""
    ids = []
    with requests.Session() as session:
        for report in REPORTS:
            made = session.post(
                f"{server.base}/v1/explain", json={"text": report["text"]}, timeout=30
            )
            made.raise_for_status()
            report_id = f"load-{report['id']}"
            store.save_explanation(report_id, "1", "Patient/load", made.json(), [])
            ids.append(report_id)
    return ids


def _requests_file(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _hold(
    server: Server,
    endpoint: str,
    requests_file: Path,
    headers: list[str],
    seconds: float,
    connections: int,
    warmup: bool,
) -> Phase:
    before = server.memory_mb()
    command = [
        "wrk",
        "--threads",
        "2",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--script",
        str(SCRIPT),
        *headers,
        server.base,
        "--",
        str(requests_file),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("wrk-result ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    out = json.loads(line.removeprefix("wrk-result "))
    time.sleep(0.5)  # the last responses' clean-up, before memory is read
    return Phase(
        endpoint=endpoint,
        warmup=warmup,
        seconds=out["duration_us"] / 1e6,
        requests=out["requests"],
        p50_ms=out["p50_us"] / 1000,
        p99_ms=out["p99_us"] / 1000,
        socket_errors={k: out[k] for k in ("connect", "read", "write", "timeout")},
        non2xx=out["non2xx"],
        first_bad_status=out["first_bad_status"],
        memory_before=before,
        memory_after=server.memory_mb(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=20, help="per endpoint")
    parser.add_argument("--warmup", type=float, default=5, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    folder = ROOT / "artifacts" / "load"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh database and logs each run
    try:
        result = run(folder, args.seconds, args.warmup, args.connections)
    except RuntimeError as exc:
        raise SystemExit(f"load: {exc}") from exc
    print(result.table())
    problems = result.problems()
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"logs and database: {folder}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
