"""Liveness (the process answers) and readiness (it can reach its database and EHR).

Kubernetes restarts a pod that fails liveness, so ``/healthz`` checks nothing external: a
slow EHR must not get every replica killed. ``/readyz`` takes a pod out of the Service
while its database or FHIR server is unreachable, and says which one in the problem.
"""

from __future__ import annotations

import requests
from flask import Blueprint, current_app, jsonify
from sqlalchemy import create_engine, text

from .errors import problem

bp = Blueprint("health", __name__)
PROBE_TIMEOUT = 3.0  # seconds; the kubelet's default probe timeout is 1 s, so keep it short


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    settings = current_app.extensions["radplain.settings"]
    checks = {"database": _database(settings.database_url)}
    checks["fhir"] = _fhir(settings.fhir_base) if settings.fhir_base else "not configured"
    failed = {k: v for k, v in checks.items() if v not in ("ok", "not configured")}
    if failed:
        detail = "; ".join(f"{k}: {v}" for k, v in failed.items())
        return problem(503, "Service Unavailable", f"not ready: {detail}", checks=checks)
    return jsonify(status="ready", checks=checks)


def _database(url: str) -> str:
    engine = current_app.extensions.get("radplain.readiness_engine")
    if engine is None:  # not wiring.store(): a probe runs no migrations and needs a timeout
        engine = create_engine(url, pool_pre_ping=True, connect_args=_timeout_args(url))
        current_app.extensions["radplain.readiness_engine"] = engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        # the type only: the message can hold the URL, and the URL a password
        return f"cannot connect ({type(exc).__name__}); check DATABASE_URL"
    return "ok"


def _fhir(base: str) -> str:
    try:
        response = requests.get(
            base.rstrip("/") + "/metadata",
            headers={"Accept": "application/fhir+json"},
            timeout=PROBE_TIMEOUT,
        )
    except requests.RequestException as exc:
        return f"cannot reach it ({type(exc).__name__}); check RADPLAIN_FHIR_BASE"
    if response.status_code >= 400:
        return f"GET /metadata answered {response.status_code}"
    return "ok"


def _timeout_args(url: str) -> dict:
    return {"connect_timeout": int(PROBE_TIMEOUT)} if url.startswith("postgresql") else {}
