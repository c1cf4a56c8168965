"""GET /v1/holds: explanations being held back, and why — for clinicians and integrations.

Patients never list holds: a hold is a clinician's or the law's decision about their
record, and its reason may itself be what is being withheld (preventing harm).
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify

from ..errors import Forbidden
from .auth import requires
from .wiring import store

bp = Blueprint("holds", __name__)


@bp.get("/v1/holds")
@requires("Communication", "read")
def list_holds():
    if not g.principal.staff:
        raise Forbidden("holds are listed for clinicians and integrations, not patient apps")
    return jsonify(holds=[_public(h) for h in store().open_holds()])


def _public(hold: dict) -> dict:
    return {
        "report": f"DiagnosticReport/{hold['report_id']}",
        "version": hold["version"],
        "audience": hold["audience"],
        "basis": hold["basis"],
        "until": hold["until"].isoformat() if hold["until"] else None,
        "condition": hold["condition"],
        "communication": (
            f"Communication/{hold['communication_id']}" if hold["communication_id"] else None
        ),
    }
