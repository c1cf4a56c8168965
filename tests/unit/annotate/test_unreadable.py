"""No clinical claim from a word OCR could not read reliably (per-word confidence)."""

import re

import pytest

from service import mappings
from service.annotate.explain import Explainer
from service.annotate.source_text import AnalysedText, Word

REPORT = (
    "EXAM: CT CHEST\n"
    "IMPRESSION:\n"
    "1. No pneumothorax.\n"
    "2. Small right pleural effusion.\n"
    "3. BI-RADS 4. Breasts are extremely dense."
)


@pytest.fixture(scope="module")
def explainer():
    return Explainer(mappings.default())


def _read(text: str, low: set[str], threshold: float = 60.0) -> AnalysedText:
    """The text as if OCR had read it: every word 95% sure, those in ``low`` 20% sure."""
    words = tuple(
        Word(m.start(), m.end(), 20.0 if m.group().strip(".:") in low else 95.0)
        for m in re.finditer(r"\S+", text)
    )
    return AnalysedText(
        text, "ocr", document={"reading": "ocr"}, words=words, min_confidence=threshold
    )


def test_an_unsure_negation_makes_no_claim_about_the_finding(explainer):
    doc = explainer.explain(_read(REPORT, {"No"}))
    item = doc["items"][0]
    assert [s["mapping_ids"] for s in item["sentences"]] == [["template.item.unreadable"]]
    assert not any(f["text"] == "pneumothorax" for f in doc["findings"])
    assert "pneumothorax" not in item["lay"].lower()


def test_an_unsure_finding_word_is_declined_and_the_rest_explained(explainer):
    doc = explainer.explain(_read(REPORT, {"effusion"}))
    texts = {f["text"] for f in doc["findings"]}
    assert "pleural effusion" not in texts and "effusion" not in texts
    assert any(f["text"] == "pneumothorax" and f["assertion"] == "absent" for f in doc["findings"])
    assert doc["items"][1]["sentences"][0]["mapping_ids"] == ["template.item.unreadable"]
    assert "template.summary.unreadable" in doc["summary_mapping_ids"]


def test_an_unsure_category_number_gives_no_rads_category(explainer):
    doc = explainer.explain(_read(REPORT, {"4"}))
    assert doc["rads"] == []


def test_an_unsure_density_word_gives_no_density_statement(explainer):
    doc = explainer.explain(_read(REPORT, {"dense"}))
    assert doc["breast_density"] is None


def test_confident_words_are_explained_as_typed_text_is(explainer):
    read = explainer.explain(_read(REPORT, set()))
    typed = explainer.explain(AnalysedText(REPORT, "ocr"))
    assert read["items"] == typed["items"]
    assert read["source"]["document"]["low_confidence"] == []
    assert read["source"]["document"]["mean_confidence"] == 95.0


def test_low_confidence_words_are_listed_in_the_source(explainer):
    doc = explainer.explain(_read(REPORT, {"effusion"}))
    [low] = doc["source"]["document"]["low_confidence"]
    assert low["text"] == "effusion." and doc["text"][low["start"] : low["end"]] == "effusion."
    assert low["confidence"] == 20.0 and doc["source"]["document"]["min_confidence"] == 60.0


def test_explaining_again_in_another_language_keeps_unreadable_words_unexplained(explainer):
    from service.annotate.source_text import from_explanation

    english = explainer.explain(_read(REPORT, {"effusion"}))
    spanish = explainer.explain(from_explanation(english), "es")
    assert spanish["items"][1]["sentences"][0]["mapping_ids"] == ["template.item.unreadable"]
    assert not any("effusion" in f["text"] for f in spanish["findings"])
    assert spanish["source"] == english["source"]
