"""Incidental findings: recognition, inputs, the white paper's rule, and what it depends on.

The labelled sentences in tests/data/incidental/ carry the accuracy goal; these tests pin
the behaviours one by one, each able to fail on its own.
"""

import json
import re

import pytest
import textstat

from benchmarks import metrics
from service.annotate.source_text import from_plain
from tests.conftest import DATA


def _doc(explainer, text, context="", patient=None, lang="en"):
    report = (context + "\n" if context else "") + "IMPRESSION:\n" + text
    return explainer.explain(from_plain(report), lang=lang, patient=patient)


def _only(doc):
    assert len(doc["incidental"]) == 1, doc["incidental"]
    return doc["incidental"][0]


def _items(name):
    path = DATA / "incidental" / name
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


# -- the labelled set ------------------------------------------------------------------


def test_labelled_set_is_large_and_covers_every_finding_and_kind():
    items = _items("sentences.jsonl")
    assert len(items) >= 150
    kinds = {i["kind"] for i in items}
    assert {"edge", "missing", "negated", "historical", "hypothetical", "units"} <= kinds
    findings = {e["finding"] for i in items for e in i["expected"]}
    for organ in (
        "adrenal",
        "renal",
        "liver",
        "pancreas_cyst",
        "thyroid",
        "adnexal_cyst",
        "aaa",
        "spleen",
        "gallbladder_polyp",
    ):
        assert f"incidental.{organ}" in findings


def test_recommended_follow_up_is_right_for_98_percent_of_labelled_sentences(explainer):
    items = _items("sentences.jsonl")
    docs = [
        explainer.explain(from_plain(metrics.incidental_document(i)), patient=i.get("patient"))
        for i in items
    ]
    scores = metrics.incidental_scores(items, docs)
    assert scores["accuracy"] >= 0.98, scores["wrong"]
    assert scores["recommendations_for_absent"] == 0, scores["wrong"]


# -- polarity: no recommendation for what is not there ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "No adrenal nodule.",
        "No evidence of abdominal aortic aneurysm.",
        "The adrenal glands are normal without nodule or mass.",
        "History of right adrenal adenoma, resected in 2018.",
        "Known pancreatic cyst, previously resected.",
        "Rule out abdominal aortic aneurysm.",
        "Family history of adrenal mass.",
        "Patient's mother had an ovarian cyst.",
    ],
)
def test_negated_historical_hypothetical_or_family_mentions_get_no_recommendation(explainer, text):
    doc = _doc(explainer, text)
    assert doc["incidental"] == []
    assert doc["incidental_not_current"], "the mention is still recognised, with a reason"


def test_negated_worrisome_feature_is_not_a_worrisome_feature(explainer):
    with_nodule = _only(_doc(explainer, "8 mm pancreatic cyst with a mural nodule."))
    without = _only(_doc(explainer, "8 mm pancreatic cyst without mural nodule."))
    assert with_nodule["action"] == "eus_fna"
    assert (without["action"], without["interval"]) == ("mri", "2 years")


def test_possible_finding_gets_the_recommendation(explainer):
    rec = _only(
        _doc(explainer, "Possible 1.6 cm right adrenal nodule, 40 HU. No history of cancer.")
    )
    assert (rec["action"], rec["interval"]) == ("ct", "12 months")
    assert rec["assertion"] == "possible"


# -- thresholds, units and inputs -----------------------------------------------------


@pytest.mark.parametrize(
    "size, interval",
    [("2.4 cm", None), ("2.5 cm", "5 years"), ("30 mm", "3 years"), ("5.5 cm", "3-6 months")],
)
def test_aaa_bands_are_inclusive_at_their_lower_edge_in_mm_or_cm(explainer, size, interval):
    rec = _only(_doc(explainer, f"Abdominal aortic aneurysm measuring {size}."))
    assert rec["interval"] == interval
    assert rec["action"] == ("none" if interval is None else "imaging")


def test_aaa_over_5_5_cm_is_a_referral(explainer):
    assert _only(_doc(explainer, "5.6 cm AAA."))["action"] == "specialist_referral"


def test_size_is_the_largest_dimension_in_cm(explainer):
    rec = _only(_doc(explainer, "IPMN measuring 2.4 x 1.8 cm."))
    assert rec["inputs"]["size_cm"] == 2.4
    assert rec["interval"] == "1 year"


def test_each_finding_takes_the_size_nearest_to_it(explainer):
    doc = _doc(explainer, "4.1 cm AAA and a 7 mm gallbladder polyp.")
    by_finding = {r["finding_id"]: r for r in doc["incidental"]}
    assert by_finding["incidental.aaa"]["inputs"]["size_cm"] == 4.1
    assert by_finding["incidental.gallbladder_polyp"]["inputs"]["size_cm"] == 0.7


def test_missing_age_is_named_instead_of_guessed(explainer):
    rec = _only(_doc(explainer, "1.2 cm thyroid nodule.", "EXAM: CT chest with contrast."))
    assert rec["action"] == "depends_on_inputs"
    assert rec["interval"] is None
    assert rec["missing_inputs"] == ["age"]
    assert {o["action"] for o in rec["options"]} == {"ultrasound", "none"}


