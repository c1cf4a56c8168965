"""Scenario table for the release-policy engine (service/release/decide.py, clock.py).

Every expectation here comes from /work/shared/reference/release-rules.md (sections 1, 2,
3, 5 and the design rules in 7), not from reading the engine's output. Each scenario
asserts, per audience: the action, the release time (``until``: exact instant,
timezone-aware), the basis code and the basis's citation URL (bases.yaml, repeated here
literally so a change to the data is caught), and for state holds the statute.

Times are written as UTC instants with the local wall time in a comment, so that the
expected values do not depend on the zoneinfo arithmetic the engine uses. Aware datetimes
are compared as instants (``astimezone(UTC)``): Python compares two datetimes that share
a tzinfo object by wall clock, which would hide a DST error.

Tests marked ``# ENGINE DISAGREES:`` state what the reference requires and fail against
the current engine; they are deliberately not xfail-ed or weakened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service import mappings
from service.errors import ConfigError
from service.release.clock import hold_until
from service.release.decide import (
    Audience,
    HarmDetermination,
    PatientDelay,
    Policy,
    ReleaseContext,
    decide,
)

NY = ZoneInfo("America/New_York")
CHI = ZoneInfo("America/Chicago")
DEN = ZoneInfo("America/Denver")
LA = ZoneInfo("America/Los_Angeles")

H = timedelta(hours=1)
D = timedelta(days=1)

# The citation URL of every basis (mappings/release/bases.yaml), written out so the test
# does not read the engine's own lookup.
BASIS_URL = {
    "release-without-delay": "https://www.healthit.gov/faqs?f%5B0%5D=subtopic%3A7031",
    "state-law-hold": "https://www.federalregister.gov/documents/2020/05/01/2020-07419/21st-century-cures-act-interoperability-information-blocking-and-the-onc-health-it-certification",
    "patient-requested-delay": "https://www.law.cornell.edu/cfr/text/45/171.202",
    "preventing-harm": "https://www.law.cornell.edu/cfr/text/45/171.201",
    "preventing-harm-data-integrity": "https://www.law.cornell.edu/cfr/text/45/171.201",
    "privacy-precondition": "https://www.law.cornell.edu/cfr/text/45/171.202",
    "proxy-sensitive-label": "https://www.law.cornell.edu/cfr/text/45/164.502",
    "protecting-care-access": "https://www.federalregister.gov/documents/2024/12/17/2024-29683",
    "status-not-final": "https://hl7.org/fhir/R4/valueset-diagnostic-report-status.html",
    "report-retracted": "https://hl7.org/fhir/R4/valueset-diagnostic-report-status.html",
}
# The action each basis implies (reference §6 Communication.status convention).
BASIS_ACTION = {
    "release-without-delay": "release",
    "state-law-hold": "hold",
    "patient-requested-delay": "hold",
    "preventing-harm": "hold",
    "preventing-harm-data-integrity": "hold",
    "privacy-precondition": "withhold",
    "proxy-sensitive-label": "withhold",
    "protecting-care-access": "withhold",
    "status-not-final": "withhold",
    "report-retracted": "retract",
}
# The statute each state hold must name (reference §2), and its URL in state_laws.yaml.
STATUTE = {
    "state.ky": ("KY", "KRS 333.152", "https://self-law.org/code/ky/chapter-333/333-152"),
    "state.tx": (
        "TX",
        "Tex. Occ. Code 159.0062",
        "https://codes.findlaw.com/tx/occupations-code/occ-sect-159-0062/",
    ),
    "state.mt": (
        "MT",
        "MCA 50-16-806",
        "https://archive.legmt.gov/bills/MCA/title_0500/chapter_0160/part_0080/section_0060/0500-0160-0080-0060.html",
    ),
    "state.va": (
        "VA",
        "Va. Code 32.1-127.1:06",
        "https://www.cap.org/advocacy/latest-news-and-practice-data/virginias-ehr-law-72-hour-test-result-delay",
    ),
}

PATIENT = "Patient/p1"
PROXY = "RelatedPerson/parent1"
PROXY2 = "RelatedPerson/parent2"
CLINICIAN = "Practitioner/dr-lee"
V3_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"

# Base time: Monday 2026-09-14 14:00Z = 10:00 EDT (KY, VA) = 09:00 CDT (TX) = 08:00 MDT.
T0 = datetime(2026, 9, 14, 14, 0, tzinfo=UTC)
NOW = T0 + H
KY_72H = datetime(2026, 9, 17, 14, 0, tzinfo=UTC)  # T0 + 72 h
INTERPRETED = T0 - H  # mammogram interpreted an hour before the report was signed

# -- explanation inputs ------------------------------------------------------------------
BIRADS = lambda c: ("BI-RADS", c)  # noqa: E731
SUSPICIOUS_MALIGNANCY = ("glossary.malignancy", "possible", False)  # "suspicious for malignancy"
NEGATED_MALIGNANCY = ("glossary.malignancy", "absent", False)  # "no evidence of malignancy"
HISTORICAL_CANCER = ("glossary.breast_cancer", "present", True)  # "history of breast cancer"
SUSPICIOUS_NEOPLASM = ("glossary.tumor", "possible", False)  # "mass concerning for neoplasm"


@dataclass(frozen=True)
class E:
    """What one audience's decision must be."""

    action: str
    basis: str
    until: datetime | None = None
    condition: str | None = None
    rule: str | None = None
    alert: bool | None = None  # the MQSA alert, for mammography scenarios


