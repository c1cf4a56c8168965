"""decide(report, explanation, context, now) -> one decision per audience.

Release without delay is the default. A hold or withholding needs a legal basis, and the
decision names it (a code from radplain's release-basis CodeSystem), its citation and a
reason a person can read. The order below is the order of precedence:

1. the report's status: not final -> withhold; entered-in-error/cancelled -> retract;
2. suspected wrong-patient or corrupt data -> hold (171.201(c)(2), the one automatic
   preventing-harm basis);
3. a licensed clinician's individualized preventing-harm determination for this result
   and this audience -> hold until its end or review date;
4. a proxy and a sensitive security label -> withhold from that proxy;
5. the patient's own request to delay (a Consent) -> hold until its period ends or its
   condition is met, unless revoked;
6. a state law that mandates a delay for this kind of result -> hold for exactly the
   statutory time, unless one of the statute's early-release triggers happened;
7. otherwise: release now.

Critical findings never cause a hold; for mammography the MQSA lay-summary clock is
checked and an alert raised if a hold would pass it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..errors import ConfigError
from .clock import hold_until

CODE_SYSTEM = "urn:radplain:release-basis"
RELEASABLE = {"final", "amended", "corrected", "appended"}
RETRACTED = {"entered-in-error", "cancelled"}


@dataclass(frozen=True)
class Audience:
    kind: str  # patient | proxy
    reference: str  # Patient/x or RelatedPerson/y


@dataclass(frozen=True)
class PatientDelay:
    """A patient's own, documented request to delay release (FHIR Consent)."""

    consent_id: str
    until: datetime | None = None  # a period end
    condition: str | None = None  # e.g. "after my clinician reviews it"
    condition_met: bool = False
    revoked: bool = False


@dataclass(frozen=True)
class HarmDetermination:
    """A licensed clinician's individualized preventing-harm determination for one result."""

    clinician: str  # Practitioner reference
    made_at: datetime
    harm: str  # life_or_physical_safety | substantial_harm
    audiences: tuple[str, ...]  # references it applies to ("*" for all)
    review_by: datetime
    lifted: bool = False


@dataclass(frozen=True)
class ReleaseContext:
    state: str | None  # the jurisdiction configured for this deployment (recorded)
    finalized_at: datetime
    audiences: tuple[Audience, ...]
    delays: tuple[PatientDelay, ...] = ()
    harm: tuple[HarmDetermination, ...] = ()
    provider_directed_release: bool = False
    patient_consented_early: bool = False
    cannot_segment: bool = False
    data_integrity_suspect: bool = False
    mammography: bool = False
    interpreted_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    audience: Audience
    action: str  # release | hold | withhold | retract
    basis: str  # code in CODE_SYSTEM
    citation: str
    reason: str
    until: datetime | None = None
    condition: str | None = None
    rule: str | None = None  # the mapping entry that decided it (state law, policy)
    state: str | None = None
    malignancy: bool = False
    mqsa: dict | None = None
    contact_care_team: bool = False
    statute: str | None = None  # for a state hold: the statute itself, for Provenance.policy

    def as_dict(self) -> dict:
        return {
            "audience": {"kind": self.audience.kind, "reference": self.audience.reference},
            "action": self.action,
            "basis": {"system": CODE_SYSTEM, "code": self.basis},
            "citation": self.citation,
            "reason": self.reason,
            "until": self.until.isoformat() if self.until else None,
            "condition": self.condition,
            "rule": self.rule,
            "state": self.state,
            "malignancy": self.malignancy,
            "mqsa": self.mqsa,
            "contact_care_team": self.contact_care_team,
            "statute": self.statute,
        }


