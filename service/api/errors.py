"""RFC 7807 problem+json for every error: radplain's own, HTTP ones and unexpected ones."""

from __future__ import annotations

import logging

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from .. import metrics
from ..errors import RadplainError, Unauthorized
from ..store.db import UNREACHABLE

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extensions) -> Response:
    """An RFC 7807 body; ``extensions`` are extra members the RFC allows (section 3.2)."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        **extensions,
    }
    return Response(json.dumps(body), status=status, mimetype=PROBLEM)


def database_unavailable(exc: Exception) -> Response:
    """The database cannot be reached (restarting, failing over): retryable, not our bug. The
    type only, since a driver's message can hold the URL and the URL a password."""
    metrics.ERRORS.labels(type(exc).__name__).inc()
    log.warning("database unavailable", extra={"error": type(exc).__name__})
    response = problem(
        503,
        "Service Unavailable",
        f"the database cannot be reached ({type(exc).__name__}); try again shortly. "
        "/readyz says when it is back; if it stays down, check DATABASE_URL",
    )
    response.headers["Retry-After"] = "5"
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RadplainError)
    def _radplain(exc: RadplainError):
        metrics.ERRORS.labels(type(exc).__name__).inc()
        response = problem(exc.status, exc.title, str(exc))
        if isinstance(exc, Unauthorized):  # RFC 6750 section 3
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        # the explain route raises the limit for documents (request.max_content_length)
        limit_mb = (request.max_content_length or app.config["MAX_CONTENT_LENGTH"]) / (1024 * 1024)
        detail = {
            413: f"the request body is larger than {limit_mb:.0f} MB",
            404: f"no such endpoint: {request.path}",
            405: f"{request.method} is not allowed on {request.path}",
        }.get(exc.code, exc.description)
        return problem(exc.code or 500, exc.name, detail)

    for unreachable in UNREACHABLE:
        app.register_error_handler(unreachable, database_unavailable)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # never a stack trace, never report text, in the response
        metrics.ERRORS.labels(type(exc).__name__).inc()
        log.exception("unhandled error", extra={"path": request.path})
        return problem(
            500, "Internal Server Error", "an unexpected error occurred; it has been logged"
        )
