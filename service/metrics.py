"""Prometheus metrics: what an operator needs to see that reports flow and nothing is stuck.

Names follow Prometheus conventions; labels never carry identifiers or PHI.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

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
    return generate_latest(REGISTRY)
