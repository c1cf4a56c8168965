"""An incidental recommendation that depends on age takes it from the FHIR Patient."""

from __future__ import annotations

import json
from base64 import b64decode
from datetime import timedelta

from test_release import T0, _comms, _pipeline, _post, _report

from service.store.db import Store

THYROID = "EXAM: CT CHEST.\nIMPRESSION: 1.2 cm left thyroid nodule."  # under/over 35 decides


def _incidental(server, report) -> list[dict]:
    (comm,) = _comms(server, report["id"])
    attached = next(
        p["contentAttachment"]
        for p in comm["payload"]
        if p.get("contentAttachment", {}).get("contentType", "").startswith("application/json")
    )
    return json.loads(b64decode(attached["data"]))["incidental"]


def test_age_from_the_patient_decides_the_thyroid_nodule_advice(fresh_fhir, explainer, tmp_path):
    young = _post(fresh_fhir, {"resourceType": "Patient", "birthDate": "2000-01-15"})
    older = _post(fresh_fhir, {"resourceType": "Patient", "birthDate": "1960-06-30"})
    vague = _post(fresh_fhir, {"resourceType": "Patient", "birthDate": "1960"})
    reports = {
        name: _report(fresh_fhir, THYROID, patient=f"Patient/{p['id']}")
        for name, p in (("young", young), ("older", older), ("vague", vague))
    }
    reports["missing"] = _report(fresh_fhir, THYROID, patient="Patient/not-there")
    store = Store(f"sqlite:///{tmp_path}/age.sqlite3")
    _pipeline(fresh_fhir, explainer, store, T0 + timedelta(minutes=5), state=None).sync()

    got = {name: _incidental(fresh_fhir, r)[0] for name, r in reports.items()}
    assert got["young"]["action"] == "ultrasound"  # 26 at the report: under 35, >= 1 cm
    assert got["older"]["action"] == "none"  # 66: 35 or over and under 1.5 cm
    # a birth year alone, or no Patient: the age is not guessed
    for name in ("vague", "missing"):
        assert got[name]["action"] == "depends_on_inputs"
        assert got[name]["missing_inputs"] == ["age"]
