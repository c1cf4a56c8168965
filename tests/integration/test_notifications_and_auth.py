"""Subscription notifications end to end, ES384 auth, and read by version, on the test server."""

from __future__ import annotations

import base64
import json
import threading
import time

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from service.fhir.client import FhirClient, RetryPolicy
from service.fhir.smart_auth import ClientKey, SmartBackendAuth
from service.pipeline import Pipeline, notified
from service.store.db import Store

SECRET = "Bearer notify-s3cret"


def _report(status="final", text="IMPRESSION: Small left pleural effusion. No pneumothorax."):
    return {
        "resourceType": "DiagnosticReport",
        "status": status,
        "category": [{"coding": [{"system": "http://loinc.org", "code": "LP29684-5"}]}],
        "code": {"text": "XR CHEST"},
        "subject": {"reference": "Patient/p1"},
        "presentedForm": [
            {"contentType": "text/plain", "data": base64.b64encode(text.encode()).decode()}
        ],
    }


def _communications(server):
    return list(FhirClient(server.base).search("Communication", {"_count": "100"}))


def test_rest_hook_notification_is_processed_by_reading_the_report_back(
    fresh_fhir, explainer, tmp_path
):
    """The FHIR server delivers a rest-hook to the real service over HTTP."""
    from werkzeug.serving import make_server

    from service import config
    from service.api import create_app

    settings = config.load(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/n.sqlite3",
            "RADPLAIN_FHIR_BASE": fresh_fhir.base,
            "RADPLAIN_NOTIFY_SECRET": SECRET,
        }
    )
    app = create_app(settings, explainer)
    outcomes: list[dict] = []
    app.after_request(lambda r: outcomes.append(r.get_json()) or r)
    service = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    try:
        subscription = {
            "resourceType": "Subscription",
            "status": "requested",
            "reason": "radplain",
            "criteria": "DiagnosticReport?status=final",
            "channel": {
                "type": "rest-hook",
                "endpoint": f"http://127.0.0.1:{service.server_port}/v1/notifications/fhir",
                "payload": "application/fhir+json",
                "header": [f"Authorization: {SECRET}"],
            },
        }
        requests.post(
            f"{fresh_fhir.base}/Subscription", json=subscription, timeout=10
        ).raise_for_status()
        requests.post(
            f"{fresh_fhir.base}/DiagnosticReport", json=_report(), timeout=10
        ).raise_for_status()
        deadline = time.monotonic() + 10
        while not outcomes and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        service.shutdown()
    assert outcomes and list(outcomes[0]["outcomes"].values()) == ["written"]
    [comm] = _communications(fresh_fhir)
    text = comm["payload"][0]["contentString"]
    assert "no sign of" in text.lower()


def test_the_notification_route_refuses_a_wrong_or_unconfigured_secret(explainer, tmp_path):
    from service import config
    from service.api import create_app

    db = f"sqlite:///{tmp_path}/n.sqlite3"
    on = create_app(config.load({"DATABASE_URL": db, "RADPLAIN_NOTIFY_SECRET": SECRET}), explainer)
    wrong = on.test_client().post("/v1/notifications/fhir", headers={"Authorization": "guess"})
    assert wrong.status_code == 401 and wrong.mimetype == "application/problem+json"
    off = create_app(config.load({"DATABASE_URL": db}), explainer).test_client()
    refused = off.post("/v1/notifications/fhir", headers={"Authorization": SECRET})
    assert refused.status_code == 401 and "RADPLAIN_NOTIFY_SECRET" in refused.json["detail"]


def test_notification_with_the_wrong_secret_is_refused(fresh_fhir, explainer, tmp_path):
    import pytest

    from service.fhir.notifications import Unauthorized

    pipeline = Pipeline(
        FhirClient(fresh_fhir.base), explainer, Store(f"sqlite:///{tmp_path}/n.sqlite3")
    )
    body = json.dumps({"resourceType": "DiagnosticReport", "id": "x"}).encode()
    with pytest.raises(Unauthorized):
        notified(pipeline, {"Authorization": "Bearer guess"}, body, "Authorization", SECRET)
    assert _communications(fresh_fhir) == []


def test_es384_client_assertion_and_read_by_version(fresh_fhir, explainer, tmp_path):
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": "ec1", "alg": "ES384"}
    fresh_fhir.register_client("radplain-ec", {"keys": [jwk]})
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    auth = SmartBackendAuth(
        fresh_fhir.base,
        ClientKey.from_pem("radplain-ec", pem, "ec1", "ES384"),
        "system/DiagnosticReport.read",
    )
    client = FhirClient(
        fresh_fhir.base,
        auth=auth,
        on_unauthorized=auth.invalidate,
        retry=RetryPolicy(attempts=3, backoff=0.01),
    )
    created, was_new = client.create(_report())
    assert was_new
    updated = client.update({**created, "status": "amended"}, version=created["meta"]["versionId"])
    first = client.read("DiagnosticReport", created["id"], version=created["meta"]["versionId"])
    assert first["status"] == "final" and updated["status"] == "amended"
    result = Pipeline(client, explainer, Store(f"sqlite:///{tmp_path}/e.sqlite3")).sync()
    assert result.written == 1


def test_radplain_sync_once_from_the_command_line(fresh_fhir, tmp_path):
    import os
    import subprocess
    import sys

    requests.post(
        f"{fresh_fhir.base}/DiagnosticReport", json=_report(), timeout=10
    ).raise_for_status()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3"}
    cmd = [sys.executable, "-m", "service", "sync", "--fhir-base", fresh_fhir.base, "--once"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "1 written" in first.stdout
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert "0 written" in second.stdout and len(_communications(fresh_fhir)) == 1
    bad = subprocess.run(
        [sys.executable, "-m", "service", "sync", "--once"],
        capture_output=True,
        text=True,
        env={**env, "RADPLAIN_FHIR_BASE": ""},
        timeout=60,
    )
    assert bad.returncode == 4 and "RADPLAIN_FHIR_BASE" in bad.stderr


def test_radplain_serve_on_sqlite_does_the_sync_work_in_process(fresh_fhir, tmp_path):
    """One command, no worker, no CronJob: reports are explained and written back."""
    import os
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = requests.post(f"{fresh_fhir.base}/DiagnosticReport", json=_report(), timeout=10).json()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/serve.sqlite3",
        "RADPLAIN_FHIR_BASE": fresh_fhir.base,
        "RADPLAIN_SYNC_INTERVAL": "1",
    }
    cmd = [sys.executable, "-m", "service", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _communications(fresh_fhir) and time.monotonic() < deadline:
            time.sleep(0.2)
        [comm] = _communications(fresh_fhir)
        assert comm["about"][0]["reference"] == f"DiagnosticReport/{report['id']}"
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()["checks"] == {
            "database": "ok",
            "fhir": "ok",
        }
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "syncing" in out
