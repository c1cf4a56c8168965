"""pull -> explain -> write back, against the real FHIR test server (tests/fhir_server)."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest
import requests
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.provenance import Provenance
from jwt.algorithms import RSAAlgorithm

from service import metrics
from service.fhir.client import FhirClient, RetryPolicy
from service.fhir.smart_auth import ClientKey, SmartBackendAuth
from service.fhir.writeback import IDENTIFIER_SYSTEM
from service.pipeline import Pipeline
from service.store.db import Store

CORPUS = yaml.safe_load((Path(__file__).parents[1] / "data/corpus/reports.yaml").read_text())
LOINC_RAD = {"system": "http://loinc.org", "code": "LP29684-5", "display": "Radiology"}
V2_RAD = {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD"}
LAB = {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}


def _report(i: int, status: str, category: dict) -> dict:
    text = CORPUS[i % len(CORPUS)]["text"]
    return {
        "resourceType": "DiagnosticReport",
        "status": status,
        "category": [{"coding": [category]}],
        "code": {"text": CORPUS[i % len(CORPUS)]["id"]},
        "subject": {"reference": f"Patient/p{i % 7}"},
        "presentedForm": [
            {
                "contentType": "text/plain; charset=utf-8",
                "data": base64.b64encode(text.encode()).decode(),
            }
        ],
    }


def _post(server, resource: dict) -> dict:
    r = requests.post(
        f"{server.base}/{resource['resourceType']}",
        json=resource,
        headers={"Content-Type": "application/fhir+json"},
        timeout=10,
    )
    r.raise_for_status()
    return r.json()


def _put(server, resource: dict) -> dict:
    r = requests.put(
        f"{server.base}/{resource['resourceType']}/{resource['id']}",
        json=resource,
        headers={"Content-Type": "application/fhir+json"},
        timeout=10,
    )
    r.raise_for_status()
    return r.json()


def _communications(server) -> list[dict]:
    return list(FhirClient(server.base).search("Communication", {"_count": "100"}))


def _pipeline(server, explainer, tmp_path, name="a", auth=None) -> Pipeline:
    client = FhirClient(
        server.base,
        auth=auth,
        on_unauthorized=auth.invalidate if auth else None,
        retry=RetryPolicy(attempts=6, backoff=0.01),
        timeout=10,
    )
    return Pipeline(client, explainer, Store(f"sqlite:///{tmp_path / name}.sqlite3"), page_size=7)


@pytest.fixture
def seeded(fresh_fhir):
    """50 reports: 33 final/amended/corrected radiology (both category codings), 9 not yet
    final, 3 entered-in-error or cancelled, 5 laboratory reports that are not radiology."""
    plan = (
        [("final", LOINC_RAD)] * 20
        + [("final", V2_RAD)] * 10
        + [("corrected", LOINC_RAD)] * 2
        + [("appended", V2_RAD)]
        + [("preliminary", LOINC_RAD)] * 5
        + [("partial", V2_RAD)] * 2
        + [("registered", LOINC_RAD)] * 2
        + [("entered-in-error", LOINC_RAD)] * 2
        + [("cancelled", V2_RAD)]
        + [("final", LAB)] * 5
    )
    assert len(plan) == 50
    return [_post(fresh_fhir, _report(i, status, cat)) for i, (status, cat) in enumerate(plan)]


def test_sync_writes_exactly_one_communication_per_releasable_radiology_report(
    fresh_fhir, seeded, explainer, tmp_path
):
    result = _pipeline(fresh_fhir, explainer, tmp_path).sync()
    releasable = {
        r["id"]
        for r in seeded
        if r["status"] in {"final", "corrected", "appended"}
        and r["category"][0]["coding"][0]["code"] != "LAB"
    }
    assert len(releasable) == 33
    comms = _communications(fresh_fhir)
    about = sorted(c["about"][0]["reference"].split("/")[1] for c in comms)
    assert about == sorted(releasable)
    assert result.written == 33 and result.seen == 45  # the 5 lab reports are never fetched
    for comm in comms:  # valid R4, and what was written is what reads back
        Communication.model_validate(comm)
        assert comm["status"] == "completed"
        assert comm["identifier"][0]["system"] == IDENTIFIER_SYSTEM
    provenance = list(FhirClient(fresh_fhir.base).search("Provenance", {"_count": "100"}))
    assert len(provenance) == 33
    for p in provenance:
        Provenance.model_validate(p)


def test_written_resources_read_back_identically(fresh_fhir, seeded, explainer, tmp_path):
    _pipeline(fresh_fhir, explainer, tmp_path).sync()
    client = FhirClient(fresh_fhir.base)
    for comm in _communications(fresh_fhir)[:5]:
        again = client.read("Communication", comm["id"])
        assert again == comm
        assert Communication.model_validate(again).model_dump(
            mode="json", exclude_none=True
        ) == Communication.model_validate(comm).model_dump(mode="json", exclude_none=True)


def test_second_sync_writes_nothing(fresh_fhir, seeded, explainer, tmp_path):
    pipeline = _pipeline(fresh_fhir, explainer, tmp_path)
    pipeline.sync()
    before = len(_communications(fresh_fhir))
    again = pipeline.sync()
    assert again.written == 0 and len(_communications(fresh_fhir)) == before


def test_a_fresh_store_still_writes_no_duplicates(fresh_fhir, seeded, explainer, tmp_path):
    _pipeline(fresh_fhir, explainer, tmp_path, "first").sync()
    before = len(_communications(fresh_fhir))
    result = _pipeline(fresh_fhir, explainer, tmp_path, "second").sync()  # forgot everything
    assert result.written == 0 and len(_communications(fresh_fhir)) == before


def test_amended_report_replaces_its_explanation(fresh_fhir, seeded, explainer, tmp_path):
    pipeline = _pipeline(fresh_fhir, explainer, tmp_path)
    pipeline.sync()
    report = next(r for r in seeded if r["status"] == "final")
    _put(fresh_fhir, {**report, "status": "amended"})
    result = pipeline.sync()
    assert result.written == 1
    mine = [
        c
        for c in _communications(fresh_fhir)
        if c["about"][0]["reference"] == f"DiagnosticReport/{report['id']}"
    ]
    statuses = sorted((c["identifier"][0]["value"].split("-v")[1], c["status"]) for c in mine)
    assert statuses == [("1-patient", "entered-in-error"), ("2-patient", "completed")]


def test_entered_in_error_withdraws_the_explanation(fresh_fhir, seeded, explainer, tmp_path):
    pipeline = _pipeline(fresh_fhir, explainer, tmp_path)
    pipeline.sync()
    report = next(r for r in seeded if r["status"] == "final")
    _put(fresh_fhir, {**report, "status": "entered-in-error"})
    result = pipeline.sync()
    assert result.withdrawn == 1
    mine = [
        c
        for c in _communications(fresh_fhir)
        if c["about"][0]["reference"] == f"DiagnosticReport/{report['id']}"
    ]
    assert [c["status"] for c in mine] == ["entered-in-error"]


def test_two_concurrent_syncs_write_no_duplicates(fresh_fhir, seeded, explainer, tmp_path):
    pipelines = [_pipeline(fresh_fhir, explainer, tmp_path, name) for name in ("one", "two")]
    threads = [threading.Thread(target=p.sync) for p in pipelines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [c["identifier"][0]["value"] for c in _communications(fresh_fhir)]
    assert len(keys) == 33 and len(set(keys)) == 33
    tags = [
        p["meta"]["tag"][0]["code"]
        for p in FhirClient(fresh_fhir.base).search("Provenance", {"_count": "100"})
    ]
    assert len(tags) == len(set(tags)) == 33


def _sample(name, **labels) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_429_and_503_are_retried_and_counted(fresh_fhir, seeded, explainer, tmp_path):
    fresh_fhir.faults(statuses=[429, 503, 503, 429], retry_after=0)
    written = _sample("radplain_reports_processed_total", outcome="written")
    explained = _sample("radplain_explanation_seconds_count")
    retried = _sample("radplain_fhir_request_seconds_count", method="GET", status="4xx")
    result = _pipeline(fresh_fhir, explainer, tmp_path).sync()
    assert result.written == 33
    faults = fresh_fhir.stats()["faults"]
    assert (faults["served"], faults["pending"]) == (4, 0)
    assert faults["by_kind"] == {"429 GET": 2, "503 GET": 2}
    # what an operator's dashboard shows for this sync
    assert _sample("radplain_reports_processed_total", outcome="written") - written == 33
    assert _sample("radplain_explanation_seconds_count") - explained == 33
    assert _sample("radplain_fhir_request_seconds_count", method="GET", status="4xx") > retried


def test_expired_token_is_refreshed(fresh_fhir, seeded, explainer, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {
        **__import__("json").loads(RSAAlgorithm.to_jwk(key.public_key())),
        "kid": "k1",
        "alg": "RS384",
    }
    fresh_fhir.register_client("radplain-test", {"keys": [jwk]})
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    auth = SmartBackendAuth(
        fresh_fhir.base,
        ClientKey.from_pem("radplain-test", pem, "k1", "RS384"),
        "system/DiagnosticReport.read system/Communication.write",
    )
    pipeline = _pipeline(fresh_fhir, explainer, tmp_path, auth=auth)
    first = auth()
    fresh_fhir.expire_tokens()
    result = pipeline.sync()
    assert result.written == 33
    assert auth() != first  # a new token was fetched after the 401


def test_two_concurrent_syncs_sharing_a_postgres_store(fresh_fhir, seeded, explainer, pg_url):
    def client():
        return FhirClient(fresh_fhir.base, retry=RetryPolicy(attempts=6, backoff=0.01), timeout=10)

    pipelines = [Pipeline(client(), explainer, Store(pg_url), page_size=7) for _ in range(2)]
    results = []
    threads = [threading.Thread(target=lambda p=p: results.append(p.sync())) for p in pipelines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [c["identifier"][0]["value"] for c in _communications(fresh_fhir)]
    assert len(keys) == len(set(keys)) == 33
    assert len(Store(pg_url).outcomes()) == 45  # every radiology report version recorded once


def test_logs_of_a_sync_carry_no_phi(fresh_fhir, explainer, tmp_path, json_logs):
    """Seed reports full of names, dates of birth and MRNs (one of them unreadable, plus
    server faults), sync at DEBUG, and scan every log line for any of it."""
    import json

    secrets = ["Zebulon Quartermaine", "Ottilie Vanterpool", "1949-07-13", "MRN 88231977"]
    texts = [
        f"Patient: {secrets[0]}, DOB {secrets[2]}, {secrets[3]}.\nIMPRESSION: No pneumothorax.",
        f"History: {secrets[1]} fell.\nIMPRESSION: 6 mm nodule right upper lobe. BI-RADS 4.",
    ]
    for i, text in enumerate(texts):
        report = _report(i, "final", LOINC_RAD)
        report["presentedForm"][0]["data"] = base64.b64encode(text.encode()).decode()
        _post(fresh_fhir, report)
    unreadable = _report(2, "final", LOINC_RAD)  # not UTF-8: recorded as not explainable
    unreadable["presentedForm"][0]["data"] = base64.b64encode(
        f"{secrets[1]} \xff\xfe IMPRESSION".encode("latin-1")
    ).decode()
    _post(fresh_fhir, unreadable)
    fresh_fhir.faults(statuses=[503, 429], retry_after=0)

    result = _pipeline(fresh_fhir, explainer, tmp_path).sync()
    stream = json_logs

    assert result.written == 2 and len(result.failed) == 1
    lines = stream.getvalue().splitlines()
    assert any(json.loads(line)["event"] == "report not explainable" for line in lines)
    assert any(json.loads(line)["event"] == "fhir retry" for line in lines), lines
    for secret in secrets:
        assert secret not in stream.getvalue()
