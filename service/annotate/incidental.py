"""Incidental findings: recognise one, read what its management depends on, pick the rule.

Pure functions over ``mappings/incidental/*.yaml``: a finding entry says how reports name
it, rule entries give the white paper's follow-up for each combination of inputs, input
entries say how a report states a fact a rule reads. Rules are tried in file order and
the first whose conditions all hold decides. When a rule cannot be decided because the
report does not state an input it reads (size, attenuation, age, menopausal status,
cancer history), the result says so and lists those inputs; nothing is guessed.

Polarity is not decided here: the caller asserts each mention (and each feature) with
the shared ConText rules, and asks for a recommendation only for a present or possible,
current mention.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .followup import Measurement, measurements
from .lexicon import Lexicon
from .tokens import Tokens, literal_key

NOT_DETERMINED = "not_determined"
DEPENDS = "depends_on_inputs"
_HEAD_REACH = 6  # tokens between a generic head noun ("nodule") and its organ word
_MINUS = str.maketrans({"−": "-", "–": "-", " ": ""})


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    finding: dict


@dataclass
class Decision:
    """The follow-up for one finding mention, or what it depends on."""

    finding: dict
    action: str
    interval: str | None
    rules: list[dict]  # the rule(s) behind the decision, or the options when it depends
    inputs: dict
    missing: list[str] = field(default_factory=list)
    options: list[dict] = field(default_factory=list)
    size: Measurement | None = None

    @property
    def decided(self) -> bool:
        return self.action not in (DEPENDS, NOT_DETERMINED)

    @property
    def actionable(self) -> bool:
        """Needs a defined response: anything but "no further work-up" (undecided counts)."""
        return self.action != "none"


@dataclass(frozen=True)
class _Input:
    entry: dict
    name: str
    value: object
    scope: str
    patterns: tuple[re.Pattern, ...]
    unless: tuple[re.Pattern, ...]


class IncidentalRules:
    """The compiled incidental-finding mappings."""

    def __init__(self, entries: list[dict]):
        self.findings = {e["id"]: e for e in entries if e["kind"] == "finding"}
        self.rules: dict[str, list[dict]] = {f: [] for f in self.findings}
        for e in entries:
            if e["kind"] == "rule":
                self.rules[e["finding"]].append(e)
        self.inputs = [
            _Input(
                e,
                e["input"],
                e["value"],
                e["scope"],
                tuple(re.compile(p, re.IGNORECASE) for p in e["patterns"]),
                tuple(re.compile(p, re.IGNORECASE) for p in e.get("unless", [])),
            )
            for e in entries
            if e["kind"] == "input"
        ]
        # inputs a sentence states; an impression without them may borrow from FINDINGS
        self.sentence_inputs_names = {i.name for i in self.inputs if i.scope == "sentence"} | {
            "size_cm"
        }
        self.unstated = {
            e["input"]: e["unstated"] for e in entries if e["kind"] == "input" and "unstated" in e
        }
        findings = list(self.findings.values())
        self.literals: Lexicon[dict] = Lexicon(
            [(lit, f, False) for f in findings for lit in f["match"]]
        )
        self.heads: Lexicon[dict] = Lexicon(
            [(h, f, False) for f in findings for h in f.get("heads", [])]
        )
        self.organs: Lexicon[dict] = Lexicon(
            [(w, f, False) for f in findings for w in f.get("organ_words", [])]
        )
        self.features: dict[str, Lexicon[str]] = {
            f["id"]: Lexicon(
                [(lit, name, False) for name, lits in f.get("features", {}).items() for lit in lits]
            )
            for f in findings
        }
        self.skip_on_exam = {
            f["id"]: re.compile("|".join(f["skip_on_exam"]), re.IGNORECASE)
            for f in findings
            if f.get("skip_on_exam")
        }
        # a sentence is looked at only when one of its words can start a literal or an organ word
        self._first_words = {
            k[0]
            for f in findings
            for lit in f["match"] + f.get("organ_words", [])
            for k in [literal_key(lit)]
            if k
        }

    # -- recognition ---------------------------------------------------------------------
    def may_mention(self, tokens: Tokens) -> bool:
        return not self._first_words.isdisjoint(tokens.norms)

    def find(self, tokens: Tokens) -> list[Mention]:
        """Finding mentions: named outright ("adrenal nodule"), or a generic head noun
        ("nodule") near the one organ word of the sentence ("in the left adrenal gland")."""
        hits = self.literals.find(tokens)
        used = [(h.first, h.last) for h in hits]
        organs = [o for o in self.organs.find(tokens) if not any(a <= o.first < b for a, b in used)]
        if not hits and not organs:
            return []
        starts, ends = tokens.starts, tokens.ends  # offsets are worked out only when needed
        out = [Mention(starts[h.first], ends[h.last - 1], h.values[0]) for h in hits]
        owners = {f["id"] for o in organs for f in o.values}
        if len(owners) != 1:
            return out
        (owner,) = owners
        for h in self.heads.find(tokens):
            if any(a < h.last and h.first < b for a, b in used):
                continue
            finding = next((f for f in h.values if f["id"] == owner), None)
            near = any(
                min(abs(o.first - h.last), abs(h.first - o.last)) <= _HEAD_REACH for o in organs
            )
            if finding is not None and near:
                out.append(Mention(starts[h.first], ends[h.last - 1], finding))
        return sorted(out, key=lambda m: m.start)

    def feature_spans(self, finding: dict, tokens: Tokens) -> list[tuple[str, int, int]]:
        """(feature name, start, end) of each feature literal in the sentence."""
        lex = self.features[finding["id"]]
        if not len(lex):
            return []
        return [
            (h.values[0], tokens.starts[h.first], tokens.ends[h.last - 1]) for h in lex.find(tokens)
        ]

    def applies_to_exam(self, finding: dict, exam: str) -> bool:
        skip = self.skip_on_exam.get(finding["id"])
        return skip is None or not skip.search(exam)

    # -- inputs --------------------------------------------------------------------------
    def report_inputs(self, text: str, patient: dict | None = None) -> dict:
        """Inputs stated anywhere in the report; a FHIR Patient's age wins over the text."""
        found = self._read(text, 0, len(text), "report")
        if patient and patient.get("age") is not None:
            found["age"] = patient["age"]
        return found

    def sentence_inputs(self, text: str, start: int, end: int) -> dict:
        return self._read(text, start, end, "sentence")

    def _read(self, text: str, start: int, end: int, scope: str) -> dict:
        found: dict = {}
        for inp in self.inputs:
            if inp.scope != scope or inp.name in found:
                continue
            if any(u.search(text, start, end) for u in inp.unless):
                continue
            for pattern in inp.patterns:
                m = pattern.search(text, start, end)
                if m is None:
                    continue
                found[inp.name] = _value(inp, m)
                found.setdefault("_ids", []).append(inp.entry["id"])
                break
        return found

    # -- decision ------------------------------------------------------------------------
    def decide(
        self,
        finding: dict,
        text: str,
        mention: Mention,
        s_start: int,
        s_end: int,
        report: dict,
        features: set[str],
    ) -> Decision:
        sentence = self.sentence_inputs(text, s_start, s_end)
        sizes = measurements(text, s_start, s_end)
        size = (
            min(sizes, key=lambda m: min(abs(m.start - mention.end), abs(mention.start - m.end)))
            if sizes
            else None
        )
        facts = {**{k: v for k, v in report.items() if k != "_ids"}}
        facts.update({k: v for k, v in sentence.items() if k != "_ids"})
        if size is not None:
            facts["size_cm"] = round(size.largest_cm, 2)
        for name, value in self.unstated.items():
            facts.setdefault(name, value)
        input_ids = list(dict.fromkeys(report.get("_ids", []) + sentence.get("_ids", [])))
        inputs = {k: facts[k] for k in sorted(facts)}
        inputs["features"] = sorted(features)

        candidates: list[tuple[dict, list[str]]] = []
        for rule in self.rules[finding["id"]]:
            holds, missing = _check(rule["when"], facts, features)
            if holds is False:
                continue
            candidates.append((rule, missing))
            if not missing:
                break  # the first rule that certainly holds decides; later ones never matter
        if not candidates:
            return Decision(finding, NOT_DETERMINED, None, [], inputs, size=size)
        outcomes = {(r["action"], r["interval"]) for r, _ in candidates}
        missing = list(dict.fromkeys(m for _, ms in candidates for m in ms))
        rules = [r for r, _ in candidates]
        decision = Decision(finding, "", None, rules, inputs, size=size)
        decision.inputs["_ids"] = input_ids
        if len(outcomes) == 1:
            decision.action, decision.interval = next(iter(outcomes))
            # decided whatever the unstated inputs are: say which ones did not matter
            decision.options = [] if not missing else [_option(r) for r in rules]
            decision.missing = []
            decision.inputs["not_needed"] = missing
            return decision
        decision.action = DEPENDS
        decision.missing = missing
        decision.options = [_option(r) for r in rules]
        return decision


