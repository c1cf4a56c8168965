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
from datetime import UTC, date, datetime

from . import metrics
from .annotate.explain import Explainer
from .documents.attachments import report_text
from .documents.limits import Limits
from .errors import BadInput
from .fhir import writeback
from .fhir.client import FhirClient, FhirConflict, FhirNotFound
from .release.decide import (
    Audience,
    HarmDetermination,
    PatientDelay,
    Policy,
    ReleaseContext,
    decide,
)
from .render import Renderer
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
        policy: Policy | None = None,
        state: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        documents: Limits | None = None,
    ):
        self.client = client
        self.documents = documents or Limits()  # for reports whose text is a PDF or image
        self.explainer = explainer
        self.renderer = Renderer(explainer.m.ui)
        self.store = store
        self.page_size = page_size
        self.workers = workers  # reports in flight at once: explaining one overlaps writing another
        self.policy = policy or Policy.from_mappings(explainer.m)
        self.state = state  # the jurisdiction whose delay law applies (recorded in each decision)
        self._lookups: dict | None = None  # proxies and consents, remembered during one sync
        self.clock = clock

    @classmethod
    def from_settings(
        cls, settings, explainer: Explainer, store: Store | None = None, fhir_base=None
    ) -> Pipeline:
        """The pipeline the settings describe; the release policy is checked here, at startup."""
        from .fhir.connection import connect

        return cls(
            connect(settings, fhir_base),
            explainer,
            store or Store(settings.database_url),
            page_size=settings.page_size,
            workers=settings.sync_workers,
            policy=Policy.from_mappings(
                explainer.m, hold_for_clinician_review=settings.hold_for_clinician_review
            ),
            state=settings.release_state,
            documents=settings.documents,
        )

    # 1. pull ---------------------------------------------------------------------------
    def changed_reports(self, watermark: str | None):
        """Radiology reports updated since ``watermark``, oldest first, paged."""
        params = {
            "category": RADIOLOGY_CATEGORIES,
            "_sort": "_lastUpdated",
            "_count": str(self.page_size),
        }
        if watermark:
            # "ge", not "gt": two reports can share a timestamp; processed versions are skipped
            params["_lastUpdated"] = f"ge{watermark}"
        return self.client.search("DiagnosticReport", params)

    def save_watermark(self, previous: str | None, newest: str | None) -> None:
        """Call only once every report up to ``newest`` is done (or safely queued), so a
        crash before it re-reads reports and never skips one."""
        if newest and newest != previous:
            self.store.set_watermark(self.client.base, newest)

    def sync(self) -> SyncResult:
        result = SyncResult()
        watermark = newest = self.store.watermark(self.client.base)
        self._lookups = {}
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for batch in _batches(self.changed_reports(watermark), self.page_size):
                for report, outcome in zip(
                    batch, pool.map(self.process_safely, batch), strict=True
                ):
                    result.seen += 1
                    _count(result, outcome)
                    if outcome == "not_explainable":
                        result.failed.append(report["id"])
                    newest = latest_update(newest, report)
        self._lookups = None
        self.save_watermark(watermark, newest)
        return result

    def process_safely(self, report: dict) -> str:
        try:
            outcome = self.process(report)
        except BadInput as exc:  # a report we cannot read is recorded, never retried forever
            # the error's type, not its message: a message may quote the report
            log.warning(
                "report not explainable",
                extra={"report_id": report.get("id"), "error": type(exc).__name__},
            )
            self.store.record(
                report["id"],
                writeback.version_of(report),
                report.get("status", ""),
                "not_explainable",
            )
            outcome = "not_explainable"
            metrics.ERRORS.labels(type(exc).__name__).inc()
        metrics.REPORTS.labels(outcome).inc()
        return outcome

    # 2. decide what this version needs ---------------------------------------------------
    def process(self, report: dict) -> str:
        rid, version, status = report["id"], writeback.version_of(report), report.get("status", "")
        if self.store.was_processed(rid, version):
            return "already"
        if status in NOT_YET:
            outcome = "skipped_not_final"
        elif status in RETRACTED:
            self.store.withdraw_explanations(rid)
            outcome = "withdrawn" if self._withdraw(rid, keep=None) else "nothing_to_withdraw"
        elif status in RELEASABLE:
            comm_id, created = self._write(report)
            # one current explanation per report: a later version (amended, or a final
            # report the EHR updated) withdraws the earlier versions' Communications
            if status in REVISIONS or version != "1":
                self.store.withdraw_explanations(rid, keep_version=version)
                self._withdraw(rid, keep=f"{rid}-v{version}-")
            self.store.record(
                rid, version, status, "written" if created else "already_written", comm_id
            )
            return "written" if created else "already"
        else:
            outcome = "skipped_unknown_status"
        self.store.record(rid, version, status, outcome)
        return outcome

    # 3. explain and write back -----------------------------------------------------------
    def _text(self, report: dict):
        """The report's text; a PDF or image attachment is read (its url fetched from the EHR)."""
        return report_text(report, self.documents, self.client.attachment)

    def _write(self, report: dict) -> tuple[str | None, bool]:
        """Explain, decide per audience, write each audience's Communication (held or not)."""
        with metrics.EXPLAIN_SECONDS.time():
            source = self._text(report)
            doc = self.explainer.explain(source)
            if _needs_age(doc) and (patient := self._patient_facts(report)):
                doc = self.explainer.explain(source, patient=patient)
        now = self.clock()
        decisions = decide(report, doc, self._context(report, doc, now), now, self.policy)
        text, html = self.renderer.text(doc), self.renderer.html(doc)
        patient_id, created_any = None, False
        for d in decisions:
            if d.action in ("withhold", "retract"):
                continue  # nothing is written for this audience; the decision is logged
            audience = _audience_key(d.audience)
            hold = d.as_dict() if d.action == "hold" else None
            comm = writeback.communication(
                report,
                doc,
                text,
                html,
                now,
                audience,
                recipient={"reference": d.audience.reference},
                hold=hold,
            )
            reason = f"{self.policy.basis(d.basis)['display']}: {d.reason}"
            bundle = writeback.transaction(
                comm,
                lambda target, a=audience, r=reason, c=(d.statute or d.citation): (
                    writeback.provenance(report, target, now, r, a, policy=c)
                ),
            )
            response = self.client.transaction(bundle)
            first = (response.get("entry") or [{}])[0].get("response", {})
            comm_id = _id_from_location(first.get("location"))
            created_any = created_any or str(first.get("status", "")).startswith("201")
            if hold:
                metrics.HOLDS.labels(d.basis).inc()
                self.store.add_hold(
                    comm["identifier"][0]["value"],
                    comm_id,
                    report["id"],
                    writeback.version_of(report),
                    d.audience.reference,
                    d.basis,
                    d.until,
                    d.condition,
                )
            if d.audience.kind == "patient":
                patient_id = comm_id
        self.store.save_explanation(
            report["id"],
            writeback.version_of(report),
            (report.get("subject") or {}).get("reference"),
            doc,
            [(d.audience.reference, d.action, d.basis) for d in decisions],
        )
        return patient_id, created_any

    def _context(self, report: dict, doc: dict, now: datetime) -> ReleaseContext:
        """What the release rules need to know, read from the report and the EHR."""
        subject = (report.get("subject") or {}).get("reference", "")
        audiences = [Audience("patient", subject)] if subject else []
        audiences += [
            Audience("proxy", f"RelatedPerson/{p['id']}")
            for p in self._lookup("RelatedPerson", subject)
        ]

        harm = tuple(
            HarmDetermination(
                h["clinician"],
                h["made_at"],
                h["harm"],
                (h["audience"],),
                h["review_by"],
                lifted=h["lifted_at"] is not None,
            )
            for h in self.store.harm_for(report["id"])
        )
        tags = {
            t.get("code")
            for t in (report.get("meta") or {}).get("tag", [])
            if t.get("system") == RELEASE_TAGS
        }
        delays = tuple(
            _delay(c, "clinician-reviewed" in tags)
            for c in self._lookup("Consent", subject)
            if _is_release_delay(c)
        )
        finalized = (
            _instant(report.get("issued"))
            or _instant((report.get("meta") or {}).get("lastUpdated"))
            or now
        )
        mammography = (
            any(r["system"] == "BI-RADS" for r in doc["rads"])
            or "mammo" in str((report.get("code") or {}).get("text", "")).lower()
        )
        return ReleaseContext(
            state=self.state,
            finalized_at=finalized,
            audiences=tuple(audiences),
            delays=delays,
            harm=harm,
            provider_directed_release="provider-directed-release" in tags,
            patient_consented_early="patient-consented-early-release" in tags,
            data_integrity_suspect="data-integrity-suspect" in tags,
            mammography=mammography,
            interpreted_at=finalized,
        )

    def _patient_facts(self, report: dict) -> dict | None:
        """The patient's age at the report, from the FHIR Patient's full birthDate. Read only
        when a recommendation depends on age that the report does not state (incidental
        thyroid nodules), so most reports cost no extra request; a partial birthDate or
        an unreadable Patient leaves the recommendation saying what it depends on."""
        subject = (report.get("subject") or {}).get("reference") or ""
        if not subject.startswith("Patient/"):
            return None
        cache = self._lookups if self._lookups is not None else {}
        if ("Patient", subject) not in cache:  # once per patient in a sync, like _lookup
            try:
                cache[("Patient", subject)] = self.client.read(
                    "Patient", subject.removeprefix("Patient/")
                )
            except FhirNotFound:
                cache[("Patient", subject)] = None
        patient = cache[("Patient", subject)]
        if patient is None:
            return None
        try:
            born = date.fromisoformat(patient.get("birthDate") or "")
        except ValueError:
            return None  # "1950" or "1950-04": the age is uncertain, so it is not used
        at = _instant(report.get("effectiveDateTime") or report.get("issued"))
        on = (at or self.clock()).date()
        age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        return {"age": age, "sex": patient.get("gender")}

    def _lookup(self, kind: str, subject: str) -> list[dict]:
        """Active RelatedPersons (proxies) or Consents for the patient, once per sync."""
        if not subject.startswith("Patient/"):
            return []
        cache = self._lookups
        if cache is not None and (kind, subject) in cache:
            return cache[(kind, subject)]
        params = (
            {"patient": subject, "active": "true"}
            if kind == "RelatedPerson"
            else {"patient": subject, "status": "active"}
        )
        found = list(self.client.search(kind, params))
        if cache is not None:
            cache[(kind, subject)] = found
        return found

    # holds ---------------------------------------------------------------------------
    def release_due(self) -> int:
        """Re-decide every open hold; release those whose basis no longer applies.

        Deciding again (rather than comparing a stored time) also lifts holds whose
        condition was met: a clinician lifted a preventing-harm hold, or the patient
        revoked or fulfilled a requested delay.
        """
        released = 0
        now = self.clock()
        for hold in self.store.open_holds():
            # the current version: a tag the EHR adds later (clinician-reviewed, provider-directed
            # release) arrives as a new version of the same report
            report = self.client.read("DiagnosticReport", hold["report_id"])
            doc = self.explainer.explain(self._text(report))
            ctx = self._context(report, doc, now)
            audience = next((a for a in ctx.audiences if a.reference == hold["audience"]), None)
            if audience is None:
                continue
            ctx = ReleaseContext(**{**ctx.__dict__, "audiences": (audience,)})
            [decision] = decide(report, doc, ctx, now, self.policy)
            if decision.action != "release":
                continue
            comm = self.client.read("Communication", hold["communication_id"])
            if comm.get("status") != "on-hold":
                # withdrawn meanwhile (a newer version replaced it) or already released
                self.store.mark_released(hold["communication_key"], now)
                continue
            self.client.update(writeback.released(comm, now), version=comm["meta"]["versionId"])
            prov = writeback.provenance(
                report,
                f"Communication/{comm['id']}",
                now,
                f"Released: {decision.reason}",
                _audience_key(audience),
                policy=decision.citation,
                step="release",
            )
            tag = prov["meta"]["tag"][0]["code"]
            self.client.create(prov, if_none_exist=f"_tag={writeback.PROVENANCE_TAG}|{tag}")
            self.store.mark_released(hold["communication_key"], now)
            released += 1
        return released

    def _withdraw(self, report_id: str, keep: str | None) -> int:
        """Mark this report's Communications entered-in-error, except those keyed ``keep...``."""
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
            if (
                key is None
                or (keep and key.startswith(keep))
                or comm.get("status") == "entered-in-error"
            ):
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


