"""Action routes on the real FHIR test server: process, sync, clinician hold and release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from test_release import NORMAL, _comms, _report

from service import config
from service.api import create_app


def _client(fhir, explainer, tmp_path, issuer):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/a.sqlite3", "RADPLAIN_FHIR_BASE": fhir.base}
    return create_app(config.load({**env, **issuer.env}), explainer).test_client()


def test_process_one_report_then_sync_the_rest(fresh_fhir, explainer, tmp_path, issuer):
    client = _client(fresh_fhir, explainer, tmp_path, issuer)
    integration = issuer.headers(scope="system/Communication.write system/DiagnosticReport.read")
    first, second = _report(fresh_fhir, NORMAL), _report(fresh_fhir, NORMAL)

    done = client.post(f"/v1/reports/{first['id']}/process", headers=integration)
    assert done.status_code == 200 and done.json["outcome"] == "written"
    assert [c["status"] for c in _comms(fresh_fhir, first["id"])] == ["completed"]
    again = client.post(f"/v1/reports/{first['id']}/process", headers=integration)
    assert again.json["outcome"] == "already" and len(_comms(fresh_fhir, first["id"])) == 1

    missing = client.post("/v1/reports/no-such-report/process", headers=integration)
    assert (
        missing.status_code == 404 and "DiagnosticReport/no-such-report" in missing.json["detail"]
    )

    synced = client.post("/v1/sync", headers=integration)
    assert synced.status_code == 200 and synced.json["written"] == 1  # only the second
    assert len(_comms(fresh_fhir, second["id"])) == 1

    reader = issuer.headers(scope="system/Communication.read")
    assert client.post("/v1/sync", headers=reader).status_code == 403


def test_clinician_hold_then_release(fresh_fhir, explainer, tmp_path, issuer):
    client = _client(fresh_fhir, explainer, tmp_path, issuer)
    doctor = issuer.headers(scope="user/Communication.write", fhirUser="Practitioner/dr-lee")
    integration = issuer.headers(scope="system/Communication.write")
    report = _report(fresh_fhir, NORMAL)
    review_by = (datetime.now(UTC) + timedelta(days=14)).isoformat()
    body = {"harm": "life_or_physical_safety", "review_by": review_by}

    # who may place a hold: a Practitioner, not an integration and not a patient
    assert (
        client.post(f"/v1/reports/{report['id']}/hold", json=body, headers=integration).status_code
        == 403
    )
    patient = issuer.headers(scope="patient/*.write", patient="p1", fhirUser="Practitioner/x")
    assert (
        client.post(f"/v1/reports/{report['id']}/hold", json=body, headers=patient).status_code
        == 403
    )
    bad = client.post(f"/v1/reports/{report['id']}/hold", json={"harm": "boredom"}, headers=doctor)
    assert bad.status_code == 400 and "harm" in bad.json["detail"]

    placed = client.post(f"/v1/reports/{report['id']}/hold", json=body, headers=doctor)
    assert placed.status_code == 201 and placed.json["clinician"] == "Practitioner/dr-lee"
    client.post(f"/v1/reports/{report['id']}/process", headers=integration)
    [comm] = _comms(fresh_fhir, report["id"])
    assert comm["status"] == "on-hold"
    assert comm["statusReason"]["coding"][0]["code"] == "preventing-harm"

    released = client.post(f"/v1/reports/{report['id']}/release", headers=doctor)
    assert released.status_code == 200 and released.json == {
        "report": f"DiagnosticReport/{report['id']}",
        "lifted": 1,
        "released": 1,
    }
    assert _comms(fresh_fhir, report["id"])[0]["status"] == "completed"


def test_actions_without_a_fhir_server_say_what_to_set(explainer, tmp_path, issuer):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/n.sqlite3", **issuer.env}
    client = create_app(config.load(env), explainer).test_client()
    response = client.post("/v1/sync", headers=issuer.headers(scope="system/*.write"))
    assert response.status_code == 503 and "RADPLAIN_FHIR_BASE" in response.json["detail"]
