"""Assertion status of finding mentions: ConText-style triggers with direction and scope.

Each mention gets one i2b2-2010 value (present, absent, possible, conditional,
hypothetical, associated_with_someone_else) plus ``historical``. Triggers come from
``mappings/context.yaml``.

Scope rules, in the spirit of ConText (Harkema et al. 2009):
- a trigger reaches forward (or backward) within its clause: a semicolon, the sentence
  end, a terminating trigger ("but", "however", "given") or a pseudo-trigger ("no
  change") ends it. Terminators can be limited to one direction ("is seen" ends forward
  scopes only) or to some categories ("with" ends the reach of "status post");
- triggers work in independent dimensions (polarity, hypothetical, conditional,
  experiencer, history); within one dimension the nearest trigger wins, so in "possible
  effusion without pneumothorax" the pneumothorax is absent, not possible. "Consistent
  with"-type triggers are weak: a farther negation or hedge still wins ("no findings
  consistent with pneumonia", "possibly reflecting bronchitis");
- a literal with both a forward and a backward reading ("likely", "unlikely") reads
  backward only when nothing but the clause end, a terminator or another trigger follows
  it ("atelectasis, likely." / "pneumonia unlikely given ..."); otherwise forward
  ("opacity, likely atelectasis");
- the subject of a clause is reached by a backward trigger however long the clause
  ("Focal consolidation in either lung, including ..., is not seen").
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
    "absent": "polarity",
    "possible": "polarity",
    "present": "polarity",
    "hypothetical": "hypothetical",
    "conditional": "conditional",
    "someone_else": "experiencer",
    "historical": "history",
}
_DIMENSIONS = ("polarity", "hypothetical", "conditional", "experiencer", "history")
_DEFAULT_BACKWARD_SCOPE = 10
_SUBJECT_WINDOW = 2  # a target this close to its clause start is the clause's subject


class Trigger(NamedTuple):
    rule: str
    category: str
    direction: str | None
    certainty: str | None
    historical: bool
    max_scope: int | None
    transparent: bool
    ends: frozenset[str]  # terminate: the dimensions it ends (all when empty)


class Assertion(NamedTuple):
    assertion: str
    historical: bool
    certainty: str | None  # level on the certainty scale, when a hedge or "consistent with" set it
    rules: tuple[str, ...]  # ids of the context entries that decided it


class ContextRules:
    def __init__(self, entries: list[dict]):
        pairs = []
        for e in entries:
            ends = frozenset(_DIMENSION[c] for c in e.get("ends", []))
            trigger = Trigger(
                e["id"],
                e["category"],
                e.get("direction"),
                e.get("certainty"),
                bool(e.get("historical")),
                e.get("max_scope"),
                bool(e.get("transparent")),
                ends,
            )
            pairs += [(lit, trigger, False) for lit in e["literals"]]
        self._lexicon: Lexicon[Trigger] = Lexicon(pairs)

    def assert_spans(
        self, text: str, start: int, end: int, targets: list[tuple[int, int]]
    ) -> list[Assertion]:
        """Assertions for ``targets`` (character spans) within the sentence text[start:end]."""
        tokens = tokenize(text[start:end], start)
        spans = [_token_range(tokens, a, b) for a, b in targets]
        inside = frozenset(t for a, b in spans for t in range(a, b))
        # triggers never reach into a finding ("no focal consolidation": "no", not "no focal")
        hits = self._lexicon.find(tokens, stop=inside)
        inner = self._lexicon.find(tokens) if inside else []
        breaks = _after(text, tokens, ";")
        commas = _after(text, tokens, ",")
        return [
            self._decide(tokens, hits, inner, spans, i, breaks, commas) for i in range(len(spans))
        ]

    def _decide(self, tokens, hits, inner, spans, index, breaks, commas) -> Assertion:
        first, last = spans[index]
        chosen: dict[str, Trigger] = {}
        # triggers written inside the target itself apply to it ("old healed fracture")
        for hit in inner:
            if hit.first >= first and hit.last <= last:
                for trig in hit.values:
                    if trig.category in _DIMENSION:
                        chosen.setdefault(_DIMENSION[trig.category], trig)
        clause_start = max((b for b in breaks if b <= first), default=0)
        subject = first - clause_start <= _SUBJECT_WINDOW
        before = [h for h in hits if h.last <= first]
        after = [h for h in hits if h.first >= last]
        forward = self._scan(
            before[::-1],
            first,
            breaks,
            hits,
            backward=False,
            subject=False,
            n_tokens=len(tokens),
            commas=commas,
        )
        backward = self._scan(
            after,
            last,
            breaks,
            hits,
            backward=True,
            subject=subject,
            n_tokens=len(tokens),
            commas=commas,
        )
        for dim in _DIMENSIONS:
            trig = chosen.get(dim) or forward.get(dim) or backward.get(dim)
            if trig:
                chosen[dim] = trig
        # a strong polarity (negation, hedge) beats a weak "consistent with" on the other side
        if chosen.get("polarity") and chosen["polarity"].category == PRESENT:
            other = (
                backward.get("polarity")
                if forward.get("polarity") is chosen["polarity"]
                else forward.get("polarity")
            )
            if other and other.category != PRESENT:
                chosen["polarity"] = other
        return _combine(chosen)

    def _scan(
        self, hits, edge, breaks, all_hits, *, backward, subject, n_tokens, commas
    ) -> dict[str, Trigger]:
        found: dict[str, Trigger] = {}
        weak: tuple[Trigger, int] | None = None  # a "consistent with" trigger and where it was
        ended: set[str] = set()
        wanted = ("backward", "bidirectional") if backward else ("forward", "bidirectional")
        for hit in hits:
            lo, hi = (edge, hit.first) if backward else (hit.last, edge)
            if any(lo <= b <= hi for b in breaks):
                break
            stops = [
                t
                for t in hit.values
                if t.category in ("terminate", "pseudo")
                and (t.direction in (None, "bidirectional") or t.direction in wanted)
            ]
            if any(t.category == "terminate" and not t.ends for t in stops):
                break
            if any(t.category == "pseudo" and not t.transparent for t in stops):
                break
            distance = hi - lo
            blocks = set()
            for trig in hit.values:
                dim = _DIMENSION.get(trig.category)
                if dim is None:
                    continue
                blocks.add(dim)
                if dim in found or dim in ended or trig.direction not in wanted:
                    continue
                scope = trig.max_scope
                if backward and scope is None and not subject:
                    scope = _DEFAULT_BACKWARD_SCOPE
                if scope is not None and distance > scope:
                    continue
                if (
                    backward
                    and trig.direction == "backward"
                    and _reads_forward(hit, all_hits, breaks, n_tokens)
                ):
                    continue
                if trig.category == PRESENT:
                    # weak: a farther negation or hedge in the same phrase still wins
                    # ("no findings consistent with"), but not across a comma
                    weak = weak or (trig, hit.first if not backward else hit.last)
                    blocks.discard(dim)
                    continue
                if (
                    dim == "polarity"
                    and weak is not None
                    and _comma_between(commas, weak[1], hit, backward)
                ):
                    continue
                found[dim] = trig
            # the nearest trigger of a dimension hides farther ones of the same dimension
            ended |= {d for d in blocks if d in found}
            for t in stops:
                ended |= t.ends
        if "polarity" not in found and weak is not None:
            found["polarity"] = weak[0]
        return found


def _comma_between(commas: list[int], weak_at: int, hit: Hit, backward: bool) -> bool:
    lo, hi = (weak_at, hit.first) if backward else (hit.last, weak_at)
    return any(lo <= c <= hi for c in commas)


def _reads_forward(hit: Hit, hits: list[Hit], breaks: list[int], n_tokens: int) -> bool:
    """A literal with a forward reading reads forward unless the clause ends right after it."""
    if not any(t.direction == "forward" for t in hit.values):
        return False
    nxt = hit.last
    if nxt >= n_tokens or nxt in breaks:
        return False
    follower = next((h for h in hits if h.first == nxt), None)
    return follower is None


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


def _after(text: str, tokens: list[Token], mark: str) -> list[int]:
    """Indexes of the tokens that follow ``mark`` (";" starts a new clause; "," a new phrase)."""
    return [i for i in range(1, len(tokens)) if mark in text[tokens[i - 1].end : tokens[i].start]]
