"""POST /v1/explain: stateless; plain text or a FHIR DiagnosticReport in, an Explanation
out: JSON, or the HTML fragment portals show (``Accept: text/html``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..annotate import source_text
from ..errors import BadInput, UnsupportedMediaType
from ..fhir.report import validate_report
from . import negotiate

bp = Blueprint("explain", __name__)


class ExplainRequest(Schema):
    text = fields.String(validate=validate.Length(min=1))
    report = fields.Dict()
    lang = fields.String(load_default=None, validate=validate.OneOf(["en", "es"]))

    @validates_schema
    def _one_input(self, data, **kwargs):
        if ("text" in data) == ("report" in data):
            raise ValidationError(
                "give exactly one of 'text' (a plain-text report) or 'report' "
                "(a FHIR R4 DiagnosticReport)"
            )


@bp.post("/v1/explain")
def explain():
    if not request.is_json:
        raise UnsupportedMediaType('send application/json: {"text": "..."} or {"report": {...}}')
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise BadInput("the body is not a JSON object")
    try:
        data = ExplainRequest().load(payload)
    except ValidationError as exc:
        field, problems = next(iter(exc.normalized_messages().items()))
        raise BadInput(f"{field}: {'; '.join(map(str, problems))}") from exc
    if "report" in data:
        analysed = source_text.from_report(validate_report(data["report"]))
    else:
        analysed = source_text.from_plain(data["text"])
    doc = current_app.extensions["radplain.explainer"].explain(
        analysed, negotiate.language(data["lang"])
    )
    if negotiate.wants_html():
        return Response(current_app.extensions["radplain.renderer"].html(doc), mimetype="text/html")
    return jsonify(doc)
