"""POST /v1/explain: stateless; plain text or a FHIR DiagnosticReport in, an Explanation
out: JSON, or the HTML fragment portals show (``Accept: text/html``).

Two bodies: JSON (``text`` or ``report``), or ``multipart/form-data`` with a ``file`` part
(a PDF, a photo or scan, a text report or a DiagnosticReport JSON; see ``inputs``) and an
optional ``lang`` field."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .. import inputs
from ..annotate import source_text
from ..errors import BadInput, PayloadTooLarge, UnsupportedMediaType
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


_MULTIPART_OVERHEAD = 64 * 1024  # part headers and the lang field


@bp.before_request
def _body_limit():
    """Documents may be larger than the app's 5 MB body limit: an upload up to the document
    limit, and a DiagnosticReport carrying one as base64 (4/3 of its size)."""
    documents = current_app.extensions["radplain.settings"].documents.max_bytes
    if request.mimetype == "multipart/form-data":
        wanted = documents + _MULTIPART_OVERHEAD
    elif request.is_json:
        wanted = documents * 4 // 3 + _MULTIPART_OVERHEAD
    else:
        return
    request.max_content_length = max(wanted, current_app.config["MAX_CONTENT_LENGTH"] or 0)


@bp.post("/v1/explain")
def explain():
    settings = current_app.extensions["radplain.settings"]
    if request.mimetype == "multipart/form-data":
        analysed, lang = _upload(settings)
    else:
        analysed, lang = _json_body(settings)
    doc = current_app.extensions["radplain.explainer"].explain(analysed, negotiate.language(lang))
    if negotiate.wants_html():
        return Response(current_app.extensions["radplain.renderer"].html(doc), mimetype="text/html")
    return jsonify(doc)


def _upload(settings):
    upload = request.files.get("file")
    if upload is None:
        raise BadInput(
            "multipart/form-data needs a 'file' part: a PDF, a PNG, JPEG, WebP or TIFF image, "
            "a text report or a DiagnosticReport JSON"
        )
    lang = request.form.get("lang") or None
    if lang not in (None, "en", "es"):
        raise BadInput("lang: must be one of: en, es")
    limit = max(settings.documents.max_bytes, inputs.MAX_TEXT_BYTES)
    data = upload.stream.read(limit + 1)
    name = f"the uploaded file {upload.filename!r}" if upload.filename else "the uploaded file"
    if len(data) > limit:
        raise PayloadTooLarge(settings.documents.too_big(len(data), name) or name)
    return inputs.load(data, name, settings), lang


def _json_body(settings):
    if not request.is_json:
        raise UnsupportedMediaType(
            'send application/json: {"text": "..."} or {"report": {...}}, or '
            "multipart/form-data with a 'file' part (a PDF or a photo of the report)"
        )
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise BadInput("the body is not a JSON object")
    try:
        data = ExplainRequest().load(payload)
    except ValidationError as exc:
        field, problems = next(iter(exc.normalized_messages().items()))
        raise BadInput(f"{field}: {'; '.join(map(str, problems))}") from exc
    if "report" in data:
        return inputs.explainable_report(data["report"], settings), data["lang"]
    if len(data["text"]) > inputs.MAX_TEXT_BYTES:
        raise PayloadTooLarge("text is larger than 5 MB; a radiology report is a few kB")
    return source_text.from_plain(data["text"]), data["lang"]
