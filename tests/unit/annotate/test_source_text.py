import pytest

from service.annotate import source_text
from service.errors import BadInput, UnsupportedMediaType
from tests.conftest import fhir_example


def test_base64_plain_text_is_decoded_and_kept_verbatim():
    got = source_text.from_report(fhir_example("plain-base64.json"))
    assert got.origin == "presentedForm[0]"
    assert "IMPRESSION:\n1. Right lower lobe opacity" in got.text


def test_html_keeps_lines_and_drops_scripts():
    got = source_text.from_report(fhir_example("html-base64.json"))
    assert got.text.splitlines()[:3] == [
        "IMPRESSION:",
        "1. No pneumothorax.",
        "2. Small left pleural effusion.",
    ]
    assert "alert" not in got.text


def test_nonstandard_application_xhtml_is_read_as_xhtml():
    got = source_text.from_report(fhir_example("xhtml-nonstandard.json"))
    assert got.text == "FINDINGS: Lungs are clear.\n\nIMPRESSION: No acute cardiopulmonary process."


def test_declared_charset_is_honoured():
    got = source_text.from_report(fhir_example("latin1-charset.json"))
    assert "riñón" in got.text


def test_bom_and_crlf_are_removed():
    got = source_text.from_report(fhir_example("utf8-bom.json"))
    assert got.text == "IMPRESSION:\nNo acute intracranial hemorrhage."


def test_conclusion_alone_is_the_text():
    got = source_text.from_report(fhir_example("conclusion-only.json"))
    assert got.text == "No acute fracture or dislocation."
    assert got.origin == "conclusion" and got.conclusion == (0, len(got.text))


def test_narrative_div_is_used_when_there_is_no_presented_form():
    got = source_text.from_report(fhir_example("narrative-only.json"))
    assert got.origin == "text.div"
    assert "IMPRESSION: Hepatic steatosis." in got.text


def test_conclusion_missing_from_body_is_appended_with_its_span():
    got = source_text.from_report(fhir_example("body-without-impression-plus-conclusion.json"))
    a, b = got.conclusion
    assert got.text[a:b] == "Cholelithiasis without cholecystitis."
    assert got.text.startswith("FINDINGS: The gallbladder")


def test_report_with_no_text_says_what_is_missing():
    with pytest.raises(BadInput, match="no presentedForm, conclusion or text"):
        source_text.from_report(fhir_example("no-text.json"))


def test_pdf_only_report_is_not_silently_explained_as_empty():
    with pytest.raises(BadInput, match="no presentedForm, conclusion or text"):
        source_text.from_report(fhir_example("pdf-only.json"))


def test_binary_declared_as_text_is_refused():
    with pytest.raises(BadInput, match="binary"):
        source_text.from_report(fhir_example("binary-as-text.json"))


def test_unknown_media_type_names_what_is_supported():
    report = {
        "resourceType": "DiagnosticReport",
        "presentedForm": [{"contentType": "application/msword", "data": "AA=="}],
    }
    with pytest.raises(UnsupportedMediaType, match="text/plain, text/html.*application/pdf"):
        source_text.from_report(report)


def test_bad_base64_is_a_clear_error():
    report = {"presentedForm": [{"contentType": "text/plain", "data": "not base64!!"}]}
    with pytest.raises(BadInput, match="not valid base64"):
        source_text.from_report(report)


def test_cp1252_fallback_for_undeclared_legacy_bytes():
    assert source_text.decode_bytes(b"caf\xe9 \x93quoted\x94") == "café “quoted”"


def test_control_characters_become_spaces_and_offsets_stay_one_to_one():
    assert source_text.normalise("a\x00b\x07c") == "a b c"
