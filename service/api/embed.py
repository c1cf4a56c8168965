"""What patient portals embed, three ways, all showing the same server-rendered fragment:

- ``GET /v1/reports/{id}/explanation?format=html`` (reports.py): the fragment itself;
- ``GET /embed.js``: the ``<radplain-explanation>`` web component, its styles and page
  words built in (from static/component.js, static/explanation.css, mappings/ui.yaml);
- ``GET /embed``: a standalone page for an iframe; the portal passes the report id and
  the patient's token in the URL fragment, which browsers never send to a server.

Portals listed in RADPLAIN_PORTAL_ORIGINS may frame /embed (CSP ``frame-ancestors``) and
call the two explanation endpoints from their own pages (CORS); nobody else may.
"""

from __future__ import annotations

import hashlib
import json
from html import escape
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, request, url_for
from flask_cors import CORS

from . import negotiate
from .demo import CSP

bp = Blueprint("embed", __name__)
STATIC = Path(__file__).resolve().parent / "static"


def install_cors(app: Flask, origins: tuple[str, ...]) -> None:
    if not origins:
        return  # same-origin only: no Access-Control-* header is ever sent
    CORS(
        app,
        resources={r"/v1/reports/[^/]+/explanation": {}, r"/v1/explain": {}},
        origins=list(origins),
        methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Accept-Language"],
        expose_headers=["X-Request-ID"],
        supports_credentials=False,  # bearer tokens only: cookies never cross over
        max_age=600,
    )


def _bundle() -> tuple[bytes, str]:
    """The component with its CSS and words, built once per application."""
    built = current_app.extensions.get("radplain.embed_js")
    if built is None:
        renderer = current_app.extensions["radplain.renderer"]
        words = {lang: renderer.words(lang) for lang in negotiate.LANGUAGES}
        source = "\n".join(
            [
                "(() => {",
                f"const CSS = {json.dumps((STATIC / 'explanation.css').read_text('utf-8'))};",
                f"const WORDS = {json.dumps(words, ensure_ascii=False)};",
                (STATIC / "component.js").read_text("utf-8"),
                "})();",
            ]
        ).encode()
        built = current_app.extensions["radplain.embed_js"] = (
            source,
            hashlib.sha256(source).hexdigest()[:16],
        )
    return built


@bp.get("/embed.js")
def script():
    body, etag = _bundle()
    response = Response(body, mimetype="text/javascript")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"  # portals load it
    return response.make_conditional(request)


@bp.get("/embed")
def page():
    lang = negotiate.language()
    title = current_app.extensions["radplain.renderer"].say("ui.title", lang)
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<script src="{url_for("embed.script")}" defer></script>'
        f'<script src="{url_for("demo.static", filename="frame.js")}" defer></script>'
        f'</head><body><main><radplain-explanation title-level="1" lang="{lang}">'
        "</radplain-explanation></main></body></html>"
    )
    origins = current_app.extensions["radplain.settings"].portal_origins
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP.replace(
        "frame-ancestors 'self'", " ".join(["frame-ancestors 'self'", *origins])
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
