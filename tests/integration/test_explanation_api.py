"""GET /v1/reports/{id}/explanation after a real sync: who may read what, and when."""

from __future__ import annotations

from datetime import timedelta

import requests
from test_release import BIRADS4, NORMAL, T0, _pipeline, _report

from service import config
from service.annotate.source_text import from_report
from service.api import create_app
from service.store.db import Store


def test_patients_read_only_their_own_released_explanations(
    fresh_fhir, explainer, tmp_path, issuer
):
    db = f"sqlite:///{tmp_path}/api.sqlite3"
    store = Store(db)
    held = _report(fresh_fhir, BIRADS4, patient="Patient/p1")  # KY: held 72 hours
    normal = _report(fresh_fhir, NORMAL, patient="Patient/p1")
    other = _report(fresh_fhir, NORMAL, patient="Patient/p2")
    _pipeline(fresh_fhir, explainer, store, T0 + timedelta(minutes=5)).sync()

    client = create_app(config.load({"DATABASE_URL": db, **issuer.env}), explainer).test_client()
    p1 = issuer.headers(scope="patient/Communication.read", patient="p1")
    system = issuer.headers(scope="system/Communication.read")

    def get(report, headers, **kw):
        return client.get(f"/v1/reports/{report['id']}/explanation", headers=headers, **kw)

    own = get(normal, p1)
    assert own.status_code == 200
    assert own.json == explainer.explain(from_report(normal))  # what was stored is what was made
    html = get(normal, p1, query_string={"format": "html"})
    assert html.mimetype == "text/html" and "<script" not in html.get_data(as_text=True)

    assert get(other, p1).status_code == 404  # another patient's: indistinguishable from absent
    assert get({"id": "does-not-exist"}, p1).status_code == 404
    assert get(held, p1).status_code == 404  # on hold: not yet the patient's to read
    assert get(held, system).status_code == 200  # integrations and clinicians see it

    # the state-law clock runs out: release-due lifts the hold, and now the patient reads it
    _pipeline(fresh_fhir, explainer, store, T0 + timedelta(hours=72, minutes=1)).release_due()
    assert get(held, p1).status_code == 200

    # the report is entered in error: its explanation is gone for everyone
    requests.put(
        f"{fresh_fhir.base}/DiagnosticReport/{normal['id']}",
        json={**normal, "status": "entered-in-error"},
        timeout=10,
    ).raise_for_status()
    _pipeline(fresh_fhir, explainer, store, T0 + timedelta(hours=73)).sync()
    assert get(normal, p1).status_code == 404
    assert get(normal, system).status_code == 404


def test_every_authenticated_call_is_in_the_audit_trail(fresh_fhir, explainer, tmp_path, issuer):
    db = f"sqlite:///{tmp_path}/audit.sqlite3"
    store = Store(db)
    mine = _report(fresh_fhir, NORMAL, patient="Patient/p1")
    theirs = _report(fresh_fhir, NORMAL, patient="Patient/p2")
    _pipeline(fresh_fhir, explainer, store, T0 + timedelta(minutes=5), state=None).sync()
    client = create_app(config.load({"DATABASE_URL": db, **issuer.env}), explainer).test_client()
    p1 = issuer.headers(scope="patient/Communication.read", patient="p1", sub="app-7")
    for report in (mine, theirs):
        client.get(f"/v1/reports/{report['id']}/explanation", headers=p1)
    client.get("/v1/holds", headers=p1)  # refused, and recorded as refused
    client.get("/v1/holds")  # no token: no identity to record (401)

    events = [
        (e["actor"], e["on_behalf_of"], e["action"], e["report_id"], e["status"])
        for e in Store(db).audit_events()
    ]
    route = "GET /v1/reports/<report_id>/explanation"
    assert events == [
        ("app-7", "Patient/p1", route, mine["id"], 200),
        ("app-7", "Patient/p1", route, theirs["id"], 404),
        ("app-7", "Patient/p1", "GET /v1/holds", None, 403),
    ]
