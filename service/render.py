"""Explanation document -> readable text or a self-contained HTML fragment.

All report-derived text is escaped, never interpreted: report text is hostile input.
"""

from __future__ import annotations

import textwrap
from html import escape

_BANNER = {"critical": "CONTACT YOUR CARE TEAM NOW", "urgent": "TALK WITH YOUR CARE TEAM SOON"}


def render_text(doc: dict) -> str:
    wrap = textwrap.TextWrapper(width=78, subsequent_indent="   ")
    lines = []
    if doc["urgency"] in _BANNER:
        lines += [f"*** {_BANNER[doc['urgency']]} ***", ""]
    lines += textwrap.wrap(doc["summary"], 78) + [""]
    for item in doc["items"]:
        lines += wrap.wrap(f"{item['priority']}. {item['lay']}")
    if doc["questions"]:
        lines += ["", "Questions to ask your doctor:"]
        lines += [f" - {q['text']}" for q in doc["questions"]]
    lines += [""] + textwrap.wrap(doc["disclaimer"], 78)
    return "\n".join(lines)


def render_html(doc: dict) -> str:
    lang = escape(doc["language"])
    parts = [f'<article class="radplain" lang="{lang}">']
    if doc["urgency"] in _BANNER:
        parts.append(
            f'<p class="radplain-urgency" role="alert">{escape(_BANNER[doc["urgency"]])}</p>'
        )
    parts.append(f'<p class="radplain-summary">{escape(doc["summary"])}</p>')
    parts.append('<ol class="radplain-items">')
    parts += [f"<li>{escape(item['lay'])}</li>" for item in doc["items"]]
    parts.append("</ol>")
    if doc["questions"]:
        parts.append("<h2>Questions to ask your doctor</h2><ul>")
        parts += [f"<li>{escape(q['text'])}</li>" for q in doc["questions"]]
        parts.append("</ul>")
    parts.append(f'<p class="radplain-disclaimer">{escape(doc["disclaimer"])}</p></article>')
    return "\n".join(parts)