@dataclass
class Policy:
    """The release rules from mappings/release/, checked once."""

    bases: dict[str, dict]
    laws: list[dict]
    malignancy: dict
    proxy_labels: frozenset[str]
    mqsa_days: dict[str, int]
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_mappings(cls, m, *, hold_for_clinician_review: bool = False) -> Policy:
        if hold_for_clinician_review:
            raise ConfigError(
                "refusing to hold results until the ordering clinician reviews them: a "
                "blanket review hold is information blocking (45 CFR 171; ONC FAQ: delaying "
                "results 'for any period of time' for clinician review is interference). "
                "Holds need a legal basis: a state statute, the patient's own request, or a "
                "clinician's individualized preventing-harm determination"
            )
        bases = {b["code"]: b for b in m.release_bases}
        for law in m.state_laws:
            if law["enabled"] and "state-law-hold" not in bases:
                raise ConfigError(f"{law['id']}: a state hold needs the state-law-hold basis")
        policy = {p["id"]: p for p in m.release_policy}
        return cls(
            bases=bases,
            laws=m.state_laws,
            malignancy=policy["policy.malignancy_likelihood"],
            proxy_labels=frozenset(policy["policy.proxy_withheld_labels"]["labels"]),
            mqsa_days=policy["policy.mqsa_clocks"]["days"],
            holidays=frozenset(
                date.fromisoformat(d) for d in policy["policy.us_federal_holidays"]["dates"]
            ),
        )

    def basis(self, code: str) -> dict:
        return self.bases[code]


def malignancy_likely(explanation: dict, policy: Policy) -> bool:
    """The versioned 'reasonable likelihood of malignancy' rule (mappings/release/policy.yaml)."""
    rads = policy.malignancy.get("rads", {})
    if any(r["category"] in rads.get(r["system"], ()) for r in explanation.get("rads", [])):
        return True
    ids = set(policy.malignancy.get("findings", ()))
    return any(
        f.get("mapping_id") in ids
        and f["assertion"] in ("present", "possible")
        and not f["historical"]
        for f in explanation.get("findings", [])
    )


def decide(
    report: dict, explanation: dict, ctx: ReleaseContext, now: datetime, policy: Policy
) -> list[Decision]:
    malignant = malignancy_likely(explanation, policy)
    urgent = explanation.get("urgency") in ("urgent", "critical")
    mqsa = _mqsa(explanation, ctx, policy)
    out = []
    for audience in ctx.audiences:
        decision = _one(report, ctx, audience, now, policy, malignant)
        decision = Decision(
            **{
                **decision.__dict__,
                "malignancy": malignant,
                "contact_care_team": urgent,
                "mqsa": _mqsa_check(mqsa, decision),
            }
        )
        out.append(decision)
    return out


def _make(policy: Policy, audience: Audience, code: str, reason: str, **kw) -> Decision:
    basis = policy.basis(code)
    return Decision(audience, basis["action"], code, basis["citation"]["url"], reason, **kw)


def _one(
    report, ctx: ReleaseContext, audience: Audience, now, policy: Policy, malignant: bool
) -> Decision:
    status = report.get("status", "")
    if status in RETRACTED:
        return _make(policy, audience, "report-retracted", f"The report is {status}.")
    if status not in RELEASABLE:
        return _make(
            policy,
            audience,
            "status-not-final",
            f"The report is {status or 'without a status'}, not final.",
        )
    if ctx.data_integrity_suspect:
        return _make(
            policy,
            audience,
            "preventing-harm-data-integrity",
            "The report is suspected to belong to another patient or to be corrupt.",
            condition="data verified",
        )
    labels = {c.get("code") for c in (report.get("meta") or {}).get("security", [])}
    if audience.kind == "proxy" and labels & policy.proxy_labels:
        return _make(
            policy,
            audience,
            "proxy-sensitive-label",
            f"Sensitive label(s) {', '.join(sorted(labels & policy.proxy_labels))} "
            "are withheld from proxies.",
        )
    holds = _holds(report, ctx, audience, now, policy, malignant)
    if holds:
        # every applicable hold must end before release: report the one that ends last (an
        # open-ended, condition-based hold outlasts any dated one), under its own basis
        return max(holds, key=lambda d: (d.until is None, d.until or now))
    return _make(
        policy, audience, "release-without-delay", "No exception applies.", state=ctx.state
    )


