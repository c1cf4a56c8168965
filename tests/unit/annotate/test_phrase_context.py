"""Stock phrases whose meaning depends on what is around them (phrases.yaml variants)."""

import pytest

from service.annotate.source_text import from_plain


def _phrase(doc, phrase_id):
    found = [p for p in doc["phrases"] if p["id"] == phrase_id]
    assert len(found) == 1, doc["phrases"]
    return found[0]


def _lay_of(doc, phrase):
    """The lay sentence the patient reads for this phrase."""
    return next(
        s
        for i in doc["items"]
        for s in i["sentences"]
        if s["start"] == phrase["start"] and phrase["id"] in s["mapping_ids"]
    )


def _explain(explainer, report, lang="en"):
    return explainer.explain(from_plain(report), lang=lang)


# -- "clinical correlation recommended" -------------------------------------------------


def test_clinical_correlation_on_its_own_is_a_routine_hand_off(explainer):
    doc = _explain(
        explainer, "IMPRESSION:\nMild degenerative changes. Clinical correlation recommended."
    )
    p = _phrase(doc, "phrase.clinical_correlation")
    assert "context" not in p
    assert doc["urgency"] == "routine"
    assert _lay_of(doc, p)["mapping_ids"] == ["phrase.clinical_correlation"]


@pytest.mark.parametrize(
    "impression",
    [
        "3 cm mass in the pancreatic head. Clinical correlation recommended.",
        "Findings are suspicious for lymphoma; clinical correlation is recommended.",
        "Sclerotic lesion concerning for malignancy. Correlate clinically.",
        "1. Irregular 1.4 cm mass, BI-RADS 4B.\n2. Clinical correlation recommended.",
        "Solid 9 mm nodule, Lung-RADS 4A. Clinical correlation recommended.",
        "Right thyroid nodule, TI-RADS TR5. Clinical correlation recommended.",
    ],
)
def test_clinical_correlation_beside_a_suspicious_finding_asks_for_prompt_follow_up(
    explainer, impression
):
    doc = _explain(explainer, "IMPRESSION:\n" + impression)
    p = _phrase(doc, "phrase.clinical_correlation")
    assert p["context"] == "phrase.clinical_correlation_concerning"
    sentence = _lay_of(doc, p)
    assert "soon" in sentence["text"]
    assert sentence["mapping_ids"] == [
        "phrase.clinical_correlation_concerning",
        "phrase.clinical_correlation",
    ]
    assert doc["urgency"] in ("soon", "urgent", "critical")


@pytest.mark.parametrize(
    "impression",
    [
        "No suspicious mass. Clinical correlation recommended.",
        "No evidence of malignancy. Clinical correlation recommended.",
        "Benign-appearing calcifications, BI-RADS 2. Clinical correlation recommended.",
        "Rule out mass. Clinical correlation recommended.",
    ],
)
def test_clinical_correlation_beside_a_negated_or_benign_finding_stays_routine(
    explainer, impression
):
    doc = _explain(explainer, "IMPRESSION:\n" + impression)
    p = _phrase(doc, "phrase.clinical_correlation")
    assert "context" not in p
    assert p.get("urgency") is None


def test_clinical_correlation_far_from_the_mass_stays_routine(explainer):
    doc = _explain(
        explainer,
        "IMPRESSION:\n1. 3 cm mass in the liver.\n2. Small hiatal hernia.\n"
        "3. Clinical correlation recommended.",
    )
    assert "context" not in _phrase(doc, "phrase.clinical_correlation")


# -- "no acute findings" ----------------------------------------------------------------


def test_no_acute_findings_on_its_own_keeps_its_plain_reading(explainer):
    doc = _explain(explainer, "IMPRESSION:\nNo acute findings.")
    assert "context" not in _phrase(doc, "phrase.no_acute")


def test_no_acute_findings_with_no_other_finding_present_keeps_its_plain_reading(explainer):
    doc = _explain(explainer, "IMPRESSION:\nNo acute findings. No fracture or pneumothorax.")
    assert "context" not in _phrase(doc, "phrase.no_acute")


