"""The Explanation document: safety, traceability and the contract other parts rely on."""

import re

from service import mappings
from service.annotate.source_text import from_report
from tests.conftest import fhir_example

CONTRACT_FIELDS = {
    "text",
    "impression",
    "summary",
    "items",
    "findings",
    "rads",
    "glossary",
    "urgency",
    "language",
}


def _finding(doc, term):
    return [f for f in doc["findings"] if f["text"].lower() == term.lower()]


def test_document_has_the_contract_fields(explain):
    doc = explain("IMPRESSION: No acute cardiopulmonary process.")
    assert doc.keys() >= CONTRACT_FIELDS
    assert doc["language"] == "en" and doc["urgency"] in {"routine", "soon", "urgent", "critical"}


def test_no_pneumothorax_is_never_explained_as_a_pneumothorax(explain):
    doc = explain("IMPRESSION:\n1. No pneumothorax.\n2. Lines and tubes in standard position.")
    [ptx] = _finding(doc, "pneumothorax")
    assert ptx["assertion"] == "absent"
    assert ptx["critical"] is False and doc["urgency"] == "routine"
    lay = doc["items"][0]["lay"].lower()
    assert "no sign of" in lay
    assert "can need care right away" not in doc["summary"].lower()


def test_present_critical_finding_sets_critical_urgency(explain):
    doc = explain(
        "IMPRESSION: Large right pneumothorax. Findings communicated to Dr. Lee at 14:32."
    )
    [ptx] = _finding(doc, "pneumothorax")
    assert ptx["assertion"] == "present" and ptx["critical"] is True
    assert doc["urgency"] == "critical"
    assert doc["summary"].startswith("The report names a finding that can need care right away.")


def test_possible_critical_finding_raises_urgency(explain):
    doc = explain("IMPRESSION: Findings suspicious for acute appendicitis.")
    assert doc["urgency"] in {"urgent", "critical"}


def test_hypothetical_or_historical_critical_finding_does_not_raise_urgency(explain):
    for text in (
        "IMPRESSION: If symptoms persist, repeat imaging to assess for pulmonary embolism.",
        "IMPRESSION: History of pulmonary embolism. No acute findings.",
    ):
        doc = explain(text)
        assert doc["urgency"] in {"routine", "soon"}, text


def test_indication_only_finding_is_not_a_finding(explain):
    doc = explain(
        "INDICATION: Cough, rule out pneumonia.\nIMPRESSION: Clear lungs. No acute process."
    )
    assert not _finding(doc, "pneumonia")
    assert all(f["start"] >= doc["impression"]["start"] for f in doc["findings"])


def test_every_lay_sentence_traces_to_a_span_and_existing_mapping_entries(
    explain, mappings, corpus
):
    known = mappings.by_id().keys()
    for report in corpus[:60]:
        doc = explain(report["text"])
        for item in doc["items"]:
            assert item["sentences"], report["id"]
            for s in item["sentences"]:
                assert 0 <= s["start"] < s["end"] <= len(doc["text"])
                assert s["mapping_ids"] and set(s["mapping_ids"]) <= known, (report["id"], s)


def test_findings_spans_index_into_the_returned_text(explain, corpus):
    for report in corpus:
        doc = explain(report["text"])
        for f in doc["findings"] + doc["glossary"]:
            key = "text" if "text" in f else "term"
            assert doc["text"][f["start"] : f["end"]] == f[key], report["id"]


def _numbers(text):
    return set(re.findall(r"\d+(?:\.\d+)?", text))


def test_lay_text_invents_no_numbers(explain, corpus, mappings):
    """A number in a lay sentence comes from the report or from the cited mapping entry."""
    entries = mappings.by_id()

    def entry_numbers(ids):
        return set().union(*(_numbers(str(entries[i])) for i in ids if i in entries))

    for report in corpus:
        doc = explain(report["text"])
        allowed = _numbers(doc["text"])
        for item in doc["items"]:
            for s in item["sentences"]:
                invented = _numbers(s["text"]) - allowed - entry_numbers(s["mapping_ids"])
                assert not invented, (report["id"], s)


