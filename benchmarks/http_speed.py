"""POST /v1/explain under gunicorn, beside GET /healthz on the same server, in one run.

    .venv/bin/python benchmarks/http_speed.py [SECONDS] [CLIENT_THREADS]   (default 10 s, 8)

Starts gunicorn with the production settings (gunicorn.conf.py: 2 gthread workers x 4
threads) on a free loopback port, drives each endpoint in turn with CLIENT_THREADS
keep-alive clients for SECONDS, and prints requests/s, p50 and p99 latency, the ratio of
explain to the trivial endpoint, and each worker's resident memory (VmRSS) afterwards.
The load generator shares this machine's 2 cores with the server, so absolute figures are
a floor; the ratio is the number that carries over.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.server import gunicorn  # noqa: E402

REPORTS = yaml.safe_load((ROOT / "tests/data/corpus/reports.yaml").read_text(encoding="utf-8"))


def _load(url: str, seconds: float, threads: int, body_for) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(n: int) -> None:
        session, mine, i = requests.Session(), [], n
        while time.perf_counter() < stop:
            body = body_for(i)
            started = time.perf_counter()
            r = session.post(url, json=body, timeout=30) if body else session.get(url, timeout=30)
            mine.append(time.perf_counter() - started)
            if r.status_code != 200:
                raise SystemExit(f"{url} answered {r.status_code}")
            i += threads
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    folder = ROOT / "artifacts" / "bench-http"
    env = {"DATABASE_URL": f"sqlite:///{folder / 'bench-http.sqlite3'}"}
    with gunicorn(folder, env, ("--access-logfile", "/dev/null")) as server:
        base = server.base
        _load(
            f"{base}/v1/explain", 2, threads, lambda i: {"text": REPORTS[i % len(REPORTS)]["text"]}
        )
        results = {}
        for name, url, body in (
            ("GET /healthz", f"{base}/healthz", lambda i: None),
            (
                "POST /v1/explain",
                f"{base}/v1/explain",
                lambda i: {"text": REPORTS[i % len(REPORTS)]["text"]},
            ),
        ):
            lat = sorted(_load(url, seconds, threads, body))
            results[name] = (len(lat) / seconds, lat[len(lat) // 2], lat[int(len(lat) * 0.99)])
        rss = server.worker_memory_mb()
    print(
        f"gunicorn: {len(rss)} workers, {threads} client threads, {seconds:.0f} s per endpoint, "
        f"{len(REPORTS)} corpus reports in rotation"
    )
    for name, (rps, p50, p99) in results.items():
        print(f"  {name:18} {rps:8.1f} req/s   p50 {p50 * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms")
    explain, trivial = results["POST /v1/explain"], results["GET /healthz"]
    print(
        f"  explain / trivial: throughput {explain[0] / trivial[0]:.2f}x, "
        f"p50 latency {explain[1] / trivial[1]:.1f}x"
    )
    print(
        f"  memory per worker (VmRSS): {', '.join(f'{m:.0f} MB' for m in rss)}"
        f" (mean {statistics.mean(rss):.0f} MB)"
        if rss
        else "  memory: workers not found"
    )


if __name__ == "__main__":
    main()
