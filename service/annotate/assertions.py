"""Assertion status of finding mentions: ConText-style triggers with direction and scope.

Each mention gets one i2b2-2010 value (present, absent, possible, conditional,
hypothetical, associated_with_someone_else) plus ``historical``. Triggers come from
``mappings/context.yaml``.

Scope rules, in the spirit of ConText (Harkema et al. 2009):
- a trigger reaches forward (or backward) within its clause: a semicolon, the sentence
  end, a terminating trigger ("but", "however", "which") or a pseudo-trigger ("no change")
  ends it;
- triggers work in independent dimensions (polarity, hypothetical, conditional,
  experiencer, history); within one dimension the nearest trigger wins, so in "possible
  effusion without pneumothorax" the pneumothorax is absent, not possible;
- a literal with both a forward and a backward reading ("likely", "unlikely") reads
  forward when a finding follows it in the clause ("opacity, likely atelectasis"), and
  backward only otherwise ("atelectasis is likely").
"""

from __future__ import annotations

from typing import NamedTuple

from .lexicon import Hit, Lexicon
from .tokens import Token, tokenize

ABSENT, POSSIBLE, PRESENT = "absent", "possible", "present"
HYPOTHETICAL, CONDITIONAL = "hypothetical", "conditional"
SOMEONE_ELSE = "associated_with_someone_else"
VALUES = (PRESENT, ABSENT, POSSIBLE, CONDITIONAL, HYPOTHETICAL, SOMEONE_ELSE)

# category in mappings/context.yaml -> the dimension it decides
_DIMENSION = {
    "absent": "polarity", "possible": "polarity", "present": "polarity",
    "hypothetical": "hypothetical", "conditional": "conditional",
    "someone_else": "experiencer", "historical": "history",
}
_DEFAULT_BACKWARD_SCOPE = 10


class Trigger(NamedTuple):
    rule: str
    category: str
    direction: str | None
    certainty: str | None
    historical: bool
    max_scope: int | None
    transparent: bool


class Assertion(NamedTuple):
    assertion: str
    historical: bool
    certainty: str | None  # level on the certainty scale, when a hedge or "consistent with" set it
    rules: tuple[str, ...]  # ids of the context entries that decided it


class ContextRules:
    def __init__(self, entries: list[dict]):
        pairs = []
        for e in entries:
            trigger = Trigger(e["id"], e["category"], e.get("direction"), e.get("certainty"),
                              bool(e.get("historical")), e.get("max_scope"),
                              bool(e.get("transparent")))
            pairs += [(lit, trigger, False) for lit in e["literals"]]
        self._lexicon: Lexicon[Trigger] = Lexicon(pairs)

    def assert_spans(self, text: str, start: int, end: int,
                     targets: list[tuple[int, int]]) -> list[Assertion]:
        """Assertions for ``targets`` (character spans) within the sentence text[start:end]."""
        tokens = tokenize(text[start:end], start)
        spans = [_token_range(tokens, a, b) for a, b in targets]
        inside = [t for a, b in spans for t in range(a, b)]
        hits = [h for h in self._lexicon.find(tokens) if not _overlaps(h, inside)]
        # triggers written inside a target ("old healed fracture") apply to it
        all_hits = self._lexicon.find(tokens)
        breaks = _clause_breaks(text, tokens)
        return [self._decide(hits, all_hits, spans, i, breaks) for i in range(len(spans))]

    def _decide(self, hits: list[Hit], all_hits: list[Hit], spans: list[tuple[int, int]],
                index: int, breaks: list[int]) -> Assertion:
        first, last = spans[index]
        chosen: dict[str, Trigger] = {}
        for hit in all_hits:
            if hit.first >= first and hit.last <= last:
                for trig in hit.values:
                    if trig.category in _DIMENSION:
                        chosen.setdefault(_DIMENSION[trig.category], trig)
        forward = self._scan(reversed([h for h in hits if h.last <= first]), first, breaks,
                             spans, index, backward=False)
        backward = self._scan((h for h in hits if h.first >= last), last, breaks,
                              spans, index, backward=True)
        for dim in ("polarity", "hypothetical", "conditional", "experiencer", "history"):
            trig = chosen.get(dim) or forward.get(dim) or backward.get(dim)
            if trig:
                chosen[dim] = trig
        return _combine(chosen)

    def _scan(self, hits, edge: int, breaks: list[int], spans, index: int,
              backward: bool) -> dict[str, Trigger]:
        found: dict[str, Trigger] = {}
        blocked: set[str] = set()
        for hit in hits:
            lo, hi = (edge, hit.first) if backward else (hit.last, edge)
            if any(lo <= b <= hi for b in breaks):
                break
            kinds = {t.category for t in hit.values}
            if "terminate" in kinds:
                break
            if "pseudo" in kinds:
                if all(t.transparent for t in hit.values if t.category == "pseudo"):
                    continue
                break
            distance = hi - lo
            wanted = ("backward", "bidirectional") if backward else ("forward", "bidirectional")
            for trig in hit.values:
                dim = _DIMENSION.get(trig.category)
                if dim is None or dim in blocked:
                    continue
                if trig.direction not in wanted:
                    continue
                scope = trig.max_scope
                if scope is None and backward:
                    scope = _DEFAULT_BACKWARD_SCOPE
                if scope is not None and distance > scope:
                    continue
                if backward and trig.direction == "backward" and _reads_forward(hit, spans, index, breaks):
                    continue
                found.setdefault(dim, trig)
            # the nearest trigger of a dimension hides farther ones of the same dimension
            blocked |= {_DIMENSION[t.category] for t in hit.values if t.category in _DIMENSION}
        return found


def _reads_forward(hit: Hit, spans, index: int, breaks: list[int]) -> bool:
    """Does this hit also read forward, with another finding after it in the clause?"""
    if not any(t.direction == "forward" for t in hit.values):
        return False
    next_break = min((b for b in breaks if b >= hit.last), default=None)
    return any(
        j != index and a >= hit.last and (next_break is None or a < next_break)
        for j, (a, _) in enumerate(spans)
    )


def _combine(chosen: dict[str, Trigger]) -> Assertion:
    rules = tuple(t.rule for t in chosen.values())
    historical = any(t.category == "historical" or t.historical for t in chosen.values())
    polarity = chosen.get("polarity")
    if "experiencer" in chosen:
        value = SOMEONE_ELSE
    elif "hypothetical" in chosen:
        value = HYPOTHETICAL
    elif "conditional" in chosen:
        value = CONDITIONAL
    elif polarity is None:
        value = PRESENT
    else:
        value = polarity.category
    certainty = polarity.certainty if polarity and value in (POSSIBLE, PRESENT) else None
    return Assertion(value, historical, certainty, rules)


def _token_range(tokens: list[Token], start: int, end: int) -> tuple[int, int]:
    first = next((i for i, t in enumerate(tokens) if t.end > start), len(tokens))
    last = next((i for i, t in enumerate(tokens) if t.start >= end), len(tokens))
    return first, max(first, last)


def _overlaps(hit: Hit, inside: list[int]) -> bool:
    return any(hit.first <= t < hit.last for t in inside)


def _clause_breaks(text: str, tokens: list[Token]) -> list[int]:
    """Token indexes that start a new clause: after a semicolon."""
    breaks = []
    for i in range(1, len(tokens)):
        if ";" in text[tokens[i - 1].end:tokens[i].start]:
            breaks.append(i)
    return breaks