@pytest.mark.parametrize(
    "impression",
    [
        "No acute findings. Chronic small vessel ischemic changes.",
        "No acute intracranial abnormality. Old right frontal infarct.",
        "No acute findings. Small hiatal hernia.",
        "No acute abnormality. Incidental 5 mm gallbladder polyp.",
    ],
)
def test_no_acute_findings_beside_other_findings_says_not_a_perfect_scan(explainer, impression):
    doc = _explain(explainer, "IMPRESSION:\n" + impression)
    p = next(x for x in doc["phrases"] if x["meaning"] == "no_acute")
    assert p["context"] == "phrase.no_acute_beside_other_findings"
    text = _lay_of(doc, p)["text"]
    assert "urgent" in text and "perfect" in text
    # the other findings are explained too
    assert any(f["assertion"] == "present" for f in doc["findings"])


# -- "stable" / "unchanged" with a comparison date ----------------------------------------


def test_stable_with_a_date_names_what_was_compared_and_when(explainer):
    doc = _explain(explainer, "IMPRESSION:\nStable 6 mm pulmonary nodule compared to 01/02/2023.")
    p = _phrase(doc, "phrase.stable")
    assert p["context"] == "phrase.stable_since_date"
    text = _lay_of(doc, p)["text"]
    assert "01/02/2023" in text
    assert "good sign" in text
    nodule = next(f for f in doc["findings"] if "nodule" in f["text"])
    assert nodule["lay_term"].lower() in text.lower()


def test_unchanged_with_the_date_in_the_comparison_section(explainer):
    doc = _explain(
        explainer,
        "COMPARISON: CT abdomen March 3, 2022.\nIMPRESSION:\nUnchanged 2 cm simple renal cyst.",
    )
    p = _phrase(doc, "phrase.unchanged")
    assert p["context"] == "phrase.stable_since_date"
    assert "March 3, 2022" in _lay_of(doc, p)["text"]


def test_stable_without_any_date_keeps_its_plain_reading(explainer):
    doc = _explain(explainer, "IMPRESSION:\nStable 6 mm pulmonary nodule.")
    assert "context" not in _phrase(doc, "phrase.stable")


def test_stable_variant_is_written_in_spanish_too(explainer):
    doc = _explain(
        explainer, "IMPRESSION:\nStable 6 mm pulmonary nodule compared to 01/02/2023.", lang="es"
    )
    text = _lay_of(doc, _phrase(doc, "phrase.stable"))["text"]
    assert "01/02/2023" in text and "buena señal" in text


# -- "communicated to Dr. ... at ..." / STAT --------------------------------------------


@pytest.mark.parametrize(
    "impression, phrase_id",
    [
        ("Communicated to Dr. Smith at 14:32.", "phrase.findings_communicated"),
        (
            "Findings were discussed with Dr. Lee by telephone at 3:15 pm.",
            "phrase.findings_communicated",
        ),
        ("Findings called STAT to Dr. Lee.", "phrase.findings_communicated"),
        ("Dr. Patel was notified. Results called, STAT.", "phrase.stat"),
    ],
)
def test_a_timed_or_stat_call_says_the_radiologist_called_because_it_needed_quick_care(
    explainer, impression, phrase_id
):
    doc = _explain(explainer, "IMPRESSION:\nSmall pneumothorax. " + impression)
    p = next(x for x in doc["phrases"] if x["id"] == phrase_id and "context" in x)
    text = _lay_of(doc, p)["text"]
    assert "called your doctor" in text and "quick care" in text
    item = next(i for i in doc["items"] if i["start"] <= p["start"] < i["end"])
    assert item["actionable"] is True


def test_stat_as_the_exam_priority_is_not_a_call(explainer):
    doc = _explain(explainer, "IMPRESSION:\nCT head STAT. No acute intracranial abnormality.")
    p = _phrase(doc, "phrase.stat")
    assert "context" not in p
    assert "called your doctor" not in _lay_of(doc, p)["text"]


def test_results_sent_through_the_record_keep_the_plain_reading(explainer):
    doc = _explain(explainer, "IMPRESSION:\nFindings communicated electronically via the EHR.")
    assert "context" not in _phrase(doc, "phrase.findings_communicated")
