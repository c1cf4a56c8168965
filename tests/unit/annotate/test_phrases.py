"""The gated phrase matcher finds exactly what one big alternation would, only faster."""

import re

from service.annotate.phrases import PhraseMatcher, _gate
from service.annotate.sentences import sentences


def _naive(entries, text, start, end):
    patterns = sorted(((p, e) for e in entries for p in e["patterns"]), key=lambda pe: -len(pe[0]))
    spaced = ["(" + p.replace(" ", r"\s+") + ")" for p, _ in patterns]
    regex = re.compile(r"\b(?:" + "|".join(spaced) + r")\b", re.IGNORECASE)
    return [
        (m.start(), m.end(), patterns[m.lastindex - 1][1]["id"])
        for m in regex.finditer(text, start, end)
    ]


def test_same_hits_as_a_single_alternation_on_the_corpus(mappings, corpus):
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
