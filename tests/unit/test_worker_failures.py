"""The worker's failure handling (responses injects the FHIR faults; the store is real SQLite):
a report the EHR keeps refusing is retried with backoff and then set aside, the rest go on;
an unreachable EHR or database costs no attempt and does not stop the worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy.exc import OperationalError

from service.fhir.client import FhirClient, RetryPolicy
from service.pipeline import Pipeline
from service.store.db import Store
from service.worker import MAX_ATTEMPTS, Worker

BASE = "http://ehr.test/fhir/R4"
TEXT = "IMPRESSION: No pneumothorax."


def _report(rid: str) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "meta": {"versionId": "1", "lastUpdated": "2026-11-25T10:00:00Z"},
        "status": "final",
        "code": {"text": "XR chest"},
        "subject": {"reference": "Patient/p1"},
        "conclusion": TEXT,
    }


@pytest.fixture
def worker(explainer, tmp_path):
    client = FhirClient(BASE, retry=RetryPolicy(attempts=2, backoff=0), sleep=lambda _: None)
    store = Store(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    return Worker(Pipeline(client, explainer, store), "w", lease=timedelta(minutes=5))


def _serve(good: str, refused: str) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": _report(good)}, {"resource": _report(refused)}],
    }
    responses.get(f"{BASE}/DiagnosticReport", json=bundle)  # the search
    for kind in ("RelatedPerson", "Consent"):  # the patient has no proxies and no consents
        responses.get(f"{BASE}/{kind}", json={"resourceType": "Bundle", "type": "searchset"})
    responses.get(f"{BASE}/DiagnosticReport/{good}", json=_report(good))
    responses.get(f"{BASE}/DiagnosticReport/{refused}", status=500, json={})
    transaction_response = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {"response": {"status": "201 Created", "location": "Communication/c1/_history/1"}}
        ],
    }
    responses.post(f"{BASE}/", json=transaction_response)


@responses.activate
def test_a_refused_report_is_retried_then_set_aside_while_the_others_are_done(worker):
    _serve("good", "refused")
    assert worker.discover() == 2
    done = worker.drain(backoff=0)  # no wait between tries
    while worker.store.pending_work():
        done += worker.drain(backoff=0)
    assert worker.outcomes == {"written": 1, "retry_later": MAX_ATTEMPTS - 1, "failed": 1}
    assert worker.store.failed_work() == [
        {
            "report_id": "refused",
            "version": "1",
            "attempts": MAX_ATTEMPTS,
            "last_error": "FhirHttpError",
        }
    ]
    assert worker.store.was_processed("good", "1")


@responses.activate
def test_the_set_aside_are_listed_and_queued_again_from_the_command_line(
    worker, tmp_path, monkeypatch, capsys
):
    from service import cli

    _serve("good", "refused")
    worker.discover()
    while worker.store.pending_work():
        worker.drain(backoff=0)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite3'}")
    assert cli.main(["failed"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"refused v1: {MAX_ATTEMPTS} attempts, last FhirHttpError",
        "failed: 1 set aside (--retry queues them again)",
    ]
    assert cli.main(["failed", "--retry"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "failed: 1 queued again"
    assert worker.store.failed_work() == []
    assert worker.store.claim("w", 10, timedelta(minutes=5)) == [("refused", "1")]


@responses.activate
def test_a_failed_report_waits_for_its_backoff(worker):
    _serve("good", "refused")
    worker.discover()
    worker.drain(backoff=3600)
    assert worker.outcomes == {"written": 1, "retry_later": 1}
    assert worker.store.pending_work() == 1  # still queued...
    assert worker.store.claim("other", 10, timedelta(minutes=5)) == []  # ...but not before its time


@responses.activate
@pytest.mark.parametrize(
    "failure", [{"body": requests.ConnectionError("refused")}, {"status": 500, "json": {}}]
)
def test_an_unreachable_or_failing_ehr_costs_no_attempt_and_the_worker_carries_on(
    worker, monkeypatch, failure
):
    responses.get(f"{BASE}/DiagnosticReport", **failure)  # the search, every time
    waits = []
    monkeypatch.setattr(
        worker.stop, "wait", lambda s: waits.append(s) or len(waits) >= 1100 and worker.stop.set()
    )
    worker.run(interval=1)  # a long outage: 1,100 passes in a row fail
    assert len(waits) == 1100 and worker.outcomes == {}  # waited, backing off, never crashed
    assert waits[:3] == [0.5, 1, 1] and set(waits[2:]) == {1}  # backing off up to the interval


def test_a_database_outage_gives_back_the_claims_uncounted(worker, monkeypatch):
    worker.store.enqueue([("r1", "1")])

    def database_down(report):
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(worker, "discover", lambda: 0)
    monkeypatch.setattr(worker.pipeline, "process_safely", database_down)
    monkeypatch.setattr(worker.pipeline.client, "read", lambda *a: _report("r1"))
    monkeypatch.setattr(worker.stop, "wait", lambda s: worker.stop.set())  # one outage, then stop
    worker.run(interval=1)
    assert worker.outcomes == {}
    assert worker.store.pending_work() == 1  # back in the queue, claimable at once
    assert worker.store.claim("other", 10, timedelta(minutes=5)) == [("r1", "1")]
    with worker.store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT attempts FROM work_item").scalar() == 0


def test_a_polling_sync_waits_out_an_outage(monkeypatch, capsys):
    from types import SimpleNamespace

    from service import cli
    from service.fhir.client import FhirUnavailable

    passes = []

    class Pipeline:
        def sync(self):
            passes.append(1)
            if len(passes) == 1:
                raise FhirUnavailable("cannot reach the FHIR server")
            raise KeyboardInterrupt  # the operator stops it on the second pass

    monkeypatch.setattr(
        cli, "_pipeline", lambda base: (SimpleNamespace(sync_interval=0), Pipeline())
    )
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    with pytest.raises(KeyboardInterrupt):
        cli.cmd_sync(SimpleNamespace(fhir_base=None, once=False))
    assert len(passes) == 2
    assert "not finished (FhirUnavailable); trying again" in capsys.readouterr().err


@responses.activate
def test_an_ehr_refusing_the_search_stops_the_worker_with_its_reason(worker):
    from service.fhir.client import FhirHttpError

    responses.get(f"{BASE}/DiagnosticReport", status=403, json={})  # e.g. a missing scope
    with pytest.raises(FhirHttpError, match="403"):
        worker.run(interval=1)
