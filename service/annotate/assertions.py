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
from .sentences import has_break, sentences
from .tokens import Tokens, tokenize

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
    "stable": "stability",
}
_DEFAULT_BACKWARD_SCOPE = 10
_FORWARD = ("forward", "bidirectional")
_BACKWARD = ("backward", "bidirectional")
_STOPS = ("terminate", "pseudo")
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


class TriggerGroup:
    """The triggers that share one literal, with what a scan needs worked out once."""

    __slots__ = ("triggers", "stop", "ends", "reads", "blocks", "forward_reading", "weak")

    def __init__(self, triggers: tuple[Trigger, ...]):
        self.triggers = triggers
        self.stop: dict[bool, bool] = {}  # backward? -> ends every scope in that direction
        self.ends: dict[bool, frozenset[str]] = {}  # backward? -> dimensions it ends
        # backward? -> (dimension, trigger) pairs that read in that direction
        self.reads: dict[bool, tuple[tuple[str, Trigger], ...]] = {}
        # backward? -> dimensions a trigger pointing the other way closes: a backward
        # "negative" does not reach over a forward "not" ("PI-RADS 3 and does not meet
        # criteria for PI-RADS 4 (DCE negative)")
        self.blocks: dict[bool, frozenset[str]] = {}
        for backward in (False, True):
            wanted = _BACKWARD if backward else _FORWARD
            stops = [
                t
                for t in triggers
                if t.category in _STOPS
                and (t.direction in (None, "bidirectional") or t.direction in wanted)
            ]
            self.stop[backward] = any(
                (t.category == "terminate" and not t.ends)
                or (t.category == "pseudo" and not t.transparent)
                for t in stops
            )
            self.ends[backward] = frozenset().union(*(t.ends for t in stops))
            self.reads[backward] = tuple(
                (_DIMENSION[t.category], t)
                for t in triggers
                if t.category in _DIMENSION and t.direction in wanted
            )
            self.blocks[backward] = frozenset(
                _DIMENSION[t.category]
                for t in triggers
                if t.category in _DIMENSION and t.category != PRESENT and t.direction not in wanted
            )
        self.forward_reading = any(t.direction == "forward" for t in triggers)
        self.weak = any(t.category == PRESENT for t in triggers)


class Assertion(NamedTuple):
    assertion: str
    historical: bool
    certainty: str | None  # level on the certainty scale, when a hedge or "consistent with" set it
    rules: tuple[str, ...]  # ids of the context entries that decided it
    stable: bool = False  # described as unchanged, improving, chronic or known


