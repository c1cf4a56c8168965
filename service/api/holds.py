"""GET /v1/holds: explanations being held back, and why — for clinicians and integrations.

Patients never list holds: a hold is a clinician's or the law's decision about their
record, and its reason may itself be what is being withheld (preventing harm).
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from ..errors import Forbidden
from ..store.db import Store
from .auth import requires

bp = Blueprint("holds", __name__)


@bp.get("/v1/holds")
@requires("Communication", "read")
def list_holds():
    if g.principal.patient or not _staff(g.principal):
        raise Forbidden("holds are listed for clinicians and integrations, not patient apps")
    return jsonify(holds=[_public(h) for h in _store().open_holds()])


def _store() -> Store:
    store = current_app.extensions.get("radplain.store")
    if store is None:  # opened on first use: the stateless routes never need a database
        store = Store(current_app.extensions["radplain.settings"].database_url)
        current_app.extensions["radplain.store"] = store
    return store


def _staff(principal) -> bool:
    return principal.may("Communication", "read", "system") or principal.may(
        "Communication", "read", "user"
    )


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