RELEASE = E("release", "release-without-delay")
NOT_FINAL = E("withhold", "status-not-final")
RETRACT = E("retract", "report-retracted")


def law_hold(law_id: str, until: datetime, alert: bool | None = None) -> E:
    return E("hold", "state-law-hold", until, rule=law_id, alert=alert)


def ky_hold(until: datetime = KY_72H, alert: bool | None = None) -> E:
    return law_hold("state.ky", until, alert)


@dataclass(frozen=True)
class S:
    id: str
    expect: dict[str, E]  # audience reference -> expectation (Patient/... or RelatedPerson/...)
    status: str | None = "final"
    state: str | None = "KY"
    finalized: datetime = T0
    now: datetime = NOW
    rads: tuple = ()
    findings: tuple = ()
    urgency: str = "routine"
    labels: tuple = ()  # (system, code)
    delays: tuple = ()
    harm: tuple = ()
    provider_directed: bool = False
    patient_consented_early: bool = False
    cannot_segment: bool = False
    data_suspect: bool = False
    mammography: bool = False
    interpreted_at: datetime | None = None
    malignant: bool = False  # what the malignancy-likelihood gate must say
    contact: bool = False  # contact_care_team
    mqsa: dict | None = field(default=None)  # expected lay_summary_due / rule / final_due


def _consent(until=None, condition=None, met=False, revoked=False, cid="Consent/c1"):
    return PatientDelay(cid, until=until, condition=condition, condition_met=met, revoked=revoked)


def _harm(audiences, harm="life_or_physical_safety", review_by=T0 + 7 * D, lifted=False):
    return HarmDetermination(CLINICIAN, T0 - 2 * H, harm, audiences, review_by, lifted)


