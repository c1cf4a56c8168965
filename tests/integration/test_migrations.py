"""Alembic migrations on real PostgreSQL and on SQLite: up from empty, the schema they
build matches the tables the code queries, old databases are adopted, and replicas may
start at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from service.store import migrate
from service.store.db import Store, metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.sqlite3'}"
    return request.getfixturevalue("pg_url")


def _differences(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def test_up_from_empty_builds_exactly_the_schema_the_code_queries(url):
    store = Store(url)
    assert _differences(store.engine) == []
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"


def test_down_to_nothing_and_up_again(url):
    store = Store(url)
    with store.engine.begin() as conn:
        command.downgrade(migrate.config(conn), "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(store.engine)
    assert _differences(store.engine) == []


def test_a_database_from_before_migrations_is_adopted_with_its_data(url):
    engine = create_engine(url)
    migrate.upgrade(engine, "0001")  # the tables as they were, without the version table
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    Store(url).set_watermark("http://ehr/fhir", "2026-11-01T00:00:00Z")

    store = Store(url)  # opened by the new version: stamped at 0001, upgraded to 0002
    assert store.watermark("http://ehr/fhir") == "2026-11-01T00:00:00Z"
    assert _differences(store.engine) == []
    store.save_explanation("r1", "1", "Patient/a", {"summary": "s"}, [])
    assert store.current_explanation("r1")["document"] == {"summary": "s"}


def test_replicas_starting_together_migrate_once(pg_url):
    errors, stores = [], []

    def start():
        try:
            stores.append(Store(pg_url))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(stores) == 4
    stores[0].set_watermark("b", datetime.now(UTC).isoformat())
    assert stores[3].watermark("b") is not None
