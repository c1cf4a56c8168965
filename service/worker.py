"""``radplain worker``: any number of replicas share the sync work through the database.

Each pass, one replica at a time (a PostgreSQL advisory lock; SQLite has one process)
searches the EHR for changed radiology reports and enqueues each (report, version); then
every replica claims batches with FOR UPDATE SKIP LOCKED and processes them with the
same pipeline as ``radplain sync``. Exactly once holds twice over: a claimed item is no
one else's, and the write itself is a conditional create keyed by report version.
A replica that dies leaves its claims to expire after ``lease`` (renewed before each
report, so only a silent replica loses them); one that is told to stop (SIGTERM) finishes
the report in hand and gives the rest back.

Failures, and what each costs:
- the database or the EHR is unreachable (or keeps throttling after the client's retries),
  or the EHR fails (5xx) a search rather than one report's read or write: not a report's
  fault, so no attempt is counted; the replica waits, backing off up to
  the sync interval, gives back what it holds and carries on when they answer again;
- anything else while processing one report (the EHR refuses a write, a bug): that report
  is tried again later with backoff, and after ``MAX_ATTEMPTS`` set aside as ``failed``
  (``Store.failed_work``, the ``failed`` outcome) instead of blocking the queue for ever.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from . import metrics
from .fhir import writeback
from .fhir.client import FhirHttpError, FhirNotFound, FhirUnavailable
from .pipeline import Pipeline, latest_update
from .store.db import UNREACHABLE

log = logging.getLogger(__name__)
_DISCOVERY_LOCK = 0x7261_6471
MAX_ATTEMPTS = 5  # failed tries of one report before it is set aside
# the database or the EHR unreachable, not the report (a DBAPIError such as an IntegrityError
# is a bug, and is retried per report like any other)
OUTAGE = (*UNREACHABLE, FhirUnavailable)


class Worker:
    def __init__(
        self, pipeline: Pipeline, name: str, *, batch: int = 10, lease=timedelta(minutes=5)
    ):
        self.pipeline, self.store, self.name = pipeline, pipeline.store, name
        self.batch, self.lease = batch, lease
        self.stop = threading.Event()
        self.outcomes: Counter[str] = Counter()

    def run(self, interval: float, until_idle: bool = False, release: bool = False) -> Counter:
        """Pass after pass until stopped; with ``release``, each pass also releases the
        holds that have come due (what the release-due CronJob does in a cluster)."""
        outages = 0
        try:
            while not self.stop.is_set():
                try:
                    found = self.discover()
                    done = self.drain(interval)
                    if release:
                        self.pipeline.release_due()
                    # found is None while another replica is discovering: not idle yet
                    idle = until_idle and found == 0 and not done and not self.store.pending_work()
                except (*OUTAGE, FhirHttpError) as exc:
                    if isinstance(exc, FhirHttpError) and exc.http_status < 500:
                        raise  # the EHR refuses the search itself (4xx): a setup error, said loudly
                    outages += 1
                    log.warning(
                        "worker waiting for the database or the EHR",
                        extra={"worker": self.name, "error": type(exc).__name__},
                    )
                    metrics.ERRORS.labels(type(exc).__name__).inc()
                    self.stop.wait(min(interval, 0.25 * 2 ** min(outages, 16)))
                    self._give_back()  # what we held goes back to the queue, uncounted
                    continue
                outages = 0
                if idle:
                    break
                if not found and not done:
                    self.stop.wait(interval)
        finally:
            self._give_back()
        return self.outcomes

    def _give_back(self) -> None:
        try:
            given_back = self.store.unclaim(self.name)
        except DBAPIError as exc:  # still down: the claims expire with their lease instead
            log.warning("claims not given back", extra={"error": type(exc).__name__})
            return
        if given_back:
            log.info("claims given back", extra={"worker": self.name, "count": given_back})

    def discover(self) -> int | None:
        """Enqueue changed reports, unless another replica is doing it now (then None)."""
        with self._discovery_lock() as mine:
            if not mine:
                return None
            watermark = newest = self.store.watermark(self.pipeline.client.base)
            added = 0
            for report in self.pipeline.changed_reports(watermark):
                added += self.store.enqueue([(report["id"], writeback.version_of(report))])
                newest = latest_update(newest, report)
            self.pipeline.save_watermark(watermark, newest)
            return added

    def drain(self, backoff: float = 60.0) -> int:
        """Process claimed items until none are left; a report that fails is tried again
        after ``backoff`` seconds (doubling), an outage is raised to ``run``."""
        done = 0
        while not self.stop.is_set():
            claimed = self.store.claim(self.name, self.batch, self.lease)
            if not claimed:
                break
            for report_id, version in claimed:
                if self.stop.is_set():
                    break  # the rest are given back by run()
                self.store.renew(self.name)
                try:
                    outcome = self._one(report_id)
                except OUTAGE:
                    raise
                except Exception as exc:  # noqa: BLE001 - one report must not stop the rest
                    outcome = self._retry_later(report_id, version, exc, backoff)
                else:
                    self.store.finish(report_id, version)
                self.outcomes[outcome] += 1
                done += 1
        return done

    def _retry_later(self, report_id: str, version: str, exc: Exception, backoff: float) -> str:
        error = type(exc).__name__  # the type only: a message may quote the report
        state = self.store.retry_later(
            report_id, version, error, timedelta(seconds=backoff), MAX_ATTEMPTS
        )
        outcome = "failed" if state == "failed" else "retry_later"
        log.warning(
            "report failed", extra={"report_id": report_id, "error": error, "next": outcome}
        )
        metrics.ERRORS.labels(error).inc()
        metrics.REPORTS.labels(outcome).inc()
        return outcome

    def _one(self, report_id: str) -> str:
        try:  # the current version: a newer one than queued is processed now, the queued later
            report = self.pipeline.client.read("DiagnosticReport", report_id)
        except FhirNotFound:
            metrics.REPORTS.labels("gone").inc()
            return "gone"
        return self.pipeline.process_safely(report)

    @contextmanager
    def _discovery_lock(self):
        engine = self.store.engine
        if engine.dialect.name != "postgresql":
            yield True
            return
        with engine.connect() as conn:
            mine = conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": _DISCOVERY_LOCK}
            ).scalar()
            try:
                yield mine
            finally:
                if mine:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _DISCOVERY_LOCK})


def in_background(pipeline: Pipeline, interval: float) -> Worker:
    """The same work inside `radplain serve` (SQLite, one process): a daemon thread."""
    worker = Worker(pipeline, "serve")

    def loop():
        try:
            worker.run(interval, release=True)
        except Exception:  # noqa: BLE001 - logged by type; the HTTP service keeps serving
            log.exception("background work stopped")

    threading.Thread(target=loop, name="radplain-work", daemon=True).start()
    return worker
