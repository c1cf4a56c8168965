"""Recognise RADS categories (BI-RADS, Lung-RADS, TI-RADS, ...) in report text.

How each system is written lives in ``mappings/rads_systems.yaml``; which categories
exist lives in ``mappings/rads/``. A label is reported only when, once normalised
(Roman or Arabic numerals, letter case, prefix), it is a category the system defines.

What is deliberately *not* reported as a current category: a hedged range ("BI-RADS
3-4", "LR-3 vs LR-4"), a negated or historical mention ("no LR-5 observation", "prior
BI-RADS 4"), the first half of a change ("from Lung-RADS 4A to 3"), a bare "Category 3"
unless the exam title says which system it is, and TI-RADS point totals, which are
turned into their level ("TI-RADS 5 points" is TR4).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace

from .assertions import ABSENT, HYPOTHETICAL, SOMEONE_ELSE, ContextRules
from .followup import tirads_level
from .sentences import sentences

_FLAGS = re.IGNORECASE
_WORDS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6"}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6}
_TO_ROMAN = {v: k.upper() for k, v in _ROMAN.items()}
_VERSION = (
    r"(?:\s*(?:v(?:ersion)?\.?\s*\d+(?:\.\d+)?(?!\d)|\(?\s*(?:version\s*)?(?:19|20)\d\d\s*\)?"
    r"|\d+(?:st|nd|rd|th)\s+ed(?:ition)?\.?"
    r"|\d\.\d\b(?=\s*(?:category|cat|assessment|score|[:\-–]))))?"
)
_MODALITY_TAG = r"(?:\s*\((?:ct|mri?|pet|us|ct/pet|pet/ct|ct/mri?)\))?"
_KEYWORD = (
    r"(?:\s*(?:final\s+|overall\s+)?(?:assessment\s+)?(?:risk\s+)?"
    r"(?:category|cat\.?|assessment|total\s+score|total|score|level|grade|type|"
    r"class(?:ification)?)(?:\s+of)?)?"
)
_SEPARATOR = r"\s*[:=\-–—]?\s*"
_HEDGE = r"\s*(?:-|–|—|/|\bor\b|\bvs\.?|\bversus\b|\bto\b)\s*"
_CHANGE_BEFORE = re.compile(
    r"(?:\bfrom|\bpreviously|\bprior|\bformerly|\bwas)\s+(?:an?\s+|the\s+)?$", _FLAGS
)
_LATERALITY = re.compile(r"\b(right|left|bilateral)\b", _FLAGS)
_LESION = re.compile(
    r"\b(nodule|observation|lesion|mass|finding|cyst|site|area|target)\s*(?:#|no\.?\s*)?"
    r"(\d{1,2}|[A-H])\b(?!\s*(?:mm|cm))",
    _FLAGS,
)
_POINTS = r"(?P<points>\d{1,2})\s*(?:points?|pts)\b"


@dataclass(frozen=True)
class RadsHit:
    system: str
    category: str
    start: int
    end: int
    variant: str | None = None
    modifiers: tuple[str, ...] = ()
    points: int | None = None
    hedged: bool = False
    current: bool = True  # False when negated, historical, hypothetical or replaced
    laterality: str | None = None
    lesion: str | None = None
    via: str = "name"  # name | code | label_first | context | wording | points
    why_not_current: str | None = None


@dataclass
class _System:
    name: str
    entry: dict
    categories: dict[str | None, set[str]] = field(default_factory=dict)
    named: re.Pattern | None = None
    label_first: re.Pattern | None = None
    codes: list[re.Pattern] = field(default_factory=list)
    hedge: re.Pattern | None = None
    chain: re.Pattern | None = None
    name_only: re.Pattern | None = None
    to: re.Pattern | None = None
    context: re.Pattern | None = None
    bare: re.Pattern | None = None
    wording_re: re.Pattern | None = None
    wording: list[str] = field(default_factory=list)  # category of each wording alternative


class RadsRecognizer:
    def __init__(
        self, systems: list[dict], rads: list[dict], tirads: list[dict], context: ContextRules
    ):
        self._context = context
        self._tirads = tirads
        self._systems: list[_System] = []
        for entry in systems:
            sys_ = _System(entry["system"], entry)
            for cat in rads:
                if cat["system"] == entry["system"]:
                    sys_.categories.setdefault(cat.get("variant"), set()).add(cat["category"])
            names = "|".join(entry["names"])
            label = entry["label"]
            variants = entry.get("variants") or {}
            variant_re = "|".join(sorted(map(re.escape, variants), key=len, reverse=True))
            variant_part = (
                rf"(?:{_SEPARATOR}[\s\-]*\(?(?P<variant>{variant_re})\)?(?!\w){_VERSION})?"
                if variants
                else ""
            )
            mods = entry.get("modifiers")
            mods_part = rf"(?P<mods>{mods})?" if mods else ""
            points_part = (
                rf"(?:{_KEYWORD}{_SEPARATOR}{_POINTS}|" if entry["system"] == "TI-RADS" else "(?:"
            )
            # "K-TIRADS" and "EU-TIRADS" are other systems: no letter or letter-hyphen before
            name = rf"(?:\bacr\s+)?(?<![A-Za-z]-)(?<![A-Za-z])(?:{names})\b\s*[®™]?"
            sys_.named = re.compile(
                rf"{name}{_MODALITY_TAG}{_VERSION}{variant_part}{points_part}{_KEYWORD}{_SEPARATOR}"
                rf"(?<!\d)(?P<label>{label})(?![\w.]\d)){mods_part}(?!\w)",
                _FLAGS,
            )
            sys_.name_only = re.compile(name, _FLAGS)
            sys_.label_first = re.compile(
                rf"\b(?:category|cat\.?)\s+(?P<label>{label})\s*\(?\s*{name}", _FLAGS
            )
            sys_.codes = [re.compile(c + (mods_part or ""), _FLAGS) for c in entry.get("codes", [])]
            sys_.hedge = re.compile(
                rf"{_HEDGE}(?:{name}\s*)?(?P<label>(?:(?:lr|tr)\s?-?\s?)?(?:{label}))(?!\w)", _FLAGS
            )
            sys_.to = re.compile(
                rf"\s+to\s+(?:{name}{_KEYWORD}\s*)?(?:category\s*)?(?P<label>{label})(?!\w)", _FLAGS
            )
            if entry.get("chain"):
                sys_.chain = re.compile(
                    rf"\s*(?:\([^)]{{0,80}}\))?\s*(?:[,;/]\s*(?:and\s+)?|\s+and\s+|\s+)"
                    rf"{variant_part}{_KEYWORD}\s*[:\-]?\s*(?P<label>{label})(?!\w)",
                    _FLAGS,
                )
            if entry.get("exam_context"):
                sys_.context = re.compile("|".join(entry["exam_context"]), _FLAGS)
                sys_.bare = re.compile(
                    rf"\b(?:(?:final|overall)\s+)?(?:assessment\s*)?(?:category|cat\.?)\s*[:\-]?\s*"
                    rf"(?P<label>{label})(?!\w)",
                    _FLAGS,
                )
            wordings = entry.get("wording") or {}
            if wordings:
                # one scan for every wording; which one matched is read off the group index
                words = "|".join(f"({w})" for w in wordings)
                sys_.wording_re = re.compile(
                    rf"(?:\b(?:(?:final|overall)\s+)?(?:assessment|impression)\s*[:\-]\s*"
                    rf"(?:(?:category\s*)?\d[a-c]?\s*[:\-–]\s*)?|^[ \t]*)(?P<word>{words})\b",
                    _FLAGS | re.MULTILINE,
                )
                sys_.wording = list(wordings.values())
            self._systems.append(sys_)
        # one pass tells which systems' names or codes appear (codes without their groups)
        self._anchor = re.compile(
            "|".join(
                f"(?P<s{i}>"
                + "|".join(sys_.entry["names"] + [_anchor_of(c.pattern) for c in sys_.codes])
                + ")"
                for i, sys_ in enumerate(self._systems)
            ),
            _FLAGS,
        )
        # anything a system name or code could start with; without it (and without an
        # exam that names a system) there is nothing to find
        self._quick = re.compile(
            r"rads|bosniak|\blr\s?-?\s?(?:\d|m\b|tiv|nc|tr)|\btr\s?-?\s?\d", _FLAGS
        )

    # -- normalising ------------------------------------------------------------------
    def _normalise(self, sys_: _System, label: str, variant: str | None) -> str | None:
        form = sys_.entry["form"]
        raw = re.sub(r"[\s\-]+", "", label.strip().lower())
        prefix = {"LI-RADS": "lr", "TI-RADS": "tr"}.get(sys_.name)
        if prefix and raw.startswith(prefix):
            raw = raw[len(prefix) :]
        if raw in _WORDS:
            raw = _WORDS[raw]
        if sys_.name == "C-RADS":  # the C or E is part of the category
            category = raw.upper()
        elif sys_.name == "LI-RADS" and raw.startswith("tr"):  # treatment response
            state = {"nonviable": "Nonviable", "equivocal": "Equivocal", "viable": "Viable"}.get(
                raw[2:]
            )
            category = f"LR-TR {state}" if state else None
        else:
            m = re.fullmatch(r"(?P<num>\d|[ivx]+)?(?P<letters>[a-z]*)", raw)
            if not m:
                return None
            num, letters = m.group("num"), m.group("letters")
            if num and not num.isdigit():
                if num not in _ROMAN:
                    # "iv" vs "i" + "v": a Roman numeral followed by a letter suffix
                    return None
                num = str(_ROMAN[num])
            if form["numerals"] == "roman" and num:
                num = _TO_ROMAN.get(int(num))
            letters = letters.upper() if form["letter"] == "upper" else letters.lower()
            category = form["prefix"] + (num or "") + letters
        allowed = (
            sys_.categories.get(variant) or set().union(*sys_.categories.values())
            if sys_.categories
            else set()
        )
        return category if category in allowed else None

    @staticmethod
    def _variant(sys_: _System, word: str | None) -> str | None:
        return (sys_.entry.get("variants") or {}).get(word.lower()) if word else None

    # -- finding ----------------------------------------------------------------------
    def find(self, text: str, start: int, end: int, exam: str = "") -> list[RadsHit]:
        by_exam = self._exam_systems(exam)
        if not by_exam and not self._quick.search(text, start, end):
            return []
        hits: list[RadsHit] = []
        lines: dict = {}  # each line split into sentences once, however many hits it holds
        # spans taken so far, sorted by start, and the longest: an overlap check looks only
        # at spans starting within that length before it (thousands of hits: no n^2 scan)
        taken_starts: list[int] = []
        taken_ends: list[int] = []
        longest = 0

        def free(a: int, b: int) -> bool:
            lo = bisect_left(taken_starts, a - longest)
            hi = bisect_left(taken_starts, b)
            return not any(taken_ends[i] > a for i in range(lo, hi))

        def add(hit: RadsHit) -> None:
            nonlocal longest
            hits.append(hit)
            k = bisect_right(taken_starts, hit.start)
            taken_starts.insert(k, hit.start)
            taken_ends.insert(k, hit.end)
            longest = max(longest, hit.end - hit.start)

        # only systems whose name or code is written here are worth their full patterns
        named_here = {m.lastgroup for m in self._anchor.finditer(text, start, end)}
        active = [sys_ for i, sys_ in enumerate(self._systems) if f"s{i}" in named_here]
        for sys_ in active:
            for m in sys_.named.finditer(text, start, end):
                if not free(m.start(), m.end()):
                    continue
                variant = self._variant(sys_, m.groupdict().get("variant"))
                if m.groupdict().get("points"):
                    points = int(m.group("points"))
                    level = tirads_level(points, self._tirads)
                    if level:
                        add(
                            RadsHit(
                                sys_.name, level, m.start(), m.end(), points=points, via="points"
                            )
                        )
                    continue
                category = self._normalise(sys_, m.group("label"), variant)
                if category is None:
                    continue
                mods = _modifiers(m.groupdict().get("mods"))
                add(
                    self._with_followers(
                        sys_,
                        text,
                        end,
                        RadsHit(sys_.name, category, m.start(), m.end(), variant, mods),
                        hits,
                        add,
                    )
                )
            for m in sys_.label_first.finditer(text, start, end):
                if free(m.start(), m.end()):
                    category = self._normalise(sys_, m.group("label"), None)
                    if category:
                        add(RadsHit(sys_.name, category, m.start(), m.end(), via="label_first"))
            for code in sys_.codes:
                for m in code.finditer(text, start, end):
                    if free(m.start(), m.end()) and self._code_allowed(sys_, text, m, exam, lines):
                        variant = self._variant(sys_, m.groupdict().get("variant"))
                        category = self._normalise(sys_, m.group("label"), variant)
                        if category:
                            add(
                                self._with_followers(
                                    sys_,
                                    text,
                                    end,
                                    RadsHit(
                                        sys_.name,
                                        category,
                                        m.start(),
                                        m.end(),
                                        modifiers=_modifiers(m.groupdict().get("mods")),
                                        via="code",
                                    ),
                                    hits,
                                    add,
                                )
                            )
        self._from_exam_context(text, start, end, by_exam, hits, free, add)
        hits.sort(key=lambda h: h.start)
        return [self._in_context(text, h, lines) for h in _without_restatements(text, hits)]

    def _code_allowed(self, sys_: _System, text: str, m: re.Match, exam: str, lines: dict) -> bool:
        need = sys_.entry.get("codes_need")
        if not need:
            return True
        a, b = _sentence_of(text, m.start(), m.end(), lines)
        if sys_.name_only.search(text, a, b):
            return True
        return (
            need == "name_or_exam" and sys_.context is not None and bool(sys_.context.search(exam))
        )

    def _with_followers(
        self, sys_: _System, text: str, end: int, hit: RadsHit, hits, add
    ) -> RadsHit:
        """Hedges, changes ('from 4A to 3') and chained labels ('Primary 2a, Neck 1')."""
        after = hit.end
        hedge = sys_.hedge.match(text, after, end)
        before = text[max(0, hit.start - 24) : hit.start]
        if _CHANGE_BEFORE.search(before):
            to = sys_.to.match(text, after, end)
            if to:
                category = self._normalise(sys_, to.group("label"), hit.variant)
                if category:
                    add(
                        RadsHit(
                            sys_.name,
                            category,
                            to.start("label"),
                            to.end(),
                            hit.variant,
                            via=hit.via,
                        )
                    )
                return _replace(hit, current=False, why_not_current="changed")
        out_of = sys_.entry.get("out_of")
        if (
            hedge
            and out_of
            and hit.category == out_of
            and re.fullmatch(rf"\s*/\s*{out_of}", text[after : hedge.end()])
        ):
            # "PI-RADS 5/5" is five out of five; "4/5" could be a range, so it stays hedged
            return _replace(hit, end=hedge.end())
        if hedge:
            # both ends of a range are hedged; the second is consumed here
            other = self._normalise(sys_, hedge.group("label"), hit.variant) or hit.category
            add(
                RadsHit(
                    sys_.name,
                    other,
                    hedge.start("label"),
                    hedge.end(),
                    hit.variant,
                    hedged=True,
                    current=False,
                    why_not_current="hedged range",
                    via=hit.via,
                )
            )
            return _replace(hit, hedged=True, current=False, why_not_current="hedged range")
        if sys_.chain is not None:
            pos = after
            while True:
                link = sys_.chain.match(text, pos, end)
                if not link:
                    break
                variant = self._variant(sys_, link.groupdict().get("variant")) or None
                category = self._normalise(sys_, link.group("label"), variant)
                if category is None:
                    break
                add(
                    RadsHit(
                        sys_.name, category, link.start("label"), link.end(), variant, via=hit.via
                    )
                )
                pos = link.end()
        return hit

    def _exam_systems(self, exam: str) -> list[_System]:
        """Systems the exam title points to (a mammogram: BI-RADS)."""
        return [s for s in self._systems if s.context is not None and s.context.search(exam)]

    def _from_exam_context(self, text, start, end, candidates, hits, free, add) -> None:
        """A bare 'Category 3' or MQSA wording counts only when the exam says which system."""
        named = {h.system for h in hits}
        if len(candidates) != 1 or (named and named != {candidates[0].name}):
            return
        sys_ = candidates[0]
        for m in sys_.bare.finditer(text, start, end):
            if free(m.start(), m.end()):
                category = self._normalise(sys_, m.group("label"), None)
                if category:
                    add(
                        self._with_followers(
                            sys_,
                            text,
                            end,
                            RadsHit(sys_.name, category, m.start(), m.end(), via="context"),
                            hits,
                            add,
                        )
                    )
        if sys_.wording_re is None:
            return
        for m in sys_.wording_re.finditer(text, start, end):
            if free(m.start("word"), m.end("word")):
                # groups: 1 is "word", then one per wording in order
                which = next(i for i, g in enumerate(m.groups()[1:]) if g is not None)
                add(
                    RadsHit(
                        sys_.name,
                        sys_.wording[which],
                        m.start("word"),
                        m.end("word"),
                        via="wording",
                    )
                )

    def _in_context(self, text: str, hit: RadsHit, lines: dict) -> RadsHit:
        lat = lesion = None
        line_start = text.rfind("\n", 0, hit.start) + 1
        window = text[max(line_start, hit.start - 90) : hit.start]
        for m in _LATERALITY.finditer(window):
            lat = m.group(1).lower()
        for m in _LESION.finditer(window):
            lesion = f"{m.group(1).lower()} {m.group(2)}"
        hit = _replace(hit, laterality=lat, lesion=lesion)
        if not hit.current or hit.via == "wording":  # an assessment statement is current by form
            return hit
        a, b = _sentence_of(text, hit.start, hit.end, lines)
        # the category's own descriptor ("BI-RADS 1: Negative") is part of it, not a negation
        desc = _DESCRIPTOR.match(text, hit.end, b)
        span_end = desc.end() if desc else hit.end
        assertion = self._context.assert_spans(
            text, a, b, [(hit.start, span_end)], ignore_inside=True
        )[0]
        if assertion.assertion in (ABSENT, HYPOTHETICAL, SOMEONE_ELSE) or assertion.historical:
            reason = "historical" if assertion.historical else assertion.assertion
            return _replace(hit, current=False, why_not_current=reason)
        return hit


_DESCRIPTOR = re.compile(r"\s*(?:[:\-–—]|\()[^.;\n]{0,80}")
_RESTATED = re.compile(
    r"[\s,;:()\-–]*(?:\d{1,2}\s*(?:points?|pts)[\s,;:()\-–]*)?(?:acr\s+)?(?:ti[-\s]?rads\s*)?",
    _FLAGS,
)


def _without_restatements(text: str, hits: list[RadsHit]) -> list[RadsHit]:
    """'TI-RADS 4 (TR4)' and '7 points, TR5' state one result, not two."""
    out: list[RadsHit] = []
    for hit in hits:
        prev = out[-1] if out else None
        if (
            prev
            and prev.system == hit.system
            and prev.category == hit.category
            and prev.current
            and 0 <= hit.start - prev.end <= 24
            and _RESTATED.fullmatch(text, prev.end, hit.start)
        ):
            out[-1] = _replace(prev, end=max(prev.end, hit.end))
            continue
        out.append(hit)
    return out


def _anchor_of(code: str) -> str:
    """A code pattern loosened into a cheap anchor: no named groups, no lookbehinds."""
    return re.sub(r"\(\?<[!=][^)]*\)", "", re.sub(r"\(\?P<\w+>", "(?:", code))


def _sentence_of(text: str, start: int, end: int, lines: dict) -> tuple[int, int]:
    """The sentence around text[start:end]. ``lines`` caches each line's sentences for one
    find(): split again for every hit, a long line with many hits costs quadratic time."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    split = lines.get((line_start, line_end))
    if split is None:
        spans = sentences(text, line_start, line_end)  # sorted, disjoint
        split = lines[line_start, line_end] = (spans, [a for a, _ in spans])
    spans, starts = split
    k = bisect_right(starts, start) - 1  # the last sentence starting at or before ``start``
    if k >= 0 and start < spans[k][1]:
        return spans[k][0], max(spans[k][1], end)
    return line_start, line_end


def _modifiers(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(p.upper() for p in re.findall(r"p[1-4]|hrp|i[+\-±]?|s|g|e", raw, _FLAGS))


def _replace(hit: RadsHit, **changes) -> RadsHit:
    return replace(hit, **changes)
