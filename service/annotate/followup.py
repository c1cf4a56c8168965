"""Guideline follow-up computed from what the report states: Fleischner 2017, ACR TI-RADS.

Pure functions over the tables in ``mappings/fleischner.yaml`` and ``mappings/tirads.yaml``.
Every result says what it is based on, and what it depends on that the report does not
state (smoking history, nodule type, size); nothing is guessed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_SIZE = re.compile(
    r"(?P<a>\d+(?:\.\d+)?)\s*(?:(?:x|×|by)\s*(?P<b>\d+(?:\.\d+)?)\s*)?(?:(?:x|×|by)\s*(?P<c>\d+(?:\.\d+)?)\s*)?"
    r"(?P<unit>mm|cm)\b",
    re.IGNORECASE,
)
_AGE = re.compile(r"\b(\d{1,3})[- ](?:year|yr)s?[- ]old\b|\bage[:\s]+(\d{1,3})\b", re.IGNORECASE)
_SCREENING = re.compile(
    r"lung cancer screening|\bLDCT\b|low[- ]dose (?:chest )?ct|lung[- ]?rads", re.IGNORECASE
)
_CANCER = re.compile(
    r"\b(?:known|history of|hx of|h/o|metastatic|staging|restaging)\b[^.\n]{0,40}"
    r"(?:cancer|carcinoma|malignan|lymphoma|melanoma|sarcoma|metasta)|\bmetastatic\b|\bstaging\b",
    re.IGNORECASE,
)
_IMMUNE = re.compile(
    r"immunosuppress|immunocompromis|transplant|\bHIV\b|chemotherapy", re.IGNORECASE
)
_HIGH_RISK = re.compile(
    r"smok|pack[- ]?y(?:ea)?rs?|asbestos|radon|uranium|family history of lung cancer", re.IGNORECASE
)
_LOW_RISK = re.compile(
    r"never[- ]smoker|non-?smoker|no (?:history of )?smoking|low[- ]risk", re.IGNORECASE
)
_NEVER = re.compile(r"never[- ]smoker|non-?smoker|no (?:history of )?smoking", re.IGNORECASE)
_GROUND_GLASS = re.compile(r"ground[- ]?glass|non-?solid|\bGGN\b|\bGGO\b", re.IGNORECASE)
_PART_SOLID = re.compile(
    r"part[- ]?solid|semi-?solid|mixed (?:solid and ground|attenuation)", re.IGNORECASE
)
_SUBSOLID = re.compile(r"sub-?solid", re.IGNORECASE)
_MULTIPLE = re.compile(
    r"\bnodules\b|\bmultiple\b|\bseveral\b|\bnumerous\b|\bmultifocal\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Measurement:
    dims_mm: tuple[float, ...]
    start: int
    end: int

    @property
    def largest_cm(self) -> float:
        return max(self.dims_mm) / 10

    @property
    def fleischner_mm(self) -> int:
        """Mean of long and short axes, rounded to the nearest mm (halves up): Fleischner's size."""
        # reports give the axial long and short axes first; a third number is craniocaudal
        dims = self.dims_mm
        mean = (dims[0] + dims[1]) / 2 if len(dims) > 1 else dims[0]
        return math.floor(mean + 0.5)


def measurements(text: str, start: int = 0, end: int | None = None) -> list[Measurement]:
    out = []
    for m in _SIZE.finditer(text, start, len(text) if end is None else end):
        scale = 10.0 if m.group("unit").lower() == "cm" else 1.0
        dims = tuple(float(m.group(k)) * scale for k in ("a", "b", "c") if m.group(k))
        out.append(Measurement(dims, m.start(), m.end()))
    return out


@dataclass
class FollowUp:
    basis: str
    action: str
    interval: str | None
    lay: list[str]
    mapping_ids: list[str]
    depends_on: list[str] = field(default_factory=list)
    options: list[dict] = field(default_factory=list)
    applies: bool = True
    not_applicable_because: str | None = None
    inputs: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "basis": self.basis,
            "action": self.action,
            "interval": self.interval,
            "depends_on": self.depends_on,
            "options": self.options,
            "applies": self.applies,
            "not_applicable_because": self.not_applicable_because,
            "inputs": self.inputs,
        }


# -- ACR TI-RADS -----------------------------------------------------------------------


def tirads_level(points: int, table: list[dict]) -> str | None:
    for row in table:
        top = row["points_max"] if row["points_max"] is not None else math.inf
        if row["points_min"] <= points <= top:
            return row["level"]
    return None  # exactly 1 point has no level in the published chart


def tirads_follow_up(
    level: str, size_cm: float | None, table: list[dict], lang: str = "en"
) -> FollowUp:
    row = next(r for r in table if r["level"] == level)
    inputs = {"level": level, "size_cm": size_cm}
    sized = row["fna_cm"] is not None  # TR1 and TR2 need nothing at any size
    if sized and size_cm is None:
        return FollowUp(
            "ACR TI-RADS 2017",
            "depends_on_size",
            None,
            [],
            [row["id"]],
            depends_on=["nodule size"],
            inputs=inputs,
        )
    if sized and size_cm >= row["fna_cm"]:
        action, interval, lay = "fna", None, "lay_fna"
    elif sized and size_cm >= row["follow_up_cm"]:
        action, interval, lay = "ultrasound_follow_up", row["schedule"], "lay_follow_up"
    else:
        action, interval, lay = "none", None, "lay_none"
    return FollowUp(
        "ACR TI-RADS 2017", action, interval, [_say(row[lay], lang)], [row["id"]], inputs=inputs
    )


