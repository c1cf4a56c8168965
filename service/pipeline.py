"""Pull -> explain -> decide -> write back -> record, for each radiology report.

Read this file top to bottom to follow a report from the EHR to the patient:

1. ``sync`` searches radiology DiagnosticReports updated since the stored watermark
   (LOINC LP29684-5 or v2-0074 RAD), page by page, oldest first.
2. ``process`` looks at the report's status:
   - preliminary / partial / registered: nothing is written yet;
   - final / amended / corrected / appended: the report is explained and a Communication
     is written for this version (an amended version also withdraws the Communications
     written for earlier versions, so the patient never sees two explanations);
   - entered-in-error / cancelled: every Communication about the report is withdrawn.
3. The release decision is "release now" until the release-policy engine lands.
4. Each version's outcome is recorded, so the next sync skips it; the write itself is a
   conditional create, so a retry or a second sync racing this one cannot duplicate it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .annotate.explain import Explainer
from .annotate.source_text import from_report
from .errors import BadInput
from .fhir import writeback
from .fhir.client import FhirClient, FhirConflict
from .render import render_html, render_text
from .store.db import Store

log = logging.getLogger(__name__)

RADIOLOGY_CATEGORIES = (
    "http://loinc.org|LP29684-5,http://terminology.hl7.org/CodeSystem/v2-0074|RAD"
)
RELEASABLE = {"final", "amended", "corrected", "appended"}
REVISIONS = {"amended", "corrected", "appended"}
NOT_YET = {"registered", "partial", "preliminary"}
RETRACTED = {"entered-in-error", "cancelled"}


@dataclass
class SyncResult:
    seen: int = 0
    written: int = 0
    already: int = 0
    skipped: int = 0
    withdrawn: int = 0
    failed: list[str] = field(default_factory=list)


class Pipeline:
    def __init__(
        self,
        client: FhirClient,
        explainer: Explainer,
        store: Store,
        *,
        page_size: int = 50,
        workers: int = 4,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.client = client
        self.explainer = explainer
        self.store = store
        self.page_size = page_size
        self.workers = workers  # reports in flight at once: explaining one overlaps writing another
        self.clock = clock

    # 1. pull ---------------------------------------------------------------------------
    def sync(self) -> SyncResult:
        result = SyncResult()
        base = self.client.base
        watermark = self.store.watermark(base)
        params = {
            "category": RADIOLOGY_CATEGORIES,
            "_sort": "_lastUpdated",
            "_count": str(self.page_size),
        }
        if watermark:
            # "ge", not "gt": two reports can share a timestamp; processed versions are skipped
            params["_lastUpdated"] = f"ge{watermark}"
        newest = watermark
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for batch in _batches(self.client.search("DiagnosticReport", params), self.page_size):
                for report, outcome in zip(
                    batch, pool.map(self._process_safely, batch), strict=True
                ):
                    result.seen += 1
                    _count(result, outcome)
                    if outcome == "not_explainable":
                        result.failed.append(report["id"])
                    updated = (report.get("meta") or {}).get("lastUpdated")
                    if updated and (newest is None or updated > newest):
                        newest = updated
        # only after every report up to it is done, so a crash re-reads, never skips
        if newest and newest != watermark:
            self.store.set_watermark(base, newest)
        return result

    def _process_safely(self, report: dict) -> str:
        try:
            return self.process(report)
        except BadInput as exc:  # a report we cannot read is recorded, never retried forever
            log.warning(
                "report not explainable", extra={"report_id": report.get("id"), "error": str(exc)}
            )
            self.store.record(
                report["id"],
                writeback.version_of(report),
                report.get("status", ""),
                "not_explainable",
            )
            return "not_explainable"

    # 2. decide what this version needs ---------------------------------------------------
    def process(self, report: dict) -> str:
        rid, version, status = report["id"], writeback.version_of(report), report.get("status", "")
        if self.store.was_processed(rid, version):
            return "already"
        if status in NOT_YET:
            outcome = "skipped_not_final"
        elif status in RETRACTED:
            outcome = "withdrawn" if self._withdraw(rid, keep=None) else "nothing_to_withdraw"
        elif status in RELEASABLE:
            comm_id, created = self._write(report)
            if status in REVISIONS:
                self._withdraw(rid, keep=writeback.communication_key(report))
            self.store.record(
                rid, version, status, "written" if created else "already_written", comm_id
            )
            return "written" if created else "already"
        else:
            outcome = "skipped_unknown_status"
        self.store.record(rid, version, status, outcome)
        return outcome

    # 3. explain and write back -----------------------------------------------------------
    def _write(self, report: dict) -> tuple[str | None, bool]:
        doc = self.explainer.explain(from_report(report))
        now = self.clock()
        comm = writeback.communication(report, doc, render_text(doc), render_html(doc), now)
        # release-policy engine (issue 5) decides here; until then: released immediately
        reason = "Released without delay: no legal basis for a hold applies (45 CFR 171)."
        bundle = writeback.transaction(
            comm, lambda target: writeback.provenance(report, target, now, reason)
        )
        response = self.client.transaction(bundle)
        first = (response.get("entry") or [{}])[0].get("response", {})
        comm_id = _id_from_location(first.get("location"))
        return comm_id, str(first.get("status", "")).startswith("201")

    def _withdraw(self, report_id: str, keep: str | None) -> int:
        """Mark this report's Communications entered-in-error, except the one keyed ``keep``."""
        withdrawn = 0
        for comm in self.client.search("Communication", {"about": f"DiagnosticReport/{report_id}"}):
            key = next(
                (
                    i.get("value")
                    for i in comm.get("identifier", [])
                    if i.get("system") == writeback.IDENTIFIER_SYSTEM
                ),
                None,
            )
            if key is None or key == keep or comm.get("status") == "entered-in-error":
                continue
            try:
                self.client.update(
                    writeback.withdrawn(comm), version=(comm.get("meta") or {}).get("versionId")
                )
            except FhirConflict:  # changed meanwhile (another worker withdrew it): look again
                current = self.client.read("Communication", comm["id"])
                if current.get("status") == "entered-in-error":
                    continue
                self.client.update(
                    writeback.withdrawn(current), version=current["meta"]["versionId"]
                )
            withdrawn += 1
        return withdrawn


def _batches(items, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _count(result: SyncResult, outcome: str) -> None:
    if outcome == "written":
        result.written += 1
    elif outcome == "already":
        result.already += 1
    elif outcome == "withdrawn":
        result.withdrawn += 1
    elif outcome != "not_explainable":
        result.skipped += 1


def _id_from_location(location: str | None) -> str | None:
    if not location:
        return None
    parts = location.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return parts[-1] if parts else None


def notified(
    pipeline: Pipeline, headers: dict[str, str], body: bytes, header: str, secret: str
) -> dict:
    """A FHIR Subscription notification: check its secret, then process what it names.

    The reports are read back from the configured FHIR base by id (the payload is never
    trusted as the report); an id-only ping runs a sync. Wired into the HTTP service as
    the notification endpoint.
    """
    from .fhir import notifications

    notifications.check_secret(headers, header, secret)
    note = notifications.parse(body, pipeline.client.base)
    outcomes = {}
    for rid in note.report_ids:
        outcomes[rid] = pipeline.process(pipeline.client.read("DiagnosticReport", rid))
    if note.resync:
        result = pipeline.sync()
        outcomes["sync"] = f"{result.written} written"
    return outcomes
