"""GET /: a page to paste a report into and read its explanation — for trying radplain
out, and the reference for portal teams embedding explanations.

The page is static (service/api/static) and calls the stateless POST /v1/explain, so it
stores nothing. Report text is hostile input: the script only ever sets textContent,
and the Content-Security-Policy forbids inline and third-party scripts, so even a bug
there could not run a report's markup.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("demo", __name__, static_folder="static", static_url_path="/static")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)


@bp.get("/")
def page():
    response = bp.send_static_file("demo.html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
