"""Bring a database's schema up to date with Alembic, safely from many processes at once.

Every ``Store`` calls ``upgrade`` on open: the API and each worker replica can start in any
order. On PostgreSQL an advisory lock serialises concurrent upgrades; a database created
before migrations existed (tables, no ``alembic_version``) is stamped at 0001 first.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

SCRIPTS = Path(__file__).with_name("migrations")
_LOCK = 0x7261_6470  # "radp": any constant shared by every radplain process


def config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        tables = set(inspect(conn).get_table_names())
        cfg = config(conn)
        if "sync_state" in tables and "alembic_version" not in tables:
            command.stamp(cfg, "0001")
        command.upgrade(cfg, revision)
