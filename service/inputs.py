"""What a person or an EHR hands radplain as one file -> the one text that is explained.

A PDF or an image (PNG, JPEG, WebP, TIFF; recognised by its bytes, not its name) is read
by ``documents``; anything else is a plain-text report or a FHIR R4 DiagnosticReport as
JSON (detected). Shared by ``radplain explain PATH`` and the multipart upload of
``POST /v1/explain``, so both accept exactly the same files with the same messages.
"""

from __future__ import annotations

import json

from .annotate import source_text
from .annotate.source_text import AnalysedText
from .config import Settings
from .documents import sniff
from .documents.attachments import report_text
from .errors import BadInput, PayloadTooLarge

MAX_TEXT_BYTES = 5 * 1024 * 1024  # a radiology report is a few kB; 5 MB of text is abuse


def load(data: bytes, name: str, settings: Settings) -> AnalysedText:
    if sniff(data):
        from .documents.reader import read_document  # Pillow and pypdf, only for documents

        return read_document(data, settings.documents, name=name)
    if len(data) > MAX_TEXT_BYTES:
        raise PayloadTooLarge(
            f"{name}: input is larger than {MAX_TEXT_BYTES // (1024 * 1024)} MB and is not a "
            "PDF or image; a text report or DiagnosticReport is a few kB"
        )
    text = source_text.decode_bytes(data)
    if "\x00" in text:
        raise BadInput(
            f"{name}: input is binary, not a text report, FHIR JSON, PDF or PNG, JPEG, WebP "
            "or TIFF image"
        )
    stripped = text.strip()
    if not stripped:
        raise BadInput(f"{name}: input is empty; give a report text or a DiagnosticReport")
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise BadInput(
                f"{name}: looks like JSON but is not valid JSON: {exc.msg} "
                f"at line {exc.lineno} column {exc.colno}"
            ) from exc
        return explainable_report(obj, settings)
    return source_text.from_plain(text)


def explainable_report(obj: object, settings: Settings) -> AnalysedText:
    """A DiagnosticReport's text, its PDF or image attachment read (a url only from the
    configured FHIR server)."""
    from .fhir.report import validate_report

    report = validate_report(obj)
    fetch = None
    if settings.fhir_base and not source_text.text_form(report):
        from .fhir.connection import connect

        fetch = connect(settings).attachment
    return report_text(report, settings.documents, fetch)