def test_items_follow_the_impression_order(explain):
    doc = explain(
        "IMPRESSION:\n1. Small left pleural effusion.\n2. No pneumothorax.\n3. Mild cardiomegaly."
    )
    assert [i["text"] for i in doc["items"]] == [
        "Small left pleural effusion.",
        "No pneumothorax.",
        "Mild cardiomegaly.",
    ]
    assert [i["priority"] for i in doc["items"]] == [1, 2, 3]


def test_output_is_deterministic(explain, corpus):
    for report in corpus[:30]:
        assert explain(report["text"]) == explain(report["text"])


def test_two_to_four_questions(explain, corpus):
    for report in corpus:
        assert 2 <= len(explain(report["text"])["questions"]) <= 4, report["id"]


def test_report_without_impression_is_explained_whole_and_says_so(explain):
    doc = explain("Mild degenerative changes of the lumbar spine. No fracture.")
    assert doc["impression"] is None
    assert "explained the whole report" in doc["summary"]
    assert len(doc["items"]) == 2


def test_conclusion_is_used_when_the_body_has_no_impression(explainer):
    doc = explainer.explain(
        from_report(fhir_example("body-without-impression-plus-conclusion.json"))
    )
    assert doc["impression"]["source"] == "conclusion"
    assert doc["impression"]["text"] == "Cholelithiasis without cholecystitis."
    [stone] = _finding(doc, "Cholelithiasis")
    assert stone["assertion"] == "present"


def test_disclaimer_is_always_there(explain):
    assert "does not replace your doctor" in explain("IMPRESSION: Normal study.")["disclaimer"]


def test_hostile_html_in_report_text_is_only_text(explain):
    from service.render import Renderer

    doc = explain("IMPRESSION: <script>alert(1)</script> No <img src=x onerror=alert(2)> effusion.")
    html = Renderer(mappings.default().ui).html(doc)
    assert "<script>" not in html and "<img" not in html


def test_glossary_matches_variants_abbreviations_and_locatives(explain):
    text = (
        "IMPRESSION: Bilateral effusions and an effusion. Atelectatic change and atelectasis. "
        "Opacities and an opacity. COPD. CHF. SVC. PICC in place. ET tube and NG tube. "
        "Bibasilar, perihilar and retrocardiac opacity. Blunted costophrenic angle. Lingula."
    )
    doc = explain(text)
    found = {g["term"].lower() for g in doc["glossary"]}
    for term in (
        "effusions",
        "effusion",
        "atelectatic",
        "atelectasis",
        "opacities",
        "opacity",
        "copd",
        "chf",
        "svc",
        "picc",
        "et tube",
        "ng tube",
        "bibasilar",
        "perihilar",
        "retrocardiac",
        "costophrenic angle",
        "lingula",
    ):
        assert any(term in f for f in found), (term, sorted(found))


def test_statement_about_test_sensitivity_is_not_a_finding(explain):
    doc = explain(
        "IMPRESSION: No acute intracranial abnormality. Note that CT sensitivity for "
        "subarachnoid hemorrhage decreases beyond 6 hours from symptom onset."
    )
    [sah] = _finding(doc, "subarachnoid hemorrhage")
    assert sah["assertion"] == "hypothetical" and not sah["critical"]
    assert doc["urgency"] == "routine"


def test_stable_known_critical_finding_asks_for_follow_up_not_a_call_now(explain):
    doc = explain("IMPRESSION: Small stable left pneumothorax not requiring chest tube placement.")
    [ptx] = _finding(doc, "pneumothorax")
    assert ptx["assertion"] == "present" and ptx["stable"] and not ptx["critical"]
    assert doc["urgency"] == "soon"
    assert "contact them now" not in doc["items"][0]["lay"]


def test_a_call_to_the_doctor_alone_does_not_raise_urgency(explain):
    doc = explain(
        "IMPRESSION: New pacemaker with leads in expected position. No pneumothorax. "
        "Discussed with Dr. Lee at 10:02."
    )
    assert doc["urgency"] == "routine"