_PLAIN = Assertion("present", False, None, ())


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
        self._lexicon: Lexicon[Trigger] = Lexicon(pairs, combine=TriggerGroup)

    def assert_spans(
        self,
        text: str,
        start: int,
        end: int,
        targets: list[tuple[int, int]],
        ignore_inside: bool = False,
    ) -> list[Assertion]:
        """Assertions for ``targets`` (character spans) within the sentence text[start:end].

        ``ignore_inside``: triggers written inside a target do not apply to it (a RADS
        category's own descriptor, "BI-RADS 1: Negative", is not a negation).
        """
        if len(targets) == 1:
            tokens, first, last = Tokens.around(text, start, end, targets[0])
            spans = [(first, last)]
        else:
            tokens = tokenize(text, start, end)
            spans = [_token_range(tokens, a, b) for a, b in targets]
        inner = self._lexicon.find(tokens)
        if not inner:
            return [_PLAIN] * len(spans)
        # triggers never reach into a finding ("no focal consolidation": "no", not "no focal")
        hits = inner
        for h in inner:
            if any(h.first < b and a < h.last for a, b in spans):
                hits = self._lexicon.find(
                    tokens, stop=frozenset(t for a, b in spans for t in range(a, b))
                )
                break
        breaks = _after(text, tokens, ";")
        # commas matter only to a weak "consistent with" trigger
        commas = _after(text, tokens, ",") if any(h.values.weak for h in hits) else []
        return [
            self._decide(tokens, hits, [] if ignore_inside else inner, spans, i, breaks, commas)
            for i in range(len(spans))
        ]

    def assert_one(self, text: str, start: int, end: int) -> Assertion:
        """The assertion of one given span of ``text``, judged within its sentence."""
        if not has_break(text):  # the usual case: the text is one sentence
            return self.assert_spans(text, 0, len(text), [(start, end)])[0]
        first, last = start, end
        for a, b in sentences(text, 0, len(text)):
            if a <= start < b or a < end <= b:
                first, last = min(first, a), max(last, b)
        return self.assert_spans(text, first, last, [(start, end)])[0]

    def _decide(self, tokens, hits, inner, spans, index, breaks, commas) -> Assertion:
        first, last = spans[index]
        # triggers written inside the target itself apply to it ("old healed fracture")
        inside: dict[str, Trigger] = {}
        for hit in inner:
            if hit.first >= first and hit.last <= last:
                for trig in hit.values.triggers:
                    dim = _DIMENSION.get(trig.category)
                    if dim:
                        inside.setdefault(dim, trig)
        before, after = [], []
        for h in hits:
            if h.last <= first:
                before.append(h)
            elif h.first >= last:
                after.append(h)
        before.reverse()
        n = len(tokens)
        forward = self._scan(before, first, breaks, hits, False, False, n, commas)
        clause_start = max([b for b in breaks if b <= first], default=0) if breaks else 0
        subject = first - clause_start <= _SUBJECT_WINDOW
        backward = self._scan(after, last, breaks, hits, True, subject, n, commas)
        if not (inside or forward or backward):
            return _PLAIN
        chosen = {**backward, **forward, **inside}  # inside, then forward, then backward
        # a strong polarity (negation, hedge) beats a weak "consistent with" on the other side
        polarity = chosen.get("polarity")
        if polarity and polarity.category == PRESENT:
            fwd = forward.get("polarity")
            other = backward.get("polarity") if fwd is polarity else fwd
            if other and other.category != PRESENT:
                chosen["polarity"] = other
        return _combine(chosen)

    def _scan(
        self, hits, edge, breaks, all_hits, backward, subject, n_tokens, commas
    ) -> dict[str, Trigger]:
        found: dict[str, Trigger] = {}
        if not hits:
            return found
        weak: tuple[Trigger, int] | None = None  # a "consistent with" trigger and where it was
        ended: set[str] = set()
        for hit in hits:
            group: TriggerGroup = hit.values
            lo, hi = (edge, hit.first) if backward else (hit.last, edge)
            if breaks and any(lo <= b <= hi for b in breaks):
                break
            distance = hi - lo
            for dim, trig in group.reads[backward]:
                if dim in found or dim in ended:
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
                    continue
                if (
                    dim == "polarity"
                    and weak is not None
                    and _comma_between(commas, weak[1], hit, backward)
                ):
                    continue
                found[dim] = trig
            # a terminator ends the scan after its own readings ("stable" is both a
            # terminator and a stability trigger); hits come nearest first, so a
            # dimension already in ``found`` keeps its nearest trigger
            if group.stop[backward]:
                break
            if group.blocks[backward]:
                ended |= group.blocks[backward]
            if group.ends[backward]:
                ended |= group.ends[backward]
        if "polarity" not in found and weak is not None:
            found["polarity"] = weak[0]
        return found


def _comma_between(commas: list[int], weak_at: int, hit: Hit, backward: bool) -> bool:
    lo, hi = (weak_at, hit.first) if backward else (hit.last, weak_at)
    return any(lo <= c <= hi for c in commas)


def _reads_forward(hit: Hit, hits: list[Hit], breaks: list[int], n_tokens: int) -> bool:
    """A literal with a forward reading reads forward unless the clause ends right after it."""
    if not hit.values.forward_reading:
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
    return Assertion(value, historical, certainty, rules, "stability" in chosen)


def _token_range(tokens: Tokens, start: int, end: int) -> tuple[int, int]:
    first = tokens.count_before(start)
    return first, first + tokens.count_between(start, end)


def _after(text: str, tokens: Tokens, mark: str) -> list[int]:
    """Indexes of the tokens that follow ``mark`` (";" starts a new clause; "," a new phrase)."""
    pos = text.find(mark, tokens.start, tokens.end)
    if pos < 0:
        return []
    out = []
    while pos >= 0:
        index = tokens.count_before(pos)
        if 0 < index < len(tokens) and (not out or out[-1] != index):
            out.append(index)
        pos = text.find(mark, pos + 1, tokens.end)
    return out