def test_missing_input_that_would_not_change_the_step_is_not_asked_for(explainer):
    rec = _only(_doc(explainer, "1.7 cm thyroid nodule.", "EXAM: CT chest with contrast."))
    assert rec["action"] == "ultrasound"
    assert rec["missing_inputs"] == []
    assert rec["inputs"]["not_needed"] == ["age"]


def test_age_from_the_report_text_decides_the_thyroid_threshold(explainer):
    young = _only(_doc(explainer, "1.2 cm thyroid nodule.", "HISTORY: 28-year-old with cough."))
    older = _only(_doc(explainer, "1.2 cm thyroid nodule.", "HISTORY: 40-year-old with cough."))
    assert young["action"] == "ultrasound"
    assert older["action"] == "none"


def test_fhir_patient_age_wins_over_the_report_text(explainer):
    rec = _only(
        _doc(explainer, "1.2 cm thyroid nodule.", "HISTORY: 28-year-old.", patient={"age": 50})
    )
    assert rec["inputs"]["age"] == 50
    assert rec["action"] == "none"


def test_missing_menopausal_status_is_named(explainer):
    rec = _only(_doc(explainer, "4 cm simple left ovarian cyst."))
    assert rec["action"] == "depends_on_inputs"
    assert rec["missing_inputs"] == ["menopause"]


def test_menopausal_status_from_the_report_decides_the_adnexal_threshold(explainer):
    post = _only(_doc(explainer, "4 cm simple left ovarian cyst.", "HISTORY: Postmenopausal."))
    pre = _only(_doc(explainer, "4 cm simple left ovarian cyst.", "HISTORY: Premenopausal."))
    assert (post["action"], post["interval"]) == ("ultrasound", "1 year")
    assert pre["action"] == "none"


def test_unenhanced_attenuation_of_10_hu_or_less_means_a_benign_adrenal_adenoma(explainer):
    low = _only(_doc(explainer, "2.5 cm left adrenal nodule measuring 10 HU on unenhanced CT."))
    high = _only(_doc(explainer, "2.5 cm left adrenal nodule measuring 11 HU on unenhanced CT."))
    assert low["action"] == "none"
    assert high["action"] == "depends_on_inputs"
    assert high["missing_inputs"] == ["cancer_history"]


def test_attenuation_after_contrast_is_not_read_as_unenhanced(explainer):
    rec = _only(
        _doc(explainer, "1.5 cm left adrenal nodule measuring 8 HU on portal venous phase.")
    )
    assert "hu_unenhanced" not in rec["inputs"]
    assert rec["action"] == "depends_on_inputs"


def test_cancer_history_from_the_indication(explainer):
    rec = _only(
        _doc(explainer, "8 mm hepatic hypodensity.", "INDICATION: Staging of colon cancer.")
    )
    assert (rec["action"], rec["interval"]) == ("mri", "3-6 months")
    assert rec["inputs"]["cancer_history"] is True


def test_family_history_of_cancer_is_not_the_patients_cancer(explainer):
    rec = _only(
        _doc(explainer, "8 mm hepatic hypodensity.", "HISTORY: Family history of breast cancer.")
    )
    assert "cancer_history" not in rec["inputs"]


def test_a_ti_rads_category_leaves_the_thyroid_nodule_to_ti_rads(explainer):
    doc = _doc(explainer, "1.6 cm thyroid nodule, ACR TI-RADS TR4.", "HISTORY: 50-year-old.")
    assert doc["incidental"] == []
    assert doc["incidental_not_current"][0]["reason"] == "managed by TI-RADS"


def test_incidental_thyroid_rule_is_not_used_on_a_thyroid_ultrasound(explainer):
    doc = _doc(explainer, "1.8 cm thyroid nodule.", "EXAM: US thyroid.")
    assert doc["incidental"] == []


def test_size_stated_only_in_findings_is_used_for_the_impression(explainer):
    report = (
        "FINDINGS:\nThere is a 3.6 cm infrarenal abdominal aortic aneurysm.\n"
        "IMPRESSION:\nAbdominal aortic aneurysm.\n"
    )
    rec = _only(explainer.explain(from_plain(report)))
    assert rec["interval"] == "2 years"
    assert "inputs_from" in rec["inputs"]


def test_attenuation_stated_only_in_findings_is_used_for_the_impression(explainer):
    report = (
        "INDICATION: No history of cancer.\n"
        "FINDINGS:\nAdrenals: 1.6 cm left adrenal nodule measuring 35 HU.\n"
        "IMPRESSION:\n1.6 cm left adrenal nodule, indeterminate.\n"
    )
    rec = _only(explainer.explain(from_plain(report)))
    assert (rec["action"], rec["interval"]) == ("ct", "12 months")
    assert rec["inputs"]["hu_unenhanced"] == 35