SCENARIOS = [
    # ---- 1. default and status gate (reference §0.1, §6, §7.1, §7.3) ----------------------
    S("default_final_no_malignancy_released", {PATIENT: RELEASE}),
    S("amended_no_malignancy_released", {PATIENT: RELEASE}, status="amended"),
    S("corrected_no_malignancy_released", {PATIENT: RELEASE}, status="corrected"),
    S("appended_no_malignancy_released", {PATIENT: RELEASE}, status="appended"),
    S(
        "preliminary_withheld_not_held_even_if_malignant",
        {PATIENT: NOT_FINAL, PROXY: NOT_FINAL},
        status="preliminary",
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S("partial_withheld", {PATIENT: NOT_FINAL}, status="partial"),
    S("registered_withheld", {PATIENT: NOT_FINAL}, status="registered"),
    S("unknown_status_withheld", {PATIENT: NOT_FINAL}, status="unknown"),
    S("missing_status_withheld", {PATIENT: NOT_FINAL}, status=None),
    S(
        "entered_in_error_retracted_for_every_audience",
        {PATIENT: RETRACT, PROXY: RETRACT},
        status="entered-in-error",
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S("cancelled_retracted", {PATIENT: RETRACT}, status="cancelled"),
    # ---- 2. Kentucky, KRS 333.152: 72 h, provider direction (reference §2, §7.4, §7.5) ---
    S("ky_birads4_held_72h", {PATIENT: ky_hold()}, rads=(BIRADS("4"),), malignant=True),
    S("ky_birads4c_held_72h", {PATIENT: ky_hold()}, rads=(BIRADS("4C"),), malignant=True),
    S(
        "ky_lirads5_held_72h",
        {PATIENT: ky_hold()},
        rads=(("LI-RADS", "LR-5"),),
        malignant=True,
    ),
    S(
        "ky_lung_rads_4b_held_72h",
        {PATIENT: ky_hold()},
        rads=(("Lung-RADS", "4B"),),
        malignant=True,
    ),
    S(
        "ky_suspicious_for_malignancy_finding_held_72h",
        {PATIENT: ky_hold()},
        findings=(SUSPICIOUS_MALIGNANCY,),
        malignant=True,
    ),
    S("ky_birads2_released", {PATIENT: RELEASE}, rads=(BIRADS("2"),)),
    S("ky_birads3_released", {PATIENT: RELEASE}, rads=(BIRADS("3"),)),
    S("ky_pirads3_released", {PATIENT: RELEASE}, rads=(("PI-RADS", "3"),)),
    S(
        "ky_negated_malignancy_released",
        {PATIENT: RELEASE},
        rads=(BIRADS("2"),),
        findings=(NEGATED_MALIGNANCY,),
    ),
    S(
        "ky_historical_malignancy_released",
        {PATIENT: RELEASE},
        findings=(HISTORICAL_CANCER,),
    ),
    # ENGINE DISAGREES: reference §2 (design notes) names an explicit "suspicious for
    # malignancy/neoplasm" as a trigger example, and §7.5 says "when unsure, route to a
    # human rather than silently holding". "Mass concerning for neoplasm" is annotated as
    # glossary.tumor / possible, which is not in policy.malignancy_likelihood.findings, so
    # the report is silently released in a hold state. (Data gap in
    # mappings/release/policy.yaml, not in decide.py.)
    S(
        "ky_suspicious_for_neoplasm_held_72h",
        {PATIENT: ky_hold()},
        findings=(SUSPICIOUS_NEOPLASM,),
        malignant=True,
    ),
    S(
        "ky_provider_directed_early_release",
        {PATIENT: RELEASE},
        rads=(BIRADS("4"),),
        provider_directed=True,
        malignant=True,
    ),
    S(
        "ky_patient_consent_is_not_a_ky_trigger_held",
        {PATIENT: ky_hold()},
        rads=(BIRADS("4"),),
        patient_consented_early=True,
        cannot_segment=True,
        malignant=True,
    ),
    S(
        "ky_hold_one_second_before_expiry_held",
        {PATIENT: ky_hold()},
        now=KY_72H - timedelta(seconds=1),
        rads=(BIRADS("5"),),
        malignant=True,
    ),
    S(
        "ky_hold_expired_at_now_released",
        {PATIENT: RELEASE},
        now=KY_72H,
        rads=(BIRADS("5"),),
        malignant=True,
    ),
    # Amendment: the clock counts from the new version's finalization (reference §6, §8.6).
    S(
        "ky_amended_clock_counts_from_new_finalization",
        {PATIENT: ky_hold(datetime(2026, 9, 19, 18, 0, tzinfo=UTC))},
        status="amended",
        finalized=datetime(2026, 9, 16, 18, 0, tzinfo=UTC),
        now=datetime(2026, 9, 16, 18, 5, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "ky_72h_across_dst_end_utc_input_is_72_real_hours",
        # 2026-10-30 12:00 EDT -> 2026-11-02 11:00 EST (clocks fell back on 1 Nov)
        {PATIENT: ky_hold(datetime(2026, 11, 2, 16, 0, tzinfo=UTC))},
        finalized=datetime(2026, 10, 30, 16, 0, tzinfo=UTC),
        now=datetime(2026, 10, 30, 17, 0, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    # ENGINE DISAGREES: "72 hours after the results are finalized" is an exact duration
    # (reference §2 design notes: "implement each literally"; clock.py's own docstring).
    # Given the same instant as a local America/New_York datetime, clock.hold_until adds
    # 72 h of wall-clock time (Python aware arithmetic within one tzinfo), releasing at
    # 12:00 EST = 73 real hours: one hour longer than the statute allows ("no longer than
    # necessary", §1.2/§1.8). Across the March change it releases after 71 h, before
    # the statute permits.
    S(
        "ky_72h_across_dst_end_local_input_is_72_real_hours",
        {PATIENT: ky_hold(datetime(2026, 11, 2, 16, 0, tzinfo=UTC))},
        finalized=datetime(2026, 10, 30, 12, 0, tzinfo=NY),
        now=datetime(2026, 10, 30, 17, 0, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "ky_critical_malignant_still_state_held_contact_care_team",
        {PATIENT: ky_hold()},
        rads=(BIRADS("5"),),
        urgency="critical",
        malignant=True,
        contact=True,
    ),
    # ---- 3. Texas, Occ. Code 159.0062: "not before the third day after" (§2) --------------
    S(
        "tx_birads4_finalized_2330_local_released_third_day_midnight",
        # 2026-03-05 23:30 CST; third day after 5 Mar is 8 Mar, 00:00 CST (DST starts 02:00)
        {PATIENT: law_hold("state.tx", datetime(2026, 3, 8, 6, 0, tzinfo=UTC))},
        state="TX",
        finalized=datetime(2026, 3, 6, 5, 30, tzinfo=UTC),
        now=datetime(2026, 3, 6, 5, 31, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "tx_birads4_finalized_0030_local_released_third_day_midnight_cdt",
        # 2026-03-06 00:30 CST; third day after 6 Mar is 9 Mar, 00:00 CDT = 05:00Z
        {PATIENT: law_hold("state.tx", datetime(2026, 3, 9, 5, 0, tzinfo=UTC))},
        state="TX",
        finalized=datetime(2026, 3, 6, 0, 30, tzinfo=CHI),
        now=datetime(2026, 3, 6, 7, 0, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "tx_provider_direction_does_not_release_early",
        {PATIENT: law_hold("state.tx", datetime(2026, 9, 17, 5, 0, tzinfo=UTC))},
        state="TX",
        rads=(BIRADS("4"),),  # T0 = 14 Sep 09:00 CDT -> 17 Sep 00:00 CDT
        provider_directed=True,
        patient_consented_early=True,
        cannot_segment=True,
        malignant=True,
    ),
    S(
        "tx_patient_representative_held_like_patient",
        {
            PATIENT: law_hold("state.tx", datetime(2026, 9, 17, 5, 0, tzinfo=UTC)),
            PROXY: law_hold("state.tx", datetime(2026, 9, 17, 5, 0, tzinfo=UTC)),
        },
        state="TX",
        findings=(SUSPICIOUS_MALIGNANCY,),
        malignant=True,
    ),
    S(
        "tx_hold_expired_at_local_midnight_released",
        {PATIENT: RELEASE},
        state="TX",
        now=datetime(2026, 9, 17, 5, 0, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S("tx_birads2_released", {PATIENT: RELEASE}, state="TX", rads=(BIRADS("2"),)),
    # ---- 4. Montana, MCA 50-16-806, effective 2026-07-01 (§2) ------------------------------
    S(
        "mt_before_effective_date_released",
        {PATIENT: RELEASE},
        state="MT",
        finalized=datetime(2026, 6, 15, 16, 0, tzinfo=UTC),
        now=datetime(2026, 6, 15, 17, 0, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "mt_after_effective_date_held_72h",
        {PATIENT: law_hold("state.mt", datetime(2026, 7, 13, 16, 0, tzinfo=UTC))},
        state="MT",
        finalized=datetime(2026, 7, 10, 16, 0, tzinfo=UTC),
        now=datetime(2026, 7, 10, 17, 0, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "mt_first_minute_in_force_local_input_held_72h",
        {PATIENT: law_hold("state.mt", datetime(2026, 7, 4, 6, 0, tzinfo=UTC))},
        state="MT",
        finalized=datetime(2026, 7, 1, 0, 0, tzinfo=DEN),
        now=datetime(2026, 7, 1, 6, 30, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "mt_provider_directed_release",
        {PATIENT: RELEASE},
        state="MT",
        finalized=datetime(2026, 7, 10, 16, 0, tzinfo=UTC),
        now=datetime(2026, 7, 10, 17, 0, tzinfo=UTC),
        rads=(BIRADS("4"),),
        provider_directed=True,
        malignant=True,
    ),
    # ENGINE DISAGREES: the effective date is a Montana date. Finalized 2026-06-30 23:30
    # MDT (given as 2026-07-01 05:30Z) and decided at that moment, the law is not yet in
    # force in Montana, so release without delay (§1.2: any delay not required by law is
    # likely interference). decide._state_law compares finalized_at.date() in whatever
    # zone the caller passed (UTC -> 1 July) and holds for 72 h.
    S(
        "mt_effective_date_is_montana_date_utc_input_released",
        {PATIENT: RELEASE},
        state="MT",
        finalized=datetime(2026, 7, 1, 5, 30, tzinfo=UTC),
        now=datetime(2026, 7, 1, 5, 40, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    # ENGINE DISAGREES: the mirror case, and the worse one: finalized 2026-07-01 00:30 MDT
    # (given as 2026-06-30 23:30 PDT) is finalized after the law took effect and must be
    # held 72 h (§2, §7.4); the engine reads the Pacific date (30 June) and releases at
    # once, contrary to the statute.
    S(
        "mt_effective_date_is_montana_date_pacific_input_held",
        {PATIENT: law_hold("state.mt", datetime(2026, 7, 4, 6, 30, tzinfo=UTC))},
        state="MT",
        finalized=datetime(2026, 6, 30, 23, 30, tzinfo=LA),
        now=datetime(2026, 7, 1, 7, 0, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    # ---- 5. Virginia, §32.1-127.1:06 (HB 973) [P] (§2) ------------------------------------
    S(
        "va_birads4_held_72h",
        {PATIENT: law_hold("state.va", KY_72H)},
        state="VA",
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "va_patient_consent_early_release",
        {PATIENT: RELEASE},
        state="VA",
        rads=(BIRADS("4"),),
        patient_consented_early=True,
        malignant=True,
    ),
    S(
        "va_cannot_segment_early_release",
        {PATIENT: RELEASE},
        state="VA",
        rads=(BIRADS("4"),),
        cannot_segment=True,
        malignant=True,
    ),
    S(
        "va_before_effective_date_released",
        {PATIENT: RELEASE},
        state="VA",
        finalized=datetime(2026, 6, 20, 14, 0, tzinfo=UTC),
        now=datetime(2026, 6, 20, 15, 0, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    # ---- 6. disabled / unconfigured states: release (§2, §1.8) -----------------------------
    S(
        "co_disabled_released_even_after_2027_date",
        {PATIENT: RELEASE},
        state="CO",
        finalized=datetime(2027, 8, 2, 15, 0, tzinfo=UTC),
        now=datetime(2027, 8, 2, 16, 0, tzinfo=UTC),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "ny_disabled_pending_bill_released",
        {PATIENT: RELEASE},
        state="NY",
        finalized=datetime(2027, 2, 1, 15, 0, tzinfo=UTC),
        now=datetime(2027, 2, 1, 16, 0, tzinfo=UTC),
        rads=(BIRADS("5"),),
        malignant=True,
    ),
    S(
        "state_not_configured_released",
        {PATIENT: RELEASE},
        state=None,
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "state_without_configured_law_released",
        {PATIENT: RELEASE},
        state="CA",
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    # ---- 7. patient-requested delay, §171.202(e) (§1.4, §7.8) ------------------------------
    S(
        "consent_period_held_until_its_end",
        {PATIENT: E("hold", "patient-requested-delay", T0 + 5 * D, rule="Consent/c1")},
        delays=(_consent(until=T0 + 5 * D),),
    ),
    S(
        "consent_period_ended_released",
        {PATIENT: RELEASE},
        now=T0 + 5 * D,
        delays=(_consent(until=T0 + 5 * D),),
    ),
    S(
        "consent_condition_not_met_held_with_condition",
        {
            PATIENT: E(
                "hold",
                "patient-requested-delay",
                condition="after my clinician reviews it",
                rule="Consent/c1",
            )
        },
        delays=(_consent(condition="after my clinician reviews it"),),
    ),
    S(
        "consent_condition_met_released",
        {PATIENT: RELEASE},
        delays=(_consent(condition="after my clinician reviews it", met=True),),
    ),
    S(
        "consent_revoked_released",
        {PATIENT: RELEASE},
        delays=(_consent(until=T0 + 5 * D, condition="after review", revoked=True),),
    ),
    S(
        "consent_revoked_ky_birads4_state_hold_remains",
        {PATIENT: ky_hold()},
        rads=(BIRADS("4"),),
        delays=(_consent(until=T0 + 5 * D, revoked=True),),
        malignant=True,
    ),
    S(
        "consent_longer_than_ky_hold_held_until_consent_end",
        {PATIENT: E("hold", "patient-requested-delay", T0 + 10 * D, rule="Consent/c1")},
        rads=(BIRADS("4"),),
        delays=(_consent(until=T0 + 10 * D),),
        malignant=True,
    ),
    # ENGINE DISAGREES: the patient asked for 1 day; KRS 333.152 bars release for 72 h.
    # The release time is the later of the two, and the basis that governs it is the
    # statute (§7.4 "record the statute in statusReason"; §1.4: a patient-requested delay
    # must be "no longer than necessary to fulfil the request", so the extra two days must
    # not be attributed to the patient). The engine returns the first matching hold:
    # patient-requested-delay until T0 + 1 day, so statusReason says "Until <tomorrow>"
    # while the report stays barred for three days.
    S(
        "consent_shorter_than_ky_hold_release_time_is_statutory_end",
        {PATIENT: ky_hold()},
        rads=(BIRADS("4"),),
        delays=(_consent(until=T0 + D),),
        malignant=True,
    ),
    S(
        "consent_applies_to_proxy_too",
        {
            PATIENT: E("hold", "patient-requested-delay", T0 + 5 * D, rule="Consent/c1"),
            PROXY: E("hold", "patient-requested-delay", T0 + 5 * D, rule="Consent/c1"),
        },
        delays=(_consent(until=T0 + 5 * D),),
    ),
    # ---- 8. clinician preventing-harm determination, §171.201(c)(1) (§1.3, §7.7) --------
    S(
        "harm_determination_patient_held_until_review_date",
        {PATIENT: E("hold", "preventing-harm", T0 + 7 * D, rule=CLINICIAN)},
        harm=(_harm((PATIENT,)),),
    ),
    S(
        "harm_determination_one_proxy_only_patient_released",
        {
            PATIENT: RELEASE,
            PROXY: E("hold", "preventing-harm", T0 + 7 * D, rule=CLINICIAN),
            PROXY2: RELEASE,
        },
        harm=(_harm((PROXY,), harm="substantial_harm"),),
    ),
    S(
        "harm_determination_all_audiences",
        {
            PATIENT: E("hold", "preventing-harm", T0 + 7 * D, rule=CLINICIAN),
            PROXY: E("hold", "preventing-harm", T0 + 7 * D, rule=CLINICIAN),
        },
        harm=(_harm(("*",)),),
    ),
    S(
        "harm_determination_lifted_released",
        {PATIENT: RELEASE},
        harm=(_harm((PATIENT,), lifted=True),),
    ),
    S(
        "harm_determination_past_review_date_released",
        {PATIENT: RELEASE},
        now=T0 + 7 * D,
        harm=(_harm((PATIENT,)),),
    ),
    S(
        "harm_determination_past_review_ky_birads4_falls_through_to_state_hold",
        {PATIENT: ky_hold()},
        now=T0 + 2 * D,
        rads=(BIRADS("4"),),
        harm=(_harm((PATIENT,), review_by=T0 + D),),
        malignant=True,
    ),
    # ---- 9. data integrity, §171.201(c)(2): the one automatic harm hold (§7.7) -----------
    S(
        "data_integrity_suspect_held_with_condition",
        {
            PATIENT: E("hold", "preventing-harm-data-integrity", condition="data verified"),
            PROXY: E("hold", "preventing-harm-data-integrity", condition="data verified"),
        },
        rads=(BIRADS("2"),),
        data_suspect=True,
    ),
    S(
        "data_integrity_suspect_precedes_state_hold",
        {PATIENT: E("hold", "preventing-harm-data-integrity", condition="data verified")},
        rads=(BIRADS("4"),),
        data_suspect=True,
        malignant=True,
    ),
    # ---- 10. proxies and sensitive labels (§5, §7.9) -------------------------------------
    S(
        "proxy_hiv_label_withheld_patient_released",
        {PATIENT: RELEASE, PROXY: E("withhold", "proxy-sensitive-label")},
        labels=((V3_ACT, "HIV"),),
    ),
    S(
        "proxy_psy_label_withheld_patient_released",
        {PATIENT: RELEASE, PROXY: E("withhold", "proxy-sensitive-label")},
        labels=((V3_ACT, "PSY"),),
    ),
    S(
        "proxy_restricted_label_withheld_patient_state_held",
        {PATIENT: ky_hold(), PROXY: E("withhold", "proxy-sensitive-label")},
        labels=((V3_CONF, "R"),),
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    S(
        "proxy_normal_confidentiality_label_released",
        {PATIENT: RELEASE, PROXY: RELEASE},
        labels=((V3_CONF, "N"),),
    ),
    S(
        "proxy_without_labels_same_state_hold_as_patient",
        {PATIENT: ky_hold(), PROXY: ky_hold()},
        rads=(BIRADS("4"),),
        malignant=True,
    ),
    # ---- 11. critical findings never hold (§4, §7.10) -------------------------------------
    S(
        "critical_urgency_released_contact_care_team",
        {PATIENT: RELEASE, PROXY: RELEASE},
        urgency="critical",
        contact=True,
    ),
    S(
        "urgent_urgency_released_contact_care_team",
        {PATIENT: RELEASE},
        urgency="urgent",
        contact=True,
    ),
    S("soon_urgency_released_no_contact_flag", {PATIENT: RELEASE}, urgency="soon"),
    # ---- 12. MQSA, 21 CFR 900.12(c) (§3, §7.6) ---------------------------------------------
    S(
        "mqsa_ky_birads4_held_72h_inside_7_days_no_alert",
        {PATIENT: ky_hold(alert=False)},
        rads=(BIRADS("4"),),
        mammography=True,
        interpreted_at=INTERPRETED,
        malignant=True,
        mqsa={
            "lay_summary_due": INTERPRETED + 7 * D,
            "rule": "Suspicious or Highly Suggestive of Malignancy",
        },
    ),
    S(
        "mqsa_birads4_patient_consent_10_days_alert",
        {PATIENT: E("hold", "patient-requested-delay", T0 + 10 * D, rule="Consent/c1", alert=True)},
        rads=(BIRADS("4"),),
        delays=(_consent(until=T0 + 10 * D),),
        mammography=True,
        interpreted_at=INTERPRETED,
        malignant=True,
        mqsa={
            "lay_summary_due": INTERPRETED + 7 * D,
            "rule": "Suspicious or Highly Suggestive of Malignancy",
        },
    ),
    # ENGINE DISAGREES: two holds stacked. A clinician's determination (review in 2 days)
    # and the patient's Consent (10 days) both apply; the result is not released before day
    # 10, past the MQSA 7-day limit for a Suspicious lay summary (reference §3, §7.6: "the
    # engine must alert if a hold ... would pass day 7"). The engine reports only the first
    # matching hold (preventing-harm until day 2), so the MQSA check sees day 2 and raises
    # no alert. Expected: the release time is the later end, under the basis that sets it.
    S(
        "mqsa_stacked_harm_and_consent_10_days_alert",
        {PATIENT: E("hold", "patient-requested-delay", T0 + 10 * D, rule="Consent/c1", alert=True)},
        rads=(BIRADS("4"),),
        harm=(_harm((PATIENT,), review_by=T0 + 2 * D),),
        delays=(_consent(until=T0 + 10 * D),),
        mammography=True,
        interpreted_at=INTERPRETED,
        malignant=True,
        mqsa={
            "lay_summary_due": INTERPRETED + 7 * D,
            "rule": "Suspicious or Highly Suggestive of Malignancy",
        },
    ),
    S(
        "mqsa_birads5_patient_held_proxy_withheld_no_alert",
        {PATIENT: ky_hold(alert=False), PROXY: E("withhold", "proxy-sensitive-label", alert=False)},
        rads=(BIRADS("5"),),
        labels=((V3_CONF, "V"),),
        mammography=True,
        interpreted_at=INTERPRETED,
        malignant=True,
        mqsa={
            "lay_summary_due": INTERPRETED + 7 * D,
            "rule": "Suspicious or Highly Suggestive of Malignancy",
        },
    ),
    S(
        "mqsa_birads2_30_day_clock_released",
        {PATIENT: E("release", "release-without-delay", alert=False)},
        rads=(BIRADS("2"),),
        mammography=True,
        interpreted_at=INTERPRETED,
        mqsa={"lay_summary_due": INTERPRETED + 30 * D, "rule": "lay summary"},
    ),
    S(
        "mqsa_birads0_final_assessment_due_30_days",
        {PATIENT: E("release", "release-without-delay", alert=False)},
        rads=(BIRADS("0"),),
        mammography=True,
        interpreted_at=INTERPRETED,
        mqsa={
            "lay_summary_due": INTERPRETED + 30 * D,
            "rule": "lay summary",
            "final_assessment_due": INTERPRETED + 30 * D,
        },
    ),
    S(
        "mqsa_birads6_known_cancer_30_day_clock_ky_held",
        {PATIENT: ky_hold(alert=False)},
        rads=(BIRADS("6"),),
        mammography=True,
        interpreted_at=INTERPRETED,
        malignant=True,
        mqsa={"lay_summary_due": INTERPRETED + 30 * D, "rule": "lay summary"},
    ),
    S(
        "mqsa_open_ended_data_integrity_hold_alerts",
        {
            PATIENT: E(
                "hold", "preventing-harm-data-integrity", condition="data verified", alert=True
            )
        },
        rads=(BIRADS("4"),),
        data_suspect=True,
        mammography=True,
        interpreted_at=INTERPRETED,
        malignant=True,
        mqsa={
            "lay_summary_due": INTERPRETED + 7 * D,
            "rule": "Suspicious or Highly Suggestive of Malignancy",
        },
    ),
]


# -- plumbing --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def policy():
    return Policy.from_mappings(mappings.default())


def _report(s: S) -> dict:
    report = {"resourceType": "DiagnosticReport", "id": "r1"}
    if s.status is not None:
        report["status"] = s.status
    if s.labels:
        report["meta"] = {"security": [{"system": sy, "code": c} for sy, c in s.labels]}
    return report


def _explanation(s: S) -> dict:
    return {
        "rads": [{"system": sy, "category": c} for sy, c in s.rads],
        "findings": [{"mapping_id": m, "assertion": a, "historical": h} for m, a, h in s.findings],
        "urgency": s.urgency,
    }


def _audience(ref: str) -> Audience:
    return Audience("patient" if ref.startswith("Patient/") else "proxy", ref)


def _ctx(s: S) -> ReleaseContext:
    return ReleaseContext(
        state=s.state,
        finalized_at=s.finalized,
        audiences=tuple(_audience(r) for r in s.expect),
        delays=s.delays,
        harm=s.harm,
        provider_directed_release=s.provider_directed,
        patient_consented_early=s.patient_consented_early,
        cannot_segment=s.cannot_segment,
        data_integrity_suspect=s.data_suspect,
        mammography=s.mammography,
        interpreted_at=s.interpreted_at,
    )


def _instant(dt: datetime) -> datetime:
    assert dt.tzinfo is not None and dt.utcoffset() is not None, f"{dt!r} is naive"
    return dt.astimezone(UTC)


def test_scenario_ids_are_unique_and_enough():
    ids = [s.id for s in SCENARIOS]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 45


@pytest.mark.parametrize("s", SCENARIOS, ids=lambda s: s.id)
def test_scenario(s: S, policy):
    decisions = decide(_report(s), _explanation(s), _ctx(s), s.now, policy)
    assert [d.audience.reference for d in decisions] == list(s.expect)
    for d in decisions:
        e = s.expect[d.audience.reference]
        who = d.audience.reference
        assert (d.action, d.basis) == (e.action, e.basis), f"{who}: {d.reason}"
        assert BASIS_ACTION[e.basis] == e.action  # the table itself is consistent
        assert d.citation == BASIS_URL[e.basis], who
        if e.until is None:
            assert d.until is None, f"{who}: until {d.until}"
        else:
            assert d.until is not None, f"{who}: no release time"
            assert _instant(d.until) == _instant(e.until), (
                f"{who}: until {d.until.isoformat()} ({_instant(d.until).isoformat()}), "
                f"expected {_instant(e.until).isoformat()}"
            )
            # what is written back (statusReason text) names the same instant
            assert _instant(datetime.fromisoformat(d.as_dict()["until"])) == _instant(e.until)
        assert d.condition == e.condition, who
        if e.rule is not None:
            assert d.rule == e.rule, who
        if e.basis == "state-law-hold":
            state, name, _ = STATUTE[e.rule]
            assert d.state == state and name in d.reason, f"{who}: {d.reason}"
        if e.basis == "preventing-harm":
            assert CLINICIAN in d.reason
        assert d.malignancy is s.malignant, f"{who}: malignancy gate"
        assert d.contact_care_team is s.contact, who
        if s.mqsa is None:
            assert d.mqsa is None, who
        else:
            m = d.mqsa
            assert m is not None, who
            assert _instant(datetime.fromisoformat(m["lay_summary_due"])) == _instant(
                s.mqsa["lay_summary_due"]
            )
            assert m["rule"] == s.mqsa["rule"]
            assert m["density_statement_required"] is True
            final_due = s.mqsa.get("final_assessment_due")
            if final_due is None:
                assert "final_assessment_due" not in m
            else:
                assert _instant(datetime.fromisoformat(m["final_assessment_due"])) == _instant(
                    final_due
                )
            assert m["alert"] is e.alert, f"{who}: MQSA alert"


# -- configuration --------------------------------------------------------------------
def test_blanket_clinician_review_hold_is_refused_at_configuration():
    with pytest.raises(ConfigError) as err:
        Policy.from_mappings(mappings.default(), hold_for_clinician_review=True)
    message = str(err.value)
    assert "information blocking" in message
    assert "for any period of time" in message  # the ONC FAQ's words (reference §1.2)
    assert "individualized" in message  # what a lawful harm hold needs instead (§1.3)
    assert "state statute" in message and "patient" in message


def test_basis_urls_and_actions_match_bases_yaml(policy):
    assert {c: b["citation"]["url"] for c, b in policy.bases.items()} == BASIS_URL
    assert {c: b["action"] for c, b in policy.bases.items()} == BASIS_ACTION


def test_statutes_match_state_laws_yaml(policy):
    laws = {law["id"]: law for law in policy.laws}
    for law_id, (state, name, url) in STATUTE.items():
        law = laws[law_id]
        assert law["enabled"] and law["state"] == state
        assert name in law["citation"]["name"] and law["citation"]["url"] == url
    # reference §2: CO enactment conflicting [U], NY a pending bill -> never hold
    assert laws["state.co"]["enabled"] is False and laws["state.ny"]["enabled"] is False
    # reference §2: TX statute text has no early-release clause
    assert laws["state.tx"]["early_release"] == []


# -- clock.hold_until -----------------------------------------------------------------
HOLIDAYS = frozenset({date(2026, 11, 11), date(2026, 11, 26), date(2026, 12, 25)})


def test_72h_across_dst_end_from_utc_input_is_72_real_hours():
    finalized = datetime(2026, 10, 30, 16, 0, tzinfo=UTC)  # 12:00 EDT
    until = hold_until(finalized, "hours_after_final", 72, "America/New_York", HOLIDAYS)
    assert _instant(until) == datetime(2026, 11, 2, 16, 0, tzinfo=UTC)  # 11:00 EST
    assert _instant(until) - _instant(finalized) == timedelta(hours=72)


@pytest.mark.parametrize(
    "finalized, expected",
    [
        # fall back (1 Nov 2026): 12:00 EDT + 72 h = 11:00 EST
        (datetime(2026, 10, 30, 12, 0, tzinfo=NY), datetime(2026, 11, 2, 16, 0, tzinfo=UTC)),
        # spring forward (8 Mar 2026): 12:00 EST + 72 h = 13:00 EDT
        (datetime(2026, 3, 6, 12, 0, tzinfo=NY), datetime(2026, 3, 9, 17, 0, tzinfo=UTC)),
    ],
    ids=["fall_back", "spring_forward"],
)
def test_72h_across_dst_from_local_input_is_72_real_hours(finalized, expected):
    # ENGINE DISAGREES: "72 hours after the results are finalized" is an exact duration
    # (reference §2 design notes; clock.py docstring). hold_until does
    # `finalized + timedelta(hours=72)`, which for an aware datetime in a DST zone is
    # wall-clock arithmetic: 73 real hours in November, 71 in March (the March case
    # releases an hour before KRS 333.152 / MCA 50-16-806 / Va. 32.1-127.1:06 permit).
    until = hold_until(finalized, "hours_after_final", 72, "America/New_York", HOLIDAYS)
    assert _instant(until) == expected
    assert _instant(until) - _instant(finalized) == timedelta(hours=72)


@pytest.mark.parametrize(
    "finalized, expected_utc, local",
    [
        # 23:30 vs 00:30 local around the spring change
        (
            datetime(2026, 3, 5, 23, 30, tzinfo=CHI),
            datetime(2026, 3, 8, 6, 0, tzinfo=UTC),
            "2026-03-08T00:00:00-06:00",
        ),
        (
            datetime(2026, 3, 6, 0, 30, tzinfo=CHI),
            datetime(2026, 3, 9, 5, 0, tzinfo=UTC),
            "2026-03-09T00:00:00-05:00",
        ),
        # the same instants given in UTC are judged by the Chicago calendar date
        (
            datetime(2026, 3, 6, 5, 30, tzinfo=UTC),
            datetime(2026, 3, 8, 6, 0, tzinfo=UTC),
            "2026-03-08T00:00:00-06:00",
        ),
        (
            datetime(2026, 3, 6, 6, 30, tzinfo=UTC),
            datetime(2026, 3, 9, 5, 0, tzinfo=UTC),
            "2026-03-09T00:00:00-05:00",
        ),
        # last second of a day vs first second of the next
        (
            datetime(2026, 9, 14, 23, 59, 59, tzinfo=CHI),
            datetime(2026, 9, 17, 5, 0, tzinfo=UTC),
            "2026-09-17T00:00:00-05:00",
        ),
        (
            datetime(2026, 9, 15, 0, 0, 0, tzinfo=CHI),
            datetime(2026, 9, 18, 5, 0, tzinfo=UTC),
            "2026-09-18T00:00:00-05:00",
        ),
        # around the autumn change (1 Nov 2026, 02:00 CDT -> 01:00 CST)
        (
            datetime(2026, 10, 29, 23, 30, tzinfo=CHI),
            datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
            "2026-11-01T00:00:00-05:00",
        ),
        (
            datetime(2026, 10, 30, 0, 30, tzinfo=CHI),
            datetime(2026, 11, 2, 6, 0, tzinfo=UTC),
            "2026-11-02T00:00:00-06:00",
        ),
    ],
    ids=[
        "2330_cst",
        "0030_cst",
        "2330_cst_as_utc",
        "0030_cst_as_utc",
        "235959_cdt",
        "000000_cdt",
        "2330_before_fall_back",
        "0030_before_fall_back",
    ],
)
def test_texas_third_calendar_day_starts_at_chicago_midnight(finalized, expected_utc, local):
    until = hold_until(finalized, "from_calendar_day_after_final", 3, "America/Chicago", HOLIDAYS)
    assert _instant(until) == expected_utc
    assert until.astimezone(CHI).isoformat() == local


@pytest.mark.parametrize(
    "finalized, expected_utc",
    [
        # Friday 6 Nov 10:00 MST -> Mon 9 (1), Tue 10 (2), Wed 11 Veterans Day, Thu 12 (3)
        (datetime(2026, 11, 6, 10, 0, tzinfo=DEN), datetime(2026, 11, 12, 17, 0, tzinfo=UTC)),
        # Wednesday 25 Nov 10:00 MST -> Thu 26 Thanksgiving, Fri 27 (1), Mon 30 (2), Tue 1 Dec (3)
        (datetime(2026, 11, 25, 10, 0, tzinfo=DEN), datetime(2026, 12, 1, 17, 0, tzinfo=UTC)),
        # Saturday 21 Nov -> Mon 23, Tue 24, Wed 25
        (datetime(2026, 11, 21, 10, 0, tzinfo=DEN), datetime(2026, 11, 25, 17, 0, tzinfo=UTC)),
        # Friday 30 Oct 10:00 MDT across the autumn change -> Wed 4 Nov 10:00 MST (time of day kept)
        (datetime(2026, 10, 30, 10, 0, tzinfo=DEN), datetime(2026, 11, 4, 17, 0, tzinfo=UTC)),
        # the same Friday given in UTC counts Denver days and keeps Denver wall time
        (datetime(2026, 10, 30, 16, 0, tzinfo=UTC), datetime(2026, 11, 4, 17, 0, tzinfo=UTC)),
    ],
    ids=["weekend_and_veterans_day", "thanksgiving", "from_saturday", "across_dst", "utc_input"],
)
def test_business_days_skip_weekends_and_federal_holidays(finalized, expected_utc):
    until = hold_until(finalized, "business_days_after_final", 3, "America/Denver", HOLIDAYS)
    assert _instant(until) == expected_utc
    assert until.astimezone(DEN).time() == finalized.astimezone(DEN).time()


def test_shipped_holiday_list_has_thanksgiving_2026(policy):
    assert date(2026, 11, 26) in policy.holidays
    until = hold_until(
        datetime(2026, 11, 25, 10, 0, tzinfo=DEN),
        "business_days_after_final",
        3,
        "America/Denver",
        policy.holidays,
    )
    assert _instant(until) == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def test_naive_finalization_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        hold_until(
            datetime(2026, 9, 14, 10, 0), "hours_after_final", 72, "America/New_York", HOLIDAYS
        )


def test_unknown_statutory_count_is_refused():
    with pytest.raises(ValueError, match="unknown statutory count"):
        hold_until(T0, "fortnights", 1, "America/New_York", HOLIDAYS)
