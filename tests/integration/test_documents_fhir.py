"""Reports whose only text is a PDF or photo on the FHIR server (a Binary, by url), synced
from the real FHIR test server and explained like any other."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image, ImageDraw, ImageFont
from test_pipeline import _post

from benchmarks import renderings
from service.documents import Limits
from service.documents.attachments import report_text
from service.errors import BadInput
from service.fhir.client import FhirClient, RetryPolicy
from service.pipeline import Pipeline
from service.store.db import Store

LOINC_RAD = {"system": "http://loinc.org", "code": "LP29684-5", "display": "Radiology"}
REPORT = (
    "EXAM: CT CHEST\nFINDINGS: Clear lungs.\n"
    "IMPRESSION:\n1. No pneumothorax.\n2. Small right pleural effusion."
)


def _binary(server, data: bytes, media: str) -> dict:
    return _post(
        server,
        {"resourceType": "Binary", "contentType": media, "data": base64.b64encode(data).decode()},
    )


def _report(form: dict) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "category": [{"coding": [LOINC_RAD]}],
        "code": {"text": "CT chest"},
        "subject": {"reference": "Patient/p1"},
        "presentedForm": [form],
    }


def _photo() -> bytes:
    font = ImageFont.truetype(str(renderings.FONT), 40)
    lines = REPORT.split("\n")
    image = Image.new("L", (1400, 80 + 60 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 40 + i * 60), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _client(server) -> FhirClient:
    return FhirClient(server.base, retry=RetryPolicy(attempts=3, backoff=0.01), timeout=10)


def test_a_pdf_binary_named_by_a_relative_url_is_fetched_and_read(fresh_fhir):
    binary = _binary(fresh_fhir, renderings.text_pdf(REPORT), "application/pdf")
    report = _report({"contentType": "application/pdf", "url": f"Binary/{binary['id']}"})
    read = report_text(report, Limits(), _client(fresh_fhir).attachment)
    assert read.document["reading"] == "text_layer" and "No pneumothorax." in read.text


def test_a_photo_binary_named_by_an_absolute_url_is_read_by_ocr(fresh_fhir):
    binary = _binary(fresh_fhir, _photo(), "image/png")
    report = _report({"contentType": "image/png", "url": fresh_fhir.url(f"Binary/{binary['id']}")})
    read = report_text(report, Limits(), _client(fresh_fhir).attachment)
    assert read.document["reading"] == "ocr" and "pleural effusion." in read.text


def test_sync_explains_and_writes_back_a_report_whose_text_is_a_pdf_on_the_server(
    fresh_fhir, explainer, tmp_path
):
    binary = _binary(fresh_fhir, renderings.text_pdf(REPORT), "application/pdf")
    _post(fresh_fhir, _report({"contentType": "application/pdf", "url": f"Binary/{binary['id']}"}))
    pipeline = Pipeline(_client(fresh_fhir), explainer, Store(f"sqlite:///{tmp_path}/s.sqlite3"))
    result = pipeline.sync()
    assert result.written == 1, result
    [comm] = list(_client(fresh_fhir).search("Communication", {"_count": "10"}))
    [doc] = [
        json.loads(base64.b64decode(p["contentAttachment"]["data"]))
        for p in comm["payload"]
        if p.get("contentAttachment", {}).get("contentType", "").startswith("application/json")
    ]
    assert doc["source"]["origin"] == "presentedForm[0]"
    assert doc["source"]["document"]["reading"] == "text_layer"
    lay = comm["payload"][0]["contentString"]
    assert "fluid" in lay.lower()  # the pleural effusion, in plain words


def test_a_url_off_the_fhir_server_is_refused_and_never_fetched(fresh_fhir):
    report = _report({"contentType": "application/pdf", "url": "http://127.0.0.1:9/evil.pdf"})
    with pytest.raises(BadInput, match="not on the configured FHIR server"):
        report_text(report, Limits(), _client(fresh_fhir).attachment)
