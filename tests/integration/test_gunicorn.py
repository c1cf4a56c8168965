"""The production server as deployed: gunicorn.conf.py + service.wsgi, two worker processes."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from benchmarks.server import gunicorn


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gunicorn")
    (folder / "metrics").mkdir()
    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'g.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        # sync workers take one request at a time, so concurrent clients reach both
        # (gthread workers queue them, and one worker may take nearly all)
        "GUNICORN_CMD_ARGS": "--workers 2 --worker-class sync "
        f"--access-logfile {folder / 'access.log'}",
    }
    with gunicorn(folder, env) as running:
        yield running.base, folder
    assert running.process.returncode == 0  # graceful: SIGTERM is a clean exit


def test_metrics_count_every_workers_requests(server):
    base, folder = server

    def explain(_):
        body = {"text": "IMPRESSION: No acute process."}
        return requests.post(f"{base}/v1/explain", json=body, timeout=30).ok

    with ThreadPoolExecutor(8) as pool:  # concurrent connections: both workers take some
        assert all(pool.map(explain, range(200)))
    # each worker keeps its own values file: two files prove both workers served
    assert len(list((folder / "metrics").glob("counter_*.db"))) == 2
    pattern = re.compile(r'radplain_http_requests_total\{route="/v1/explain",status="200"\} (\S+)')
    for _ in range(4):  # whichever worker answers the scrape, the total is the same
        body = requests.get(f"{base}/metrics", timeout=10).text
        assert float(pattern.search(body).group(1)) == 200


def test_access_log_is_json_with_request_ids_and_no_query_strings(server):
    base, folder = server
    requests.get(
        f"{base}/healthz?patient=Zebulon", headers={"X-Request-ID": "trace-42"}, timeout=10
    )
    time.sleep(0.5)  # the access log is written after the response
    lines = [json.loads(line) for line in (folder / "access.log").read_text().splitlines()]
    mine = [line for line in lines if line["request_id"] == "trace-42"]
    assert mine and mine[0]["path"] == "/healthz" and mine[0]["status"] == 200
    assert "Zebulon" not in (folder / "access.log").read_text()
