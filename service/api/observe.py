"""Request ids, per-request metrics and the Prometheus scrape endpoint.

A caller's ``X-Request-ID`` is echoed back (and stamped on every log line of the request)
when it is a plain token; otherwise one is made, so an integration engineer can quote
one id to us and we can find every line about that call — without any PHI in the logs.
"""

from __future__ import annotations

import re
import uuid
from contextlib import suppress

from flask import Blueprint, Flask, Response, g, request
from sqlalchemy.exc import DBAPIError

from .. import logs, metrics
from ..store.db import UNREACHABLE
from .errors import database_unavailable
from .wiring import store

bp = Blueprint("observe", __name__)
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # anything else could smuggle text into logs


@bp.get("/metrics")
def scrape():
    body = metrics.exposition()
    # the database down: /readyz says so, and the other metrics still come
    with suppress(DBAPIError):
        body += metrics.work_queue(store().work_counts())
    return Response(body, mimetype="text/plain; version=0.0.4")


def install(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start():
        given = request.headers.get("X-Request-ID", "")
        request.environ["radplain.request_token"] = logs.request_id.set(
            given if _TOKEN.match(given) else uuid.uuid4().hex
        )

    @app.after_request
    def _audit(response: Response):
        # every call that presented a valid token touched stored PHI or acted on it: record
        # who, on whose behalf, what, which report and the answer (never any content)
        principal = g.get("principal")
        if principal is None:
            return response
        try:
            store().audit(
                actor=principal.subject,
                on_behalf_of=principal.fhir_user
                or (f"Patient/{principal.patient}" if principal.patient else None),
                action=f"{request.method} {request.url_rule.rule if request.url_rule else '?'}",
                report_id=(request.view_args or {}).get("report_id"),
                status=response.status_code,
                request_id=logs.request_id.get(),
            )
        except UNREACHABLE as exc:
            # nothing leaves without its audit record: an answer that cannot be recorded is
            # replaced by the outage (an error answer carried no PHI, so it goes as it is)
            return database_unavailable(exc) if response.status_code < 400 else response
        return response

    @app.after_request
    def _finish(response: Response):
        response.headers["X-Request-ID"] = logs.request_id.get() or ""
        # the route template, never the concrete path: paths carry ids
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.HTTP.labels(route, str(response.status_code)).inc()
        return response

    @app.teardown_request
    def _reset(exc):
        token = request.environ.pop("radplain.request_token", None)
        if token is not None:
            logs.request_id.reset(token)
