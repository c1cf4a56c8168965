"""GET /: a page to paste a report into and read its explanation — for trying radplain
out, and the reference for portal teams embedding explanations. GET /docs: the
interactive API reference (Swagger UI, vendored in static/docs: no CDN), rendered from
GET /openapi.yaml, the contract the tests check.

The page is static (service/api/static) and calls the stateless POST /v1/explain, so it
stores nothing. Report text is hostile input: the script only ever sets textContent,
and the Content-Security-Policy forbids inline and third-party scripts, so even a bug
there could not run a report's markup.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response

bp = Blueprint("demo", __name__, static_folder="static", static_url_path="/static")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)


# Swagger UI sets inline styles and data: images; still only this service's scripts
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace(
    "img-src 'self'", "img-src 'self' data:"
)
# like mappings/, the contract sits beside the service package (repository and image)
SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.yaml"


@bp.get("/docs")
def docs():
    response = bp.send_static_file("docs/docs.html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/openapi.yaml")
def spec():
    return Response(SPEC.read_bytes(), mimetype="application/yaml")


@bp.get("/")
def page():
    response = bp.send_static_file("demo.html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