def _option(rule: dict) -> dict:
    return {
        "when": rule["when"],
        "action": rule["action"],
        "interval": rule["interval"],
        "mapping_id": rule["id"],
    }


def _check(when: dict, facts: dict, features: set[str]) -> tuple[bool | None, list[str]]:
    """(False, _) when a condition fails; (True, missing) otherwise, missing naming the
    inputs the report does not state (the rule may or may not hold)."""
    missing = []
    for key, cond in when.items():
        if key == "features":
            for name, wanted in cond.items():
                if (name in features) != wanted:
                    return False, []
            continue
        if key not in facts:
            missing.append(key)
            continue
        value = facts[key]
        if isinstance(cond, dict):
            if not _in_range(value, cond):
                return False, []
        elif value != cond:
            return False, []
    return True, missing


def _in_range(value: float, bounds: dict) -> bool:
    return (
        value > bounds.get("gt", -math.inf)
        and value >= bounds.get("gte", -math.inf)
        and value < bounds.get("lt", math.inf)
        and value <= bounds.get("lte", math.inf)
    )


def _value(inp: _Input, m: re.Match) -> object:
    if inp.value is not None:
        return inp.value
    number = float(m.group("n").translate(_MINUS))
    groups = m.groupdict()
    if groups.get("below"):
        number -= 0.5  # "< 10 HU": below the bound, whatever the exact figure
    return int(number) if number.is_integer() else number
