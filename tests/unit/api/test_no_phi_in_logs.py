"""No PHI in logs, on every route: each is called with identifiable data (a patient's name
and date of birth in report text, FHIR resources, notifications, query strings, headers,
token claims and paths), well-formed and malformed, and every log line at DEBUG, as
production formats it, is scanned for them."""

from __future__ import annotations

import base64
import io
import json

import pytest

from service import config
from service.api import create_app

NAME, DOB = "Zebulon Quartermaine", "1950-02-03"
REPORT = f"Patient {NAME}, DOB {DOB}. IMPRESSION: No pneumothorax. 6 mm nodule right upper lobe."
SECRET = "phi-log-secret"
FHIR_REPORT = {
    "resourceType": "DiagnosticReport",
    "status": "final",
    "code": {"text": f"CT chest for {NAME}"},
    "subject": {"display": NAME},
    "presentedForm": [
        {"contentType": "text/plain", "data": base64.b64encode(REPORT.encode()).decode()}
    ],
}


def _bodies() -> list[dict]:
    """Fresh each call: an uploaded file is read once."""
    return [
        {"json": {"text": REPORT}},
        {"json": {"report": FHIR_REPORT, "lang": "es"}},
        {"json": {"report": {**FHIR_REPORT, "status": NAME}}},  # invalid: the error names fields
        {"json": {"text": REPORT, "report": FHIR_REPORT}},
        {"data": {"file": (io.BytesIO(REPORT.encode()), f"{NAME}.txt")}},
        {"data": {"file": (io.BytesIO(b"%PDF-1.4 " + REPORT.encode()), f"{NAME}.pdf")}},
        {"json": {"resourceType": "DiagnosticReport", "id": NAME}},
        {
            "json": {
                "resourceType": "Bundle",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "SubscriptionStatus",
                            "notificationEvent": [{"focus": {"reference": f"http://evil/{NAME}"}}],
                        }
                    }
                ],
            }
        },
        {"json": {"harm": NAME, "review_by": DOB, "audience": f"Patient/{NAME}"}},
        {"data": REPORT, "content_type": "text/plain"},
        {},
    ]


@pytest.fixture()
def app(explainer, issuer, tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "RADPLAIN_NOTIFY_SECRET": SECRET,
        "RADPLAIN_FHIR_BASE": "http://127.0.0.1:9/fhir",  # down: the FHIR paths fail too
        "RADPLAIN_FHIR_RETRIES": "1",
        **issuer.env,
    }
    return create_app(config.load(env), explainer=explainer)


def test_no_route_logs_names_dates_of_birth_or_report_text(app, issuer, json_logs):
    client = app.test_client()
    callers = [
        {},
        {"Authorization": SECRET},
        issuer.headers(scope="system/*.read system/Communication.write", name=NAME),
        issuer.headers(scope="user/*.* ", fhirUser="Practitioner/9", birthdate=DOB),
        issuer.headers(scope="patient/*.read", patient=NAME),
        {"Authorization": f"Bearer {NAME}"},
    ]
    calls = 0
    for rule in app.url_map.iter_rules():
        path = rule.build({"report_id": NAME.replace(" ", "-"), "filename": f"{NAME}.js"})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for headers in callers:
                headers = {**headers, "X-Request-ID": NAME, "Accept-Language": NAME}
                query = f"?lang={NAME}&format=html&name={NAME}"
                for body in _bodies() if method == "POST" else [{}]:
                    client.open(path + query, method=method, headers=headers, **body)
                    calls += 1
    logged = json_logs.getvalue()
    assert calls > 300 and logged  # every route was called, and something was logged
    for line in logged.splitlines():
        json.loads(line)  # one JSON object a line
    for needle in (NAME, "Zebulon", "Quartermaine", DOB, "pneumothorax", "nodule right upper"):
        assert needle not in logged, f"{needle!r} reached the logs"