RELEASE_TAGS = "urn:radplain:release"  # report tags an EHR sets: provider-directed-release, ...
CONSENT_CATEGORY = "urn:radplain:consent-category"


def _audience_key(audience: Audience) -> str:
    return "patient" if audience.kind == "patient" else f"proxy-{audience.reference.split('/')[-1]}"


def _is_release_delay(consent: dict) -> bool:
    return any(
        c.get("system") == CONSENT_CATEGORY and c.get("code") == "result-release-delay"
        for cat in consent.get("category", [])
        for c in cat.get("coding", [])
    )


def _delay(consent: dict, reviewed: bool) -> PatientDelay:
    """A Consent the patient asked for: a period ("hold for 3 days") or a condition ("until my
    clinician has reviewed it"), met once the EHR tags the report clinician-reviewed."""
    provision = consent.get("provision") or {}
    until = _instant((provision.get("period") or {}).get("end"))
    condition = next((c.get("text") for c in provision.get("code", []) if c.get("text")), None)
    return PatientDelay(
        consent.get("id", ""),
        until=until,
        condition=condition,
        condition_met=bool(condition) and reviewed,
        revoked=consent.get("status") != "active",
    )


def _needs_age(doc: dict) -> bool:
    return any("age" in r.get("missing_inputs", ()) for r in doc.get("incidental", ()))


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _batches(items, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def latest_update(newest: str | None, report: dict) -> str | None:
    """The later of ``newest`` and the report's meta.lastUpdated (as the server wrote it)."""
    updated = (report.get("meta") or {}).get("lastUpdated")
    return updated if updated and (newest is None or updated > newest) else newest


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