def test_generic_noun_is_read_with_its_organ_word(explainer):
    rec = _only(_doc(explainer, "1.3 cm nodule in the left thyroid lobe.", "HISTORY: 22-year-old."))
    assert rec["finding_id"] == "incidental.thyroid"


def test_generic_noun_with_two_organs_in_the_sentence_is_not_guessed(explainer):
    doc = _doc(explainer, "1.2 cm lesion between the liver and the right kidney.")
    assert doc["incidental"] == []


# -- output shape, traceability, language -------------------------------------------


def test_every_incidental_lay_sentence_points_at_its_span_and_mapping_entries(explainer):
    doc = _doc(explainer, "4.4 cm AAA.")
    rec = _only(doc)
    by_id = explainer.m.by_id()
    lay = [
        s
        for i in doc["items"]
        for s in i["sentences"]
        if rec["mapping_id"] in s["mapping_ids"]
        and not s["mapping_ids"][0].startswith("template.next")
    ]
    assert lay, "the rule's lay text is in the item"
    for sentence in lay:
        assert (sentence["start"], sentence["end"]) == (rec["start"], rec["end"])
        assert all(i in by_id for i in sentence["mapping_ids"])
    assert rec["basis"].startswith("ACR Incidental Findings Committee")
    assert rec["actionable"] is True


def test_depends_lay_text_names_what_is_missing_in_both_languages(explainer):
    en = _doc(explainer, "4 cm simple left ovarian cyst.")
    es = _doc(explainer, "4 cm simple left ovarian cyst.", lang="es")
    assert "menopause" in en["items"][-1]["lay"]
    assert "menopausia" in es["items"][-1]["lay"]


NEW_TEMPLATES = ("template.incidental", "template.next", "template.context")


def test_every_new_lay_text_reads_at_grade_6_or_below(explainer):
    """Incidental entries, their templates and the phrase context variants."""
    m = explainer.m
    texts = [(e["id"], e["lay"]["en"]) for e in m.incidental if "lay" in e]
    texts += [(e["id"], e["text"]["en"]) for e in m.templates if e["id"].startswith(NEW_TEMPLATES)]
    texts += [(e["id"], e["lay"]["en"]) for e in m.phrases if "variant_of" in e]
    assert len(texts) >= 100
    for entry_id, text in texts:
        if len(text.split()) < 4:
            continue  # a fragment ("your age") has no grade of its own
        assert textstat.flesch_kincaid_grade(text) <= 6.0, entry_id


def test_every_incidental_entry_has_spanish_and_a_citation(explainer):
    for e in explainer.m.incidental:
        if e["kind"] != "input":
            assert e["lay"]["es"].strip()
        assert re.match(r"^https?://", e["source"]["url"])
        assert e["review"]["status"] in ("draft", "unverified")


# -- actionable or not ----------------------------------------------------------------


def test_item_with_a_follow_up_is_actionable_and_says_what_happens_next(explainer):
    doc = _doc(explainer, "4.4 cm AAA.")
    item = doc["items"][-1]
    assert item["actionable"] is True
    assert item["sentences"][-1]["mapping_ids"][0] == "incidental.aaa.4_0_to_4_4cm"
    # the recommendation says what comes next; a generic sentence would only repeat it
    assert not any("template.next.actionable" in s["mapping_ids"] for s in item["sentences"])
    assert any(f["actionable"] for f in doc["findings"])


def test_critical_item_is_not_told_its_next_step_is_a_routine_visit(explainer):
    for text in ("Large right pneumothorax.", "Findings communicated to Dr. Lee at 14:05."):
        for item in _doc(explainer, text)["items"]:
            assert "template.next.actionable" not in item["mapping_ids"], item["lay"]


def test_item_needing_nothing_is_not_actionable_and_says_so(explainer):
    doc = _doc(explainer, "5 mm gallbladder polyp.")
    item = doc["items"][-1]
    assert item["actionable"] is False
    assert item["sentences"][-1]["mapping_ids"] == ["template.next.routine"]


def test_unexplained_item_gets_no_nothing_to_do_sentence(explainer):
    doc = explainer.explain(from_plain("IMPRESSION:\nZzyzx qwerty."))
    item = doc["items"][-1]
    assert item["actionable"] is False
    assert all("template.next.routine" not in s["mapping_ids"] for s in item["sentences"])


def test_critical_finding_is_actionable(explainer):
    doc = _doc(explainer, "Large right pneumothorax.")
    assert doc["items"][-1]["actionable"] is True


def test_negated_finding_is_never_actionable(explainer):
    doc = _doc(explainer, "No pneumothorax.")
    assert all(not f["actionable"] for f in doc["findings"])


def test_a_repaired_aneurysm_gets_no_surveillance_advice(explainer):
    """Treated is not incidental: an endograft in place is followed by its own schedule."""
    for text in (
        "Interval repair of the abdominal aortic aneurysm with endograft in place.",
        "4.6 cm abdominal aortic aneurysm, endograft in place.",
    ):
        assert _doc(explainer, text)["incidental"] == [], text
    assert _doc(explainer, "Infrarenal AAA measuring 4.6 cm.")["incidental"]
