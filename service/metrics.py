"""Prometheus metrics: what an operator needs to see that reports flow and nothing is stuck.

Names follow Prometheus conventions; labels never carry identifiers or PHI. Under gunicorn
each worker is its own process with its own counters, so a scrape that reached one worker
would see a fraction of the traffic: gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR, the
client then keeps values in files there, and ``exposition`` adds up every worker's.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

REGISTRY = CollectorRegistry(auto_describe=True)

REPORTS = Counter(
    "radplain_reports_processed_total",
    "Report versions processed, by outcome",
    ["outcome"],
    registry=REGISTRY,
)
EXPLAIN_SECONDS = Histogram(
    "radplain_explanation_seconds",
    "Time to explain one report",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
    registry=REGISTRY,
)
FHIR_SECONDS = Histogram(
    "radplain_fhir_request_seconds",
    "FHIR requests, by method and status class",
    ["method", "status"],
    registry=REGISTRY,
)
HOLDS = Counter(
    "radplain_holds_total", "Release holds placed, by legal basis", ["basis"], registry=REGISTRY
)
ERRORS = Counter("radplain_errors_total", "Errors, by exception type", ["type"], registry=REGISTRY)
HTTP = Counter(
    "radplain_http_requests_total",
    "HTTP requests, by route and status",
    ["route", "status"],
    registry=REGISTRY,
)


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return generate_latest(merged)
    return generate_latest(REGISTRY)


class _WorkQueue:
    """The queue as the database holds it now, read at scrape time: unlike a counter it is the
    same whichever replica is scraped, and it survives restarts."""

    def __init__(self, counts: dict[str, int]):
        self.counts = counts

    def collect(self):
        family = GaugeMetricFamily(
            "radplain_work_items",
            "Report versions in the worker queue, by state (failed: set aside, radplain failed)",
            labels=["state"],
        )
        for state in ("pending", "claimed", "done", "failed"):
            family.add_metric([state], self.counts.get(state, 0))
        yield family


def work_queue(counts: dict[str, int]) -> bytes:
    registry = CollectorRegistry()
    registry.register(_WorkQueue(counts))
    return generate_latest(registry)