def _holds(
    report, ctx: ReleaseContext, audience: Audience, now, policy: Policy, malignant: bool
) -> list[Decision]:
    out = []
    for h in ctx.harm:
        # a patient's own access may be limited only for danger to life or physical safety;
        # "substantial harm" is the bar for a proxy (171.201(d)(1)-(3))
        if h.harm == "substantial_harm" and audience.kind == "patient":
            continue
        if (
            not h.lifted
            and now < h.review_by
            and ("*" in h.audiences or audience.reference in h.audiences)
        ):
            out.append(
                _make(
                    policy,
                    audience,
                    "preventing-harm",
                    f"{h.clinician} determined on {h.made_at.date()} that access risks "
                    f"{h.harm.replace('_', ' ')}.",
                    until=h.review_by,
                    rule=h.clinician,
                )
            )
    for d in ctx.delays:
        if d.revoked:
            continue
        if d.until and now < d.until:
            out.append(
                _make(
                    policy,
                    audience,
                    "patient-requested-delay",
                    "The patient asked to delay release.",
                    until=d.until,
                    rule=d.consent_id,
                )
            )
        elif d.condition and not d.condition_met:
            out.append(
                _make(
                    policy,
                    audience,
                    "patient-requested-delay",
                    "The patient asked to delay release.",
                    condition=d.condition,
                    rule=d.consent_id,
                )
            )
    law = _state_law(ctx, audience, policy, malignant)
    if law is not None:
        until = hold_until(
            ctx.finalized_at,
            law["hold"]["count"],
            law["hold"]["amount"],
            law["timezone"],
            policy.holidays,
        )
        if now < until:
            out.append(
                _make(
                    policy,
                    audience,
                    "state-law-hold",
                    f"{law['citation']['name']}: {law['hold']['wording']}.",
                    until=until,
                    rule=law["id"],
                    state=law["state"],
                    statute=law["citation"]["url"],
                )
            )
    return out


def _state_law(
    ctx: ReleaseContext, audience: Audience, policy: Policy, malignant: bool
) -> dict | None:
    if not ctx.state or not malignant:
        return None
    for law in policy.laws:
        if not law["enabled"] or law["state"] != ctx.state or "malignancy" not in law["covers"]:
            continue
        if audience.kind not in law["audiences"]:
            continue
        # in force on the state's own calendar date of finalization
        local_day = ctx.finalized_at.astimezone(ZoneInfo(law["timezone"])).date()
        if local_day < date.fromisoformat(law["effective_from"]):
            continue
        triggers = set(law["early_release"])
        if (
            ("provider_direction" in triggers and ctx.provider_directed_release)
            or ("patient_consent" in triggers and ctx.patient_consented_early)
            or ("cannot_segment" in triggers and ctx.cannot_segment)
        ):
            continue
        return law
    return None


def _mqsa(explanation: dict, ctx: ReleaseContext, policy: Policy) -> dict | None:
    if not ctx.mammography or ctx.interpreted_at is None:
        return None
    birads = {r["category"] for r in explanation.get("rads", []) if r["system"] == "BI-RADS"}
    if birads & {"4", "4A", "4B", "4C", "5"}:
        days, why = policy.mqsa_days["suspicious"], "Suspicious or Highly Suggestive of Malignancy"
    else:
        days, why = policy.mqsa_days["lay_summary"], "lay summary"
    out = {"lay_summary_due": (ctx.interpreted_at + timedelta(days=days)).isoformat(), "rule": why}
    if "0" in birads:
        out["final_assessment_due"] = (
            ctx.interpreted_at + timedelta(days=policy.mqsa_days["incomplete_priors"])
        ).isoformat()
    out["density_statement_required"] = True
    return out


def _mqsa_check(mqsa: dict | None, decision: Decision) -> dict | None:
    if mqsa is None:
        return None
    due = datetime.fromisoformat(mqsa["lay_summary_due"])
    # the MQSA deadline is the patient's: a proxy being withheld does not make it late
    late = (
        decision.audience.kind == "patient"
        and decision.action in ("hold", "withhold")
        and (decision.until is None or decision.until > due)
    )
    return {**mqsa, "alert": late}