# -- Fleischner 2017 -------------------------------------------------------------------


@dataclass(frozen=True)
class NoduleFacts:
    size_mm: int
    nodule_type: str  # solid | ground_glass | part_solid | subsolid
    multiplicity: str  # single | multiple
    type_stated: bool


def nodule_facts(sentence: str, measurement: Measurement) -> NoduleFacts:
    if _PART_SOLID.search(sentence):
        kind, stated = "part_solid", True
    elif _GROUND_GLASS.search(sentence):
        kind, stated = "ground_glass", True
    elif _SUBSOLID.search(sentence):
        kind, stated = "subsolid", True
    else:
        kind, stated = "solid", bool(re.search(r"\bsolid\b", sentence, re.IGNORECASE))
    multiplicity = "multiple" if _MULTIPLE.search(sentence) else "single"
    if multiplicity == "multiple" and kind in ("ground_glass", "part_solid"):
        kind = "subsolid"  # the guideline has one row for multiple subsolid nodules
    return NoduleFacts(measurement.fleischner_mm, kind, multiplicity, stated)


def fleischner_gate(report: str) -> str | None:
    """Why Fleischner does not apply to this report, or None when it may."""
    if _SCREENING.search(report):
        return "lung cancer screening (Lung-RADS applies instead)"
    for m in _AGE.finditer(report):
        age = int(m.group(1) or m.group(2))
        if age < 35:
            return "patient younger than 35"
    if _CANCER.search(report):
        return "known or suspected cancer"
    if _IMMUNE.search(report):
        return "immunosuppressed patient"
    return None


def smoking_risk(report: str) -> str | None:
    if _NEVER.search(report):
        return "low"
    if _HIGH_RISK.search(report):
        return "high"
    if _LOW_RISK.search(report):
        return "low"
    return None


def fleischner_follow_up(
    facts: NoduleFacts,
    risk: str | None,
    table: list[dict],
    lang: str = "en",
    templates: dict | None = None,
) -> FollowUp:
    def rows_for(r: str) -> dict:
        for row in table:
            if row["nodule_type"] != facts.nodule_type or row["multiplicity"] != facts.multiplicity:
                continue
            if row["risk"] not in ("any", r):
                continue
            lo = row["min_mm"] if row["min_mm"] is not None else -math.inf
            hi = row["max_mm"] if row["max_mm"] is not None else math.inf
            if lo <= facts.size_mm <= hi:
                return row
        raise LookupError(f"no Fleischner row for {facts} at {r} risk")

    basis = "Fleischner Society 2017"
    inputs = {
        "size_mm": facts.size_mm,
        "nodule_type": facts.nodule_type,
        "multiplicity": facts.multiplicity,
        "risk": risk,
    }
    depends = (
        [] if facts.type_stated else ["nodule type (treated as solid; the report does not say)"]
    )
    low, high = rows_for("low"), rows_for("high")
    same = (low["action"], low["interval"], low["then"]) == (
        high["action"],
        high["interval"],
        high["then"],
    )
    if risk or same:
        row = rows_for(risk or "low")
        return FollowUp(
            basis,
            row["action"],
            row["interval"],
            [_say(row["lay"], lang)],
            [row["id"]],
            depends_on=depends,
            inputs=inputs,
            options=[_option(row, risk or "any")],
        )
    templates = templates or {}
    if _say(low["lay"], lang) == _say(high["lay"], lang):  # same first step; later steps differ
        lay = [
            _say(low["lay"], lang),
            _say(templates["template.followup.later_depends_on_risk"], lang),
        ]
        ids = [low["id"], high["id"], "template.followup.later_depends_on_risk"]
    else:
        lay = [
            _say(templates["template.followup.risk_unknown"], lang),
            _say(templates["template.followup.if_low_risk"], lang) + " " + _say(low["lay"], lang),
            _say(templates["template.followup.if_high_risk"], lang) + " " + _say(high["lay"], lang),
        ]
        ids = ["template.followup.risk_unknown", low["id"], high["id"]]
    return FollowUp(
        basis,
        "depends_on_risk",
        None,
        lay,
        ids,
        depends_on=depends + ["smoking history and other lung cancer risk factors"],
        options=[_option(low, "low"), _option(high, "high")],
        inputs=inputs,
    )


def _option(row: dict, risk: str) -> dict:
    return {
        "risk": risk,
        "action": row["action"],
        "interval": row["interval"],
        "then": row["then"],
        "mapping_id": row["id"],
    }


def _say(text: dict, lang: str) -> str:
    return text.get(lang) or text["en"]
