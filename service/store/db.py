"""What the pipeline remembers between runs: the sync watermark, each processed version,
its explanation and who it was released to.

SQLAlchemy Core, so the same statements run on SQLite (the embedded default) and on
PostgreSQL. The tables below describe the schema for queries; the migrations in
``migrations/`` create and change it (a test checks that the two agree).
"""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    event,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from . import migrate

metadata = MetaData()

# what SQLAlchemy raises when the database cannot be reached (down, restarting, failing over),
# as opposed to a statement that is wrong: callers wait and try again, and treat the rest as bugs
UNREACHABLE = (OperationalError, InterfaceError)

sync_state = Table(
    "sync_state",
    metadata,
    Column("fhir_base", String(512), primary_key=True),
    Column("watermark", String(64)),  # the highest meta.lastUpdated seen, as the server wrote it
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

processed = Table(
    "processed_report",
    metadata,
    Column("report_id", String(128), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("audience", String(32), primary_key=True),
    Column("status", String(32), nullable=False),  # the report status when processed
    Column("outcome", String(32), nullable=False),  # written | skipped_not_final | withdrawn | ...
    Column("communication_id", String(128)),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)


explanations = Table(
    "explanation",
    metadata,
    Column("report_id", String(128), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("subject", String(256)),  # Patient/x: whose record this is
    Column("document", Text, nullable=False),  # the Explanation JSON
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True)),  # a later version or entered-in-error
)

decisions = Table(
    "release_decision",
    metadata,
    Column("report_id", String(128), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("audience", String(256), primary_key=True),  # Patient/x or RelatedPerson/y
    Column("action", String(16), nullable=False),  # release | hold | withhold | retract
    Column("basis", String(64), nullable=False),
)


work = Table(
    "work_item",
    metadata,
    Column("report_id", String(128), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("state", String(16), nullable=False),  # pending | claimed | done | failed
    Column("claimed_by", String(128)),
    Column("claimed_at", DateTime(timezone=True)),  # renewed while the claimant works
    Column("enqueued_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),  # failed tries so far
    Column("not_before", DateTime(timezone=True)),  # a failed item waits until then
    Column("last_error", String(64)),  # the last failure's type (never its message: PHI)
)


audit = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(256), nullable=False),  # the token's sub
    Column("on_behalf_of", String(256)),  # its fhirUser or Patient/<patient>
    Column("action", String(128), nullable=False),  # "GET /v1/reports/{report_id}/explanation"
    Column("report_id", String(128)),
    Column("status", Integer, nullable=False),  # the HTTP status answered
    Column("request_id", String(64)),
)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _sqlite_pragmas(connection, _record) -> None:
    # WAL lets a reader and a writer work at once, and NORMAL sync is still crash-safe in
    # WAL mode; the default (a full fsync per commit) costs more than the FHIR call itself
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


holds = Table(
    "release_hold",
    metadata,
    Column("communication_key", String(256), primary_key=True),
    Column("communication_id", String(128)),
    Column("report_id", String(128), nullable=False),
    Column("version", String(64), nullable=False),
    Column("audience", String(256), nullable=False),
    Column("basis", String(64), nullable=False),
    Column("until", DateTime(timezone=True)),  # null: held on a condition, not a time
    Column("condition", String(256)),
    Column("released_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


harm = Table(
    "harm_determination",
    metadata,
    Column("report_id", String(128), primary_key=True),
    Column("audience", String(256), primary_key=True),  # a reference, or "*" for everyone
    Column("clinician", String(256), nullable=False),
    Column("harm", String(64), nullable=False),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("review_by", DateTime(timezone=True), nullable=False),
    Column("lifted_at", DateTime(timezone=True)),
)


class Store:
    def __init__(self, url: str):
        # pre-ping: after a database restart a pooled connection is found dead and replaced
        # before use, so the first query after recovery does not fail
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        migrate.upgrade(self.engine)

    def watermark(self, base: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(sync_state.c.watermark).where(sync_state.c.fhir_base == base)
            ).scalar()

    def set_watermark(self, base: str, value: str) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            try:  # first sync of this server; a concurrent sync may insert the row first
                with conn.begin_nested():
                    conn.execute(
                        sync_state.insert().values(fhir_base=base, watermark=value, updated_at=now)
                    )
            except IntegrityError:
                conn.execute(
                    sync_state.update()
                    .where(sync_state.c.fhir_base == base)
                    .values(watermark=value, updated_at=now)
                )

    def was_processed(self, report_id: str, version: str, audience: str = "patient") -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(processed.c.outcome).where(
                    processed.c.report_id == report_id,
                    processed.c.version == version,
                    processed.c.audience == audience,
                )
            ).first()
        return row is not None

    def record(
        self,
        report_id: str,
        version: str,
        status: str,
        outcome: str,
        communication_id: str | None = None,
        audience: str = "patient",
    ) -> None:
        values = {
            "report_id": report_id,
            "version": version,
            "audience": audience,
            "status": status,
            "outcome": outcome,
            "communication_id": communication_id,
            "processed_at": datetime.now(UTC),
        }
        # another worker recorded it first: same outcome, keep theirs
        with suppress(IntegrityError), self.engine.begin() as conn:
            conn.execute(processed.insert().values(**values))

    def add_hold(
        self,
        key: str,
        communication_id: str | None,
        report_id: str,
        version: str,
        audience: str,
        basis: str,
        until: datetime | None,
        condition: str | None,
    ) -> None:
        values = {
            "communication_key": key,
            "communication_id": communication_id,
            "report_id": report_id,
            "version": version,
            "audience": audience,
            "basis": basis,
            "until": until.astimezone(UTC) if until else None,
            "condition": condition,
            "created_at": datetime.now(UTC),
        }
        with suppress(IntegrityError), self.engine.begin() as conn:
            conn.execute(holds.insert().values(**values))

    def due_holds(self, now: datetime) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(holds).where(holds.c.released_at.is_(None), holds.c.until.is_not(None))
            )
            # compared in Python: SQLite keeps no time zone, PostgreSQL does
            return [dict(r._mapping) for r in rows if _aware(r.until) <= now]

    def open_holds(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [
                dict(r._mapping)
                for r in conn.execute(select(holds).where(holds.c.released_at.is_(None)))
            ]

    def mark_released(self, key: str, when: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                holds.update().where(holds.c.communication_key == key).values(released_at=when)
            )

    def record_harm(
        self,
        report_id: str,
        audience: str,
        clinician: str,
        kind: str,
        made_at: datetime,
        review_by: datetime,
    ) -> None:
        values = {
            "report_id": report_id,
            "audience": audience,
            "clinician": clinician,
            "harm": kind,
            "made_at": made_at.astimezone(UTC),
            "review_by": review_by.astimezone(UTC),
            "lifted_at": None,
        }
        with self.engine.begin() as conn:
            conn.execute(
                harm.delete().where(harm.c.report_id == report_id, harm.c.audience == audience)
            )
            conn.execute(harm.insert().values(**values))

    def lift_harm(self, report_id: str, when: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                harm.update()
                .where(harm.c.report_id == report_id, harm.c.lifted_at.is_(None))
                .values(lifted_at=when.astimezone(UTC))
            ).rowcount

    def harm_for(self, report_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(harm).where(harm.c.report_id == report_id))
            return [
                {
                    **dict(r._mapping),
                    "made_at": _aware(r.made_at),
                    "review_by": _aware(r.review_by),
                    "lifted_at": r.lifted_at and _aware(r.lifted_at),
                }
                for r in rows
            ]

    def holds_for(self, report_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            return [
                dict(r._mapping)
                for r in conn.execute(select(holds).where(holds.c.report_id == report_id))
            ]

    def outcomes(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(processed))]

    # -- explanations and who may read them ----------------------------------------------
    def save_explanation(
        self, report_id: str, version: str, subject: str | None, doc: dict, made: list[tuple]
    ) -> None:
        """Store a version's explanation and its per-audience decisions (audience, action,
        basis) together; a second worker saving the same version changes nothing."""
        with suppress(IntegrityError), self.engine.begin() as conn:
            conn.execute(
                explanations.insert().values(
                    report_id=report_id,
                    version=version,
                    subject=subject,
                    document=json.dumps(doc),
                    created_at=datetime.now(UTC),
                )
            )
            for audience, action, basis in made:
                conn.execute(
                    decisions.insert().values(
                        report_id=report_id,
                        version=version,
                        audience=audience,
                        action=action,
                        basis=basis,
                    )
                )

    def withdraw_explanations(self, report_id: str, keep_version: str | None = None) -> None:
        query = explanations.update().where(
            explanations.c.report_id == report_id, explanations.c.withdrawn_at.is_(None)
        )
        if keep_version is not None:
            query = query.where(explanations.c.version != keep_version)
        with self.engine.begin() as conn:
            conn.execute(query.values(withdrawn_at=datetime.now(UTC)))

    def current_explanation(self, report_id: str) -> dict | None:
        """The newest explanation of the report that has not been withdrawn."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(explanations)
                .where(explanations.c.report_id == report_id, explanations.c.withdrawn_at.is_(None))
                .order_by(explanations.c.created_at.desc())
            ).first()
        if row is None:
            return None
        found = dict(row._mapping)
        found["document"] = json.loads(found["document"])
        return found

    def released_to(self, report_id: str, version: str, audience: str) -> bool:
        """Released to this audience: at once, or by a hold that has since been lifted."""
        with self.engine.connect() as conn:
            action = conn.execute(
                select(decisions.c.action).where(
                    decisions.c.report_id == report_id,
                    decisions.c.version == version,
                    decisions.c.audience == audience,
                )
            ).scalar()
            if action == "release":
                return True
            if action != "hold":
                return False
            lifted = conn.execute(
                select(holds.c.released_at).where(
                    holds.c.report_id == report_id,
                    holds.c.version == version,
                    holds.c.audience == audience,
                )
            ).scalar()
        return lifted is not None

    # -- the work queue shared by worker replicas -----------------------------------------
    def enqueue(self, items: list[tuple[str, str]]) -> int:
        added, now = 0, datetime.now(UTC)
        for report_id, version in items:
            with suppress(IntegrityError), self.engine.begin() as conn:
                conn.execute(
                    work.insert().values(
                        report_id=report_id, version=version, state="pending", enqueued_at=now
                    )
                )
                added += 1
        return added

    def claim(self, worker: str, limit: int, lease: timedelta) -> list[tuple[str, str]]:
        """Claim up to ``limit`` items: pending ones, or ones whose claimant has been silent
        longer than ``lease`` (it died). On PostgreSQL, rows another worker is claiming are
        skipped (FOR UPDATE SKIP LOCKED), so replicas never wait on or take the same item."""
        now = datetime.now(UTC)
        claimable = or_(
            and_(
                work.c.state == "pending",
                or_(work.c.not_before.is_(None), work.c.not_before <= now),
            ),
            and_(work.c.state == "claimed", work.c.claimed_at < now - lease),
        )
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(work.c.report_id, work.c.version)
                .where(claimable)
                .order_by(work.c.enqueued_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for report_id, version in rows:
                conn.execute(
                    work.update()
                    .where(work.c.report_id == report_id, work.c.version == version)
                    .values(state="claimed", claimed_by=worker, claimed_at=now)
                )
        return [(r, v) for r, v in rows]

    def finish(self, report_id: str, version: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                work.update()
                .where(work.c.report_id == report_id, work.c.version == version)
                .values(state="done")
            )

    def renew(self, worker: str) -> None:
        """The claimant is alive: its claims' leases start again (a heartbeat per item, so a
        slow batch is not taken over by another replica while it is being worked on)."""
        with self.engine.begin() as conn:
            conn.execute(
                work.update()
                .where(work.c.state == "claimed", work.c.claimed_by == worker)
                .values(claimed_at=datetime.now(UTC))
            )

    def retry_later(
        self, report_id: str, version: str, error: str, backoff: timedelta, max_attempts: int
    ) -> str:
        """A try failed: the item goes back to the queue after ``backoff``, doubled with each
        failure (at most an hour), or after ``max_attempts`` it is set aside as ``failed``.
        Returns the item's new state."""
        key = and_(work.c.report_id == report_id, work.c.version == version)
        with self.engine.begin() as conn:
            attempts = conn.execute(select(work.c.attempts).where(key)).scalar() or 0
            state = "failed" if attempts + 1 >= max_attempts else "pending"
            delay = min(backoff * 2**attempts, timedelta(hours=1))
            conn.execute(
                work.update()
                .where(key)
                .values(
                    state=state,
                    attempts=attempts + 1,
                    last_error=error[:64],
                    not_before=datetime.now(UTC) + delay,
                    claimed_by=None,
                    claimed_at=None,
                )
            )
        return state

    def failed_work(self) -> list[dict]:
        """Items set aside after too many failed tries (report, version, attempts, error)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(work.c.report_id, work.c.version, work.c.attempts, work.c.last_error)
                .where(work.c.state == "failed")
                .order_by(work.c.enqueued_at)
            ).all()
        return [dict(r._mapping) for r in rows]

    def requeue_failed(self) -> int:
        """Put every set-aside item back in the queue with a clean slate (after the cause was
        fixed: the EHR accepts the write again, a bug was deployed away)."""
        with self.engine.begin() as conn:
            return conn.execute(
                work.update()
                .where(work.c.state == "failed")
                .values(state="pending", attempts=0, not_before=None, last_error=None)
            ).rowcount

    def unclaim(self, worker: str) -> int:
        """Give back what this worker claimed and did not finish (graceful shutdown)."""
        with self.engine.begin() as conn:
            return conn.execute(
                work.update()
                .where(work.c.state == "claimed", work.c.claimed_by == worker)
                .values(state="pending", claimed_by=None, claimed_at=None)
            ).rowcount

    def work_counts(self) -> dict[str, int]:
        """Queue items by state (pending, claimed, done, failed), for the metrics."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(work.c.state, func.count()).group_by(work.c.state)).all()
        return {state: n for state, n in rows}

    def pending_work(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count())
                .select_from(work)
                .where(work.c.state.in_(("pending", "claimed")))
            ).scalar()

    # -- audit trail ------------------------------------------------------------------------
    def audit(self, **event) -> None:
        with self.engine.begin() as conn:
            conn.execute(audit.insert().values(at=datetime.now(UTC), **event))

    def audit_events(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(audit).order_by(audit.c.id))]
