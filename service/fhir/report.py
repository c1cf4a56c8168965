"""Recognise and validate a FHIR R4 DiagnosticReport before it is explained.

Structural validation uses the fhir.resources R4B models (R4-compatible; the package's
default models are R5). The validated JSON, not the model, goes on to the engine so that
attachments are decoded once, in one place (``annotate.source_text``).
"""

from __future__ import annotations

from ..errors import BadInput


def is_fhir_resource(data: object) -> bool:
    return isinstance(data, dict) and "resourceType" in data


def validate_report(data: object) -> dict:
    if not isinstance(data, dict):
        raise BadInput("expected a FHIR DiagnosticReport JSON object or plain report text")
    kind = data.get("resourceType")
    if kind != "DiagnosticReport":
        raise BadInput(f"expected resourceType DiagnosticReport, got {kind!r}")
    # imported here: pydantic model construction costs ~0.3 s, and plain-text input
    # never needs it
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport
    from pydantic import ValidationError

    try:
        DiagnosticReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(resource)"
        raise BadInput(f"DiagnosticReport is not valid FHIR R4: {where}: {first['msg']}") from exc
    return data
