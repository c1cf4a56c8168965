"""GET /v1/reports/{id}/explanation: the stored explanation of a report, as JSON or as
the HTML fragment portals show, in the language asked for (``lang``, else
Accept-Language). A language other than the stored one is explained again from the
stored report text, so offsets and spans still index into that text.

Integrations and clinicians (``system/``, ``user/`` tokens) read any current explanation.
A patient token reads only explanations of its own ``patient`` and only once released to
that patient — at once, or when its hold is lifted. Anything else is a 404 that does not
say whether the report exists, so a token cannot probe for other patients' reports.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify

from ..annotate.source_text import from_explanation
from ..errors import NotFound
from . import negotiate
from .auth import requires
from .wiring import store

bp = Blueprint("reports", __name__)


@bp.get("/v1/reports/<report_id>/explanation")
@requires("Communication", "read")
def explanation(report_id: str):
    found = store().current_explanation(report_id)
    if found is None or not _may_read(found):
        raise NotFound(f"no explanation of DiagnosticReport/{report_id} that this token may read")
    doc, lang = found["document"], negotiate.language()
    if lang != doc["language"]:
        doc = current_app.extensions["radplain.explainer"].explain(from_explanation(doc), lang)
    if negotiate.wants_html():
        return Response(current_app.extensions["radplain.renderer"].html(doc), mimetype="text/html")
    return jsonify(doc)


def _may_read(found: dict) -> bool:
    principal = g.principal
    if principal.staff:
        return True
    if not principal.patient:
        return False
    own = f"Patient/{principal.patient}"
    return (
        principal.may("Communication", "read", "patient")
        and found["subject"] == own
        and store().released_to(found["report_id"], found["version"], own)
    )
