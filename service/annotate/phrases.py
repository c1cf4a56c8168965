"""Find stock phrases ("clinical correlation recommended") in report text, fast.

Phrase patterns are regular expressions from ``mappings/phrases.yaml``. One alternation
of hundreds of patterns is slow in Python's backtracking engine, so each pattern is
gated by a literal it cannot match without (worked out from the parsed pattern): a
sentence is searched only with the patterns whose literal it contains. Overlaps resolve
leftmost first, and at the same start the longest match wins.
"""

from __future__ import annotations

import re
from re import _constants as C  # noqa: N812
from re import _parser as sre_parse
from typing import NamedTuple


class PhraseHit(NamedTuple):
    start: int
    end: int
    entry: dict


def _gate(seq) -> tuple[str, ...]:
    """Literals of which every match of ``seq`` contains at least one (empty: no gate).

    Candidates are the literal runs of the sequence, and the gates of its groups,
    repeats and alternations; the best is the one whose shortest literal is longest.
    """
    options: list[tuple[str, ...]] = []
    run = ""
    for op, av in seq:
        if op is C.LITERAL:
            run += chr(av).lower()
            continue
        if op is C.IN and len(av) == 1 and av[0][0] is C.LITERAL:
            run += chr(av[0][1]).lower()
            continue
        if run:
            options.append((run,))
            run = ""
        if op is C.SUBPATTERN:
            options.append(_gate(av[-1]))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
            options.append(_gate(av[2]))
        elif op is C.BRANCH:
            alternatives = [_gate(alt) for alt in av[1]]
            if all(alternatives):
                options.append(tuple(sorted({lit for alt in alternatives for lit in alt})))
    if run:
        options.append((run,))
    options = [o for o in options if o]
    if not options:
        return ()
    return max(options, key=lambda o: (min(map(len, o)), -len(o)))


class PhraseMatcher:
    def __init__(self, entries: list[dict]):
        patterns = sorted(
            # context variants (``variant_of``) have no patterns: phrase_context.py reads them
            ((p, e) for e in entries for p in e.get("patterns", ())),
            key=lambda pe: -len(pe[0]),
        )
        self._patterns: list[tuple[str, dict]] = []
        self._gates: dict[str, set[int]] = {}  # literal -> indexes of the patterns it gates
        self._always: list[int] = []
        for index, (pattern, entry) in enumerate(patterns):
            # a space in a pattern also matches a line break in wrapped report text
            spaced = pattern.replace(" ", r"\s+")
            self._patterns.append((spaced, entry))
            gate = _gate(sre_parse.parse(spaced, re.IGNORECASE))
            if gate and min(map(len, gate)) >= 2:
                for literal in gate:
                    self._gates.setdefault(literal, set()).add(index)
            else:
                self._always.append(index)
        # compiled on first use: a one-report CLI run needs only a few patterns
        self._compiled: dict[int, re.Pattern] = {}

    def _regex(self, index: int) -> re.Pattern:
        regex = self._compiled.get(index)
        if regex is None:
            pattern = self._patterns[index][0]
            regex = self._compiled[index] = re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)
        return regex

    def find(self, text: str, start: int, end: int) -> list[PhraseHit]:
        lowered = text[start:end].lower()
        candidates = set(self._always)
        for literal, indexes in self._gates.items():
            if literal in lowered:
                candidates |= indexes
        found = []
        for index in candidates:
            for m in self._regex(index).finditer(text, start, end):
                found.append((m.start(), index, m.end()))
        hits, reached = [], -1
        # leftmost, then the longest match: "post-procedure mammogram" is one phrase, not "post"
        for begin, _, stop, index in sorted((b, -(e - b), e, i) for b, i, e in found):
            if begin >= reached:
                hits.append(PhraseHit(begin, stop, self._patterns[index][1]))
                reached = stop
        return hits
