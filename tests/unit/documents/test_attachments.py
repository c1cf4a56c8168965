"""A DiagnosticReport whose only text is a PDF or image attachment is explained like any other."""

import base64

import pytest
import responses

from service import config, inputs
from service.documents import Limits
from service.documents.attachments import report_text
from service.errors import BadInput, PayloadTooLarge
from service.fhir.client import FhirClient

BASE = "https://ehr.example.org/fhir/R4"


def _report(*forms, **extra) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "CT chest"},
        "presentedForm": list(forms),
        **extra,
    }


def _inline(data: bytes, media: str = "application/pdf") -> dict:
    return {"contentType": media, "data": base64.b64encode(data).decode()}


def test_an_inline_pdf_is_the_report_text(text_pdf):
    read = report_text(_report(_inline(text_pdf)), Limits())
    assert read.origin == "presentedForm[0]" and read.document["reading"] == "text_layer"
    assert "IMPRESSION" in read.text


def test_an_inline_photo_is_read_by_ocr_with_its_confidences(report_png):
    read = report_text(_report(_inline(report_png, "image/png")), Limits())
    assert read.document["reading"] == "ocr" and read.words
    assert "pleural effusion." in read.text


def test_the_dictated_text_wins_over_its_pdf_rendering(text_pdf):
    plain = {"contentType": "text/plain", "data": base64.b64encode(b"IMPRESSION: Normal.").decode()}
    read = report_text(_report(_inline(text_pdf), plain), Limits())
    assert read.text == "IMPRESSION: Normal." and read.document is None


def test_a_conclusion_missing_from_the_pdf_is_appended_and_offsets_stay_valid(report_png):
    read = report_text(
        _report(_inline(report_png, "image/png"), conclusion="Follow-up CT in 3 months."),
        Limits(),
    )
    assert read.text.endswith("CONCLUSION:\nFollow-up CT in 3 months.")
    assert [read.text[w.start : w.end] for w in read.words] == read.text.split("\n\nCONCLUSION")[
        0
    ].split()


def test_inline_data_over_the_limit_is_refused_before_decoding(text_pdf):
    with pytest.raises(PayloadTooLarge, match="RADPLAIN_MAX_DOCUMENT_BYTES"):
        report_text(_report(_inline(text_pdf * 4)), Limits(max_bytes=len(text_pdf)))


def test_a_url_attachment_without_a_fhir_server_says_what_to_configure():
    report = _report({"contentType": "application/pdf", "url": "Binary/1"})
    with pytest.raises(BadInput, match="RADPLAIN_FHIR_BASE"):
        report_text(report, Limits())


def test_a_declared_pdf_that_is_not_one_is_refused():
    with pytest.raises(BadInput, match="not a PDF or a PNG"):
        report_text(_report(_inline(b"hello, not a pdf")), Limits())


@responses.activate
def test_a_url_on_the_fhir_server_is_fetched_as_a_binary(text_pdf):
    responses.get(
        f"{BASE}/Binary/7",
        json={
            "resourceType": "Binary",
            "contentType": "application/pdf",
            "data": base64.b64encode(text_pdf).decode(),
        },
        content_type="application/fhir+json",
    )
    client = FhirClient(BASE)
    report = _report({"contentType": "application/pdf", "url": "Binary/7"})
    read = report_text(report, Limits(), client.attachment)
    assert "IMPRESSION" in read.text and read.origin == "presentedForm[0]"


@responses.activate
def test_a_url_answered_with_raw_bytes_is_read_too(report_png):
    responses.get(f"{BASE}/Binary/8", body=report_png, content_type="image/png")
    read = report_text(
        _report({"contentType": "image/png", "url": f"{BASE}/Binary/8"}),
        Limits(),
        FhirClient(BASE).attachment,
    )
    assert "pleural effusion." in read.text


@responses.activate
def test_a_url_off_the_fhir_server_is_never_fetched():
    report = _report({"contentType": "application/pdf", "url": "https://evil.example.com/r.pdf"})
    with pytest.raises(BadInput, match="not on the configured FHIR server"):
        report_text(report, Limits(), FhirClient(BASE).attachment)
    assert len(responses.calls) == 0


def test_inputs_read_a_fhir_json_file_whose_text_is_a_pdf(text_pdf):
    import json

    data = json.dumps(_report(_inline(text_pdf))).encode()
    read = inputs.load(data, "report.json", config.load({}))
    assert read.document["media_type"] == "application/pdf"
