"""Spanish: every lay text exists in Spanish, and Spanish explanations read at 6th grade
or easier by the Fernández-Huerta scale (benchmarks/quality.py prints the figures)."""

from __future__ import annotations

import re

import pytest

from benchmarks import metrics
from benchmarks.readability_es import fernandez_huerta, grade, syllables
from tests.conftest import DATA


@pytest.mark.parametrize(
    ("word", "count"),
    [
        ("una", 2),  # hyphenation dictionaries say 1: they never split off one letter
        ("aire", 2),
        ("computadora", 5),
        ("radiografía", 5),  # stressed í: hiatus
        ("poeta", 3),  # two strong vowels: hiatus
        ("ciudad", 2),  # weak + strong: one diphthong
        ("estudio", 3),
        ("que", 1),  # silent u
        ("pingüino", 3),  # ü is spoken
        ("muy", 1),
        ("y", 1),
        ("reúne", 3),
    ],
)
def test_spanish_syllables_follow_the_vowel_rules(word, count):
    assert syllables(word) == count


def test_fernandez_huerta_ranks_plain_text_above_dense_text():
    plain = "El pulmón está bien. No hay aire fuera del pulmón. Su médico le dirá más."
    dense = (
        "La radiografía posteroanterior evidencia opacificación parenquimatosa "
        "heterogénea con broncograma aéreo, compatible con consolidación neumónica."
    )
    assert fernandez_huerta(plain) >= 80 > 30 > fernandez_huerta(dense)
    assert grade(75) == "6th grade" and grade(55) == "above 8th grade"


@pytest.fixture(scope="module")
def spanish_docs(explain, corpus):
    return [explain(r["text"], "es") for r in corpus]


def test_spanish_explanations_read_at_grade_6(spanish_docs):
    r = metrics.readability_es(spanish_docs)
    assert r["median"] >= 70, r  # 6th grade or easier
    assert r["p05"] >= 60, r  # the hardest 5% no harder than 7th-8th grade


def test_spanish_explanations_are_in_spanish(spanish_docs):
    """Nothing falls back to English: chrome, summaries and items all come out Spanish."""
    english = {"the", "report", "your", "doctor", "this", "with"}
    for doc in spanish_docs:
        # medical terms keep the report's (English) words in brackets; leave those out
        text = re.sub(r"\([^)]*\)", " ", metrics.lay_text(doc).lower())
        assert not set(re.findall(r"\w+", text)) & english, text[:300]
        assert doc["language"] == "es"


def test_every_lay_text_has_spanish(mappings):
    for kind in ("glossary", "phrases", "rads", "questions", "templates", "ui", "density"):
        for entry in getattr(mappings, kind):
            for key in ("lay", "text", "lay_term"):
                if isinstance(entry.get(key), dict) and "en" in entry[key]:
                    assert entry[key].get("es"), f"{entry['id']}: {key} has no Spanish"


def test_held_out_impressions_in_spanish(explain):
    import yaml

    held = yaml.safe_load((DATA / "corpus" / "heldout_impressions.yaml").read_text("utf-8"))
    r = metrics.readability_es([explain("IMPRESSION:\n" + h["text"], "es") for h in held])
    assert r["median"] >= 70, r
