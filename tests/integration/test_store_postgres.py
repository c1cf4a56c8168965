"""The store on real PostgreSQL (127.0.0.1:5432, database `test`; .ci/run starts it if needed)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from service.store.db import Store


@pytest.fixture
def pg_store(pg_url):
    return Store(pg_url)


def test_watermark_and_processed_versions_on_postgres(pg_store):
    assert pg_store.watermark("http://x/fhir") is None
    pg_store.set_watermark("http://x/fhir", "2026-01-01T00:00:00Z")
    pg_store.set_watermark("http://x/fhir", "2026-01-02T00:00:00Z")
    assert pg_store.watermark("http://x/fhir") == "2026-01-02T00:00:00Z"
    pg_store.record("r1", "1", "final", "written", "c1")
    pg_store.record("r1", "1", "final", "written", "c1")  # a second worker: no error, one row
    assert pg_store.was_processed("r1", "1") and not pg_store.was_processed("r1", "2")
    assert len(pg_store.outcomes()) == 1


def test_concurrent_records_keep_one_row(pg_store):
    def record():
        for i in range(50):
            pg_store.record(f"r{i}", "1", "final", "written")

    threads = [threading.Thread(target=record) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pg_store.outcomes()) == 50


def test_holds_round_trip_with_time_zones_on_postgres(pg_store):
    now = datetime(2026, 10, 5, 14, 0, tzinfo=UTC)
    pg_store.add_hold(
        "r1-v1-patient",
        "c1",
        "r1",
        "1",
        "Patient/p",
        "state-law-hold",
        now + timedelta(hours=72),
        None,
    )
    pg_store.add_hold(
        "r2-v1-patient",
        "c2",
        "r2",
        "1",
        "Patient/p",
        "patient-requested-delay",
        None,
        "after review",
    )
    assert [h["communication_key"] for h in pg_store.due_holds(now + timedelta(hours=71))] == []
    assert [h["communication_key"] for h in pg_store.due_holds(now + timedelta(hours=72))] == [
        "r1-v1-patient"
    ]
    assert len(pg_store.open_holds()) == 2
    pg_store.mark_released("r1-v1-patient", now + timedelta(hours=72))
    assert [h["communication_key"] for h in pg_store.open_holds()] == ["r2-v1-patient"]
    pg_store.record_harm(
        "r3", "*", "Practitioner/x", "life_or_physical_safety", now, now + timedelta(days=3)
    )
    [h] = pg_store.harm_for("r3")
    assert h["review_by"] == now + timedelta(days=3) and h["lifted_at"] is None
    assert pg_store.lift_harm("r3", now) == 1
