"""The gated phrase matcher finds exactly what trying every pattern would, only faster."""

import re

from service.annotate.phrases import PhraseMatcher, _gate
from service.annotate.sentences import sentences


def _naive(entries, text, start, end):
    """Every pattern, no gate: all matches, then leftmost-longest without overlaps."""
    found = []
    for entry in entries:
        for pattern in entry.get("patterns", ()):  # context variants have none
            regex = re.compile(r"\b(?:" + pattern.replace(" ", r"\s+") + r")\b", re.IGNORECASE)
            found += [
                (m.start(), -(m.end() - m.start()), m.end(), entry["id"])
                for m in regex.finditer(text, start, end)
            ]
    hits, reached = [], -1
    for begin, _, stop, entry_id in sorted(found):
        if begin >= reached:
            hits.append((begin, stop, entry_id))
            reached = stop
    return hits


def test_gating_never_changes_the_hits_on_the_corpus(mappings, corpus):
    matcher = PhraseMatcher(mappings.phrases)
    checked = 0
    for report in corpus:
        text = report["text"]
        for a, b in sentences(text, 0, len(text)):
            got = [(h.start, h.end, h.entry["id"]) for h in matcher.find(text, a, b)]
            assert got == _naive(mappings.phrases, text, a, b), text[a:b]
            checked += 1
    assert checked > 1000


def test_gate_is_a_literal_every_match_must_contain():
    from re import _parser as p

    # the longest literal that must be there wins: "correlation" over "clinical"
    assert _gate(p.parse(r"clinical(?:ly)?\s+correlation", re.I)) == ("correlation",)
    assert set(_gate(p.parse(r"(?:stable|unchanged)\s+nodule", re.I))) == {"nodule"}
    assert set(_gate(p.parse("(?:stable|unchanged)", re.I))) == {"stable", "unchanged"}


def test_clinical_correlation_variants(mappings):
    matcher = PhraseMatcher(mappings.phrases)
    for text in (
        "Clinical correlation is recommended.",
        "Recommend clinical correlation.",
        "Correlate clinically.",
    ):
        hits = matcher.find(text, 0, len(text))
        assert [h.entry["meaning"] for h in hits] == ["hand_off"], text
