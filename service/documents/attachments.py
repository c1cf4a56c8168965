"""A DiagnosticReport whose only text is a PDF or image attachment, read like any other.

The text/plain or HTML ``presentedForm`` wins when there is one (it is what the radiologist
dictated; a PDF is a rendering of it), so documents are read only when needed. An
attachment's bytes come from its inline base64 ``data`` or from its ``url``, which is
fetched only from the configured FHIR server (``fetch``), never from anywhere else.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from ..annotate import source_text
from ..annotate.source_text import AnalysedText
from ..errors import BadInput, PayloadTooLarge
from .limits import Limits

# fetch(url, max_bytes) -> bytes: the FHIR client's ``attachment``; None when no FHIR
# server is configured
Fetch = Callable[[str, int], bytes]


def report_text(report: dict, limits: Limits, fetch: Fetch | None = None) -> AnalysedText:
    """``source_text.from_report``, with the first readable PDF or image attachment read."""
    if source_text.text_form(report):
        return source_text.from_report(report)
    documents: dict[int, AnalysedText] = {}
    for index, attachment in enumerate(report.get("presentedForm") or []):
        if not source_text.is_document(attachment):
            continue
        where = f"presentedForm[{index}]"
        data = _bytes(attachment, where, limits, fetch)
        if data is None:
            continue
        from .reader import read_document  # Pillow and pypdf, only when there is one

        documents[index] = read_document(data, limits, name=where, origin=where)
        break  # one document is the report; later ones are copies or other renderings
    return source_text.from_report(report, documents)


def _bytes(attachment: dict, where: str, limits: Limits, fetch: Fetch | None) -> bytes | None:
    if "data" in attachment:
        encoded = attachment["data"] or ""
        if len(encoded) * 3 // 4 > limits.max_bytes:  # refused before decoding
            raise PayloadTooLarge(limits.too_big(len(encoded) * 3 // 4, where) or where)
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise BadInput(f"{where}.data is not valid base64") from exc
    url = attachment.get("url")
    if not url:
        return None
    if fetch is None:
        raise BadInput(
            f"{where} has only a url ({url}); radplain fetches attachments only from its "
            "configured FHIR server (RADPLAIN_FHIR_BASE): set it, or send the bytes inline "
            "as data"
        )
    return fetch(url, limits.max_bytes)
