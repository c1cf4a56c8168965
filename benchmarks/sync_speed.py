"""Sync throughput against the FHIR test server, beside a plain script doing the same calls.

    .venv/bin/python benchmarks/sync_speed.py [N]      (default 500 reports)

The plain script makes the same FHIR reads (the paged radiology search, and each
patient's proxies and consents once) and the same writes (the very transactions radplain
builds, prepared before its clock starts), with no explanation, no store and no checks.
The ratio is what radplain's pipeline costs on top of the FHIR traffic itself (goal:
<= 1.3x, issue 4). Both run in this process
against the same server, each on a freshly seeded copy, best of three.
"""

from __future__ import annotations

import base64
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service import mappings  # noqa: E402
from service.annotate.explain import Explainer  # noqa: E402
from service.annotate.source_text import from_report  # noqa: E402
from service.fhir import writeback  # noqa: E402
from service.fhir.client import FhirClient  # noqa: E402
from service.pipeline import RADIOLOGY_CATEGORIES, Pipeline  # noqa: E402
from service.render import Renderer  # noqa: E402
from service.store.db import Store  # noqa: E402
from tests.conftest import npm_ci  # noqa: E402
from tests.integration.conftest import SERVER_DIR, _wait_for_port  # noqa: E402

PAGE = 50


def start_server():
    npm_ci(SERVER_DIR)
    log = tempfile.NamedTemporaryFile(suffix=".log", delete=False)  # noqa: SIM115 (lives with the server)
    proc = subprocess.Popen(
        ["node", "server.js"],
        cwd=SERVER_DIR,
        env={**os.environ, "PORT": "0"},
        text=True,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    port = _wait_for_port(proc, lines, Path(log.name))
    return proc, f"http://127.0.0.1:{port}"


def seed(origin: str, n: int) -> None:
    requests.post(f"{origin}/__admin/reset", timeout=30).raise_for_status()
    corpus = yaml.safe_load((ROOT / "tests/data/corpus/reports.yaml").read_text())
    entries = []
    for i in range(n):
        text = corpus[i % len(corpus)]["text"]
        entries.append(
            {
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "status": "final",
                    "category": [{"coding": [{"system": "http://loinc.org", "code": "LP29684-5"}]}],
                    "code": {"text": corpus[i % len(corpus)]["id"]},
                    "subject": {"reference": f"Patient/p{i % 50}"},
                    "presentedForm": [
                        {
                            "contentType": "text/plain",
                            "data": base64.b64encode(text.encode()).decode(),
                        }
                    ],
                },
                "request": {"method": "POST", "url": "DiagnosticReport"},
            }
        )
    for start in range(0, n, 100):
        bundle = {"resourceType": "Bundle", "type": "batch", "entry": entries[start : start + 100]}
        requests.post(f"{origin}/fhir/R4", json=bundle, timeout=120).raise_for_status()


def prebuilt(base: str, explainer: Explainer) -> dict[str, dict]:
    """The exact transactions radplain would send, built before the clock starts."""
    client, out, render = FhirClient(base), {}, Renderer(explainer.m.ui)
    params = {"category": RADIOLOGY_CATEGORIES, "_sort": "_lastUpdated", "_count": str(PAGE)}
    for report in client.search("DiagnosticReport", params):
        doc = explainer.explain(from_report(report))
        comm = writeback.communication(
            report, doc, render.text(doc), render.html(doc), datetime.now(UTC)
        )
        out[report["id"]] = writeback.transaction(
            comm, lambda t, r=report: writeback.provenance(r, t, datetime.now(UTC), "released")
        )
    return out


def plain_script(base: str, bundles: dict[str, dict]) -> int:
    """The same paged search and the same transactions, with nothing else around them."""
    session = requests.Session()
    url = f"{base}/DiagnosticReport"
    params = {"category": RADIOLOGY_CATEGORIES, "_sort": "_lastUpdated", "_count": str(PAGE)}
    done, patients = 0, set()
    while url:
        page = session.get(
            url, params=params, headers={"Accept": "application/fhir+json"}, timeout=60
        ).json()
        params = None
        for entry in page.get("entry", []):
            patient = entry["resource"]["subject"]["reference"]
            if patient not in patients:  # the same proxy and consent reads radplain makes
                patients.add(patient)
                for kind, extra in (
                    ("RelatedPerson", {"active": "true"}),
                    ("Consent", {"status": "active"}),
                ):
                    session.get(
                        f"{base}/{kind}",
                        params={"patient": patient, **extra},
                        headers={"Accept": "application/fhir+json"},
                        timeout=60,
                    ).raise_for_status()
            session.post(
                base,
                json=bundles[entry["resource"]["id"]],
                headers={"Content-Type": "application/fhir+json"},
                timeout=60,
            ).raise_for_status()
            done += 1
        url = next((x["url"] for x in page.get("link", []) if x["relation"] == "next"), None)
    return done


def measure(n: int = 500, rounds: int = 3) -> dict[str, float]:
    """Best seconds of ``rounds`` for each side: radplain's sync with 4 and with 1 worker,
    and the plain script, each on a freshly seeded server."""
    proc, origin = start_server()
    base = f"{origin}/fhir/R4"
    explainer = Explainer(mappings.default())
    timings: dict[str, list[float]] = {
        "radplain, 4 workers": [],
        "radplain, 1 worker": [],
        "plain": [],
    }
    try:
        for _ in range(rounds):
            for label, workers in (("radplain, 4 workers", 4), ("radplain, 1 worker", 1)):
                seed(origin, n)
                with tempfile.TemporaryDirectory() as tmp:
                    store = Store(f"sqlite:///{tmp}/bench.sqlite3")
                    pipeline = Pipeline(
                        FhirClient(base), explainer, store, page_size=PAGE, workers=workers
                    )
                    start = time.perf_counter()
                    result = pipeline.sync()
                    timings[label].append(time.perf_counter() - start)
                    assert result.written == n, result
            seed(origin, n)
            bundles = prebuilt(base, explainer)
            start = time.perf_counter()
            assert plain_script(base, bundles) == n
            timings["plain"].append(time.perf_counter() - start)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {label: min(times) for label, times in timings.items()}


def report(n: int, rounds: int, best: dict[str, float]) -> None:
    plain = best["plain"]
    print(
        f"sync of {n} reports (best of {rounds}), against a plain script sending the same FHIR "
        f"calls one by one: {n / plain:,.0f} reports/s ({plain:.2f} s)"
    )
    for label, goal in (("radplain, 4 workers", " (goal <= 1.3x)"), ("radplain, 1 worker", "")):
        print(
            f"  {label}: {n / best[label]:,.0f} reports/s ({best[label]:.2f} s); "
            f"ratio {best[label] / plain:.2f}x{goal}"
        )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    report(n, 3, measure(n, 3))


if __name__ == "__main__":
    main()
