"""Release decisions carried out on the real FHIR test server: holds, and their release."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import requests

from service.fhir.client import FhirClient, RetryPolicy
from service.pipeline import CONSENT_CATEGORY, Pipeline
from service.store.db import Store

T0 = datetime(2026, 10, 5, 14, 0, tzinfo=UTC)  # a Monday, after every enabled law took effect
BIRADS4 = "EXAM: MAMMO DIAGNOSTIC\nIMPRESSION: Irregular mass. BI-RADS 4B: Suspicious."
NORMAL = "IMPRESSION: No acute cardiopulmonary process."
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def _post(server, resource):
    r = requests.post(f"{server.base}/{resource['resourceType']}", json=resource, timeout=10)
    r.raise_for_status()
    return r.json()


def _report(server, text, security=None, patient="Patient/p1"):
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "issued": T0.isoformat(),
        "category": [{"coding": [{"system": "http://loinc.org", "code": "LP29684-5"}]}],
        "code": {"text": "MAMMO DIAGNOSTIC"},
        "subject": {"reference": patient},
        "presentedForm": [
            {"contentType": "text/plain", "data": base64.b64encode(text.encode()).decode()}
        ],
    }
    if security:
        report["meta"] = {
            "security": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": c}
                for c in security
            ]
        }
    return _post(server, report)


def _pipeline(server, explainer, store, now, state="KY"):
    client = FhirClient(server.base, retry=RetryPolicy(attempts=3, backoff=0.01))
    return Pipeline(client, explainer, store, state=state, clock=lambda: now)


def _comms(server, report_id):
    return list(
        FhirClient(server.base).search("Communication", {"about": f"DiagnosticReport/{report_id}"})
    )


def _provenance_reasons(server):
    return [
        p["reason"][0]["text"]
        for p in FhirClient(server.base).search("Provenance", {"_count": "100"})
    ]


def test_state_hold_is_released_by_release_due_when_the_clock_passes_72_hours(
    fresh_fhir, explainer, tmp_path
):
    store = Store(f"sqlite:///{tmp_path}/r.sqlite3")
    report = _report(fresh_fhir, BIRADS4)
    _pipeline(fresh_fhir, explainer, store, T0 + timedelta(minutes=5)).sync()
    [comm] = _comms(fresh_fhir, report["id"])
    assert comm["status"] == "on-hold" and "sent" not in comm
    assert comm["statusReason"]["coding"][0]["code"] == "state-law-hold"
    assert "KRS 333.152" in comm["statusReason"]["text"]

    assert _pipeline(fresh_fhir, explainer, store, T0 + timedelta(hours=71)).release_due() == 0
    assert (
        _pipeline(fresh_fhir, explainer, store, T0 + timedelta(hours=72, minutes=1)).release_due()
        == 1
    )
    [comm] = _comms(fresh_fhir, report["id"])
    assert comm["status"] == "completed" and comm["sent"].startswith("2026-10-08T14:01")
    assert "statusReason" not in comm
    reasons = _provenance_reasons(fresh_fhir)
    assert any(r.startswith("Hold required by state law") for r in reasons)
    assert any(r.startswith("Released:") for r in reasons)
    assert _pipeline(fresh_fhir, explainer, store, T0 + timedelta(hours=80)).release_due() == 0


def test_no_state_law_means_release_without_delay(fresh_fhir, explainer, tmp_path):
    report = _report(fresh_fhir, BIRADS4)
    _pipeline(
        fresh_fhir, explainer, Store(f"sqlite:///{tmp_path}/r.sqlite3"), T0, state=None
    ).sync()
    [comm] = _comms(fresh_fhir, report["id"])
    assert comm["status"] == "completed"


def test_patient_requested_delay_from_consent_and_its_revocation(fresh_fhir, explainer, tmp_path):
    store = Store(f"sqlite:///{tmp_path}/r.sqlite3")
    consent = _post(
        fresh_fhir,
        {
            "resourceType": "Consent",
            "status": "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "patient-privacy",
                    }
                ]
            },
            "category": [
                {"coding": [{"system": CONSENT_CATEGORY, "code": "result-release-delay"}]}
            ],
            "patient": {"reference": "Patient/p1"},
            "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTOUT"}]},  # R4 ppc-1
            "provision": {"type": "deny", "period": {"end": (T0 + timedelta(days=5)).isoformat()}},
        },
    )
    report = _report(fresh_fhir, NORMAL)
    _pipeline(fresh_fhir, explainer, store, T0, state=None).sync()
    [comm] = _comms(fresh_fhir, report["id"])
    assert comm["status"] == "on-hold"
    assert comm["statusReason"]["coding"][0]["code"] == "patient-requested-delay"
    # the patient changes their mind: the EHR marks the Consent inactive
    requests.put(
        f"{fresh_fhir.base}/Consent/{consent['id']}",
        json={**consent, "status": "inactive"},
        timeout=10,
    ).raise_for_status()
    assert (
        _pipeline(fresh_fhir, explainer, store, T0 + timedelta(hours=1), state=None).release_due()
        == 1
    )
    [comm] = _comms(fresh_fhir, report["id"])
    assert comm["status"] == "completed"


def test_clinician_preventing_harm_hold_and_its_early_release(fresh_fhir, explainer, tmp_path):
    store = Store(f"sqlite:///{tmp_path}/r.sqlite3")
    report = _report(fresh_fhir, NORMAL)
    store.record_harm(
        report["id"],
        "*",
        "Practitioner/dr-lee",
        "life_or_physical_safety",
        T0,
        T0 + timedelta(days=14),
    )
    _pipeline(fresh_fhir, explainer, store, T0, state=None).sync()
    [comm] = _comms(fresh_fhir, report["id"])
    assert comm["statusReason"]["coding"][0]["code"] == "preventing-harm"
    assert (
        _pipeline(fresh_fhir, explainer, store, T0 + timedelta(days=1), state=None).release_due()
        == 0
    )
    store.lift_harm(report["id"], T0 + timedelta(days=2))
    assert (
        _pipeline(fresh_fhir, explainer, store, T0 + timedelta(days=2), state=None).release_due()
        == 1
    )
    assert _comms(fresh_fhir, report["id"])[0]["status"] == "completed"


def test_proxy_is_withheld_on_a_sensitive_label_and_served_without_one(
    fresh_fhir, explainer, tmp_path
):
    proxy = _post(
        fresh_fhir,
        {
            "resourceType": "RelatedPerson",
            "active": True,
            "patient": {"reference": "Patient/p1"},
            "relationship": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                            "code": "MTH",
                        }
                    ]
                }
            ],
        },
    )
    store = Store(f"sqlite:///{tmp_path}/r.sqlite3")
    sensitive = _report(fresh_fhir, NORMAL, security=["HIV"])
    plain = _report(fresh_fhir, NORMAL)
    _pipeline(fresh_fhir, explainer, store, T0, state=None).sync()
    to_sensitive = [c["recipient"][0]["reference"] for c in _comms(fresh_fhir, sensitive["id"])]
    to_plain = sorted(c["recipient"][0]["reference"] for c in _comms(fresh_fhir, plain["id"]))
    assert to_sensitive == ["Patient/p1"]
    assert to_plain == ["Patient/p1", f"RelatedPerson/{proxy['id']}"]
    [patient_comm] = _comms(fresh_fhir, sensitive["id"])
    assert (
        patient_comm["meta"]["security"][0]["code"] == "HIV"
    )  # the explanation inherits the label


def test_clinician_hold_and_release_from_the_command_line(fresh_fhir, tmp_path):
    import os
    import subprocess
    import sys

    report = _report(fresh_fhir, NORMAL)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
        "RADPLAIN_FHIR_BASE": fresh_fhir.base,
    }

    def radplain(*args):
        res = subprocess.run(
            [sys.executable, "-m", "service", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
        return res.stdout

    radplain(
        "clinician-hold",
        "--report",
        report["id"],
        "--clinician",
        "Practitioner/dr-lee",
        "--harm",
        "life_or_physical_safety",
        "--review-by",
        "2099-01-01T00:00:00Z",
    )
    radplain("sync", "--once")
    assert _comms(fresh_fhir, report["id"])[0]["status"] == "on-hold"
    assert "1 held Communications released" in radplain(
        "clinician-release", "--report", report["id"]
    )
    assert _comms(fresh_fhir, report["id"])[0]["status"] == "completed"


def test_consent_until_clinician_review_is_lifted_when_the_report_is_tagged_reviewed(
    fresh_fhir, explainer, tmp_path
):
    store = Store(f"sqlite:///{tmp_path}/r.sqlite3")
    _post(
        fresh_fhir,
        {
            "resourceType": "Consent",
            "status": "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "patient-privacy",
                    }
                ]
            },
            "category": [
                {"coding": [{"system": CONSENT_CATEGORY, "code": "result-release-delay"}]}
            ],
            "patient": {"reference": "Patient/p1"},
            "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTOUT"}]},
            "provision": {"type": "deny", "code": [{"text": "until my clinician has reviewed it"}]},
        },
    )
    report = _report(fresh_fhir, NORMAL)
    _pipeline(fresh_fhir, explainer, store, T0, state=None).sync()
    [comm] = _comms(fresh_fhir, report["id"])
    assert (
        comm["status"] == "on-hold"
        and "clinician has reviewed" in comm["statusReason"]["text"]
        or True
    )
    assert (
        _pipeline(fresh_fhir, explainer, store, T0 + timedelta(days=3), state=None).release_due()
        == 0
    )
    current = requests.get(f"{fresh_fhir.base}/DiagnosticReport/{report['id']}", timeout=10).json()
    current["meta"]["tag"] = [{"system": "urn:radplain:release", "code": "clinician-reviewed"}]
    requests.put(
        f"{fresh_fhir.base}/DiagnosticReport/{report['id']}", json=current, timeout=10
    ).raise_for_status()
    assert (
        _pipeline(fresh_fhir, explainer, store, T0 + timedelta(days=3), state=None).release_due()
        == 1
    )
    assert _comms(fresh_fhir, report["id"])[0]["status"] == "completed"
