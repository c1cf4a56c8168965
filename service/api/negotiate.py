"""What a caller asked for: the language (``lang`` given explicitly, else the
``Accept-Language`` header, else English) and the representation (JSON, or the HTML
fragment portals show)."""

from __future__ import annotations

from flask import request

from ..errors import BadInput

LANGUAGES = ("en", "es")


def language(explicit: str | None = None) -> str:
    explicit = explicit or request.args.get("lang")
    if explicit:
        if explicit not in LANGUAGES:
            raise BadInput(f"lang: {explicit!r} is not offered; use one of {', '.join(LANGUAGES)}")
        return explicit
    return request.accept_languages.best_match(LANGUAGES, default="en")


def wants_html() -> bool:
    wanted = request.args.get("format") or request.accept_mimetypes.best_match(
        ["application/json", "text/html"], default="application/json"
    )
    if wanted not in ("json", "html", "application/json", "text/html"):
        raise BadInput(f"format: {wanted!r} is not offered; use json or html")
    return wanted in ("html", "text/html")
