"""What integrations and clinicians ask the service to do, over HTTP.

- ``POST /v1/sync`` and ``POST /v1/reports/{id}/process`` (integrations: a ``system/``
  token that may write Communications) run the same pipeline as ``radplain sync``;
- ``POST /v1/notifications/fhir`` is where the EHR's FHIR Subscription (rest-hook)
  delivers; it is authenticated by the shared secret the Subscription's channel sends,
  and the reports it names are read back from the configured FHIR server, never trusted;
- ``POST /v1/reports/{id}/hold`` and ``.../release`` are a licensed clinician's
  preventing-harm determination (45 CFR 171.201) and its lifting; they need a ``user/``
  token whose ``fhirUser`` is a Practitioner, who is recorded as the one who decided.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from ..errors import BadInput, Forbidden, NotFound
from ..fhir.client import FhirNotFound
from ..fhir.notifications import check_secret
from ..pipeline import notified
from .auth import requires
from .wiring import pipeline

bp = Blueprint("actions", __name__)


@bp.post("/v1/sync")
@requires("Communication", "create")
def sync():
    result = pipeline().sync()
    return jsonify(
        seen=result.seen,
        written=result.written,
        already=result.already,
        withdrawn=result.withdrawn,
        skipped=result.skipped,
        not_explainable=len(result.failed),
    )


@bp.post("/v1/reports/<report_id>/process")
@requires("Communication", "create")
def process(report_id: str):
    try:
        report = pipeline().client.read("DiagnosticReport", report_id)
    except FhirNotFound as exc:
        raise NotFound(f"the FHIR server has no DiagnosticReport/{report_id}") from exc
    outcome = pipeline().process_safely(report)
    return jsonify(
        report=f"DiagnosticReport/{report_id}",
        version=(report.get("meta") or {}).get("versionId"),
        outcome=outcome,
    )


@bp.post("/v1/notifications/fhir")
def fhir_notification():
    settings = current_app.extensions["radplain.settings"]
    # before anything else: an unauthenticated caller learns nothing about our setup
    check_secret(dict(request.headers), settings.notify_header, settings.notify_secret or "")
    outcomes = notified(
        pipeline(),
        dict(request.headers),
        request.get_data(),
        settings.notify_header,
        settings.notify_secret or "",
    )
    return jsonify(outcomes=outcomes)


class HoldRequest(Schema):
    harm = fields.String(
        required=True, validate=validate.OneOf(["life_or_physical_safety", "substantial_harm"])
    )
    review_by = fields.AwareDateTime(required=True, default_timezone=UTC)
    audience = fields.String(
        load_default="*", validate=validate.Regexp(r"^(\*|(Patient|RelatedPerson)/[A-Za-z0-9.-]+)$")
    )


@bp.post("/v1/reports/<report_id>/hold")
@requires("Communication", "update")
def hold(report_id: str):
    clinician = _clinician()
    try:
        data = HoldRequest().load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        field, problems = next(iter(exc.normalized_messages().items()))
        raise BadInput(f"{field}: {'; '.join(map(str, problems))}") from exc
    now = datetime.now(UTC)
    if data["review_by"] <= now:
        raise BadInput("review_by: must be in the future (when the hold must be looked at again)")
    pipeline().store.record_harm(
        report_id, data["audience"], clinician, data["harm"], now, data["review_by"]
    )
    body = {
        "report": f"DiagnosticReport/{report_id}",
        "audience": data["audience"],
        "clinician": clinician,
        "harm": data["harm"],
        "review_by": data["review_by"].isoformat(),
    }
    return jsonify(body), 201


@bp.post("/v1/reports/<report_id>/release")
@requires("Communication", "update")
def release(report_id: str):
    _clinician()
    run = pipeline()
    lifted = run.store.lift_harm(report_id, datetime.now(UTC))
    return jsonify(
        report=f"DiagnosticReport/{report_id}", lifted=lifted, released=run.release_due()
    )


def _clinician() -> str:
    who = g.principal.fhir_user or ""
    if g.principal.patient or not who.startswith("Practitioner/"):
        raise Forbidden(
            "clinician actions need a user/ token whose fhirUser is a Practitioner reference"
        )
    return who
