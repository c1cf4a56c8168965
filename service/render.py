"""Explanation document -> readable text, or an HTML fragment a portal can show.

One renderer serves every surface: the CLI's text and HTML, the fragment endpoint, the
``<radplain-explanation>`` component and the embed page (both show the fragment), so a
patient reads the same thing wherever it is embedded. Words on the page that are not
the explanation itself (banners, headings) come from ``mappings/ui.yaml``, in the
document's language.

Report text is hostile input. Every piece of it is escaped as it is placed, and the
finished fragment then goes through nh3 (a maintained allow-list sanitizer) so that a
slip in this module still could not ship a script, an event handler or a URL: the
fragment has no links, images or styles of its own, and nh3 removes any that appear.
"""

from __future__ import annotations

import hashlib
import textwrap
from html import escape

import nh3

_BANNERS = ("critical", "urgent")  # "soon" and "routine" are said in the summary only

# what the fragment is made of; anything else is removed by nh3
_TAGS = {
    "article", "section", "h2", "h3", "p", "ol", "ul", "li", "blockquote", "button",
    "span", "strong", "dl", "dt", "dd",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"class", "lang"},
    "article": {"data-urgency"},
    "p": {"role"},
    "li": {"data-rads"},
    "button": {"type", "popovertarget", "aria-label"},
    "span": {"id", "popover", "role"},
}


class Renderer:
    def __init__(self, ui: list[dict]):
        self._ui = {e["id"]: e["text"] for e in ui}

    def say(self, uid: str, lang: str, **values) -> str:
        return self._ui[uid][lang].format(**values)

    def words(self, lang: str) -> dict[str, str]:
        """Every chrome string in one language, for the component's own status lines."""
        return {uid.removeprefix("ui."): text[lang] for uid, text in self._ui.items()}

    def text(self, doc: dict) -> str:
        lang = doc["language"]
        wrap = textwrap.TextWrapper(width=78, subsequent_indent="   ")
        lines = []
        if doc["urgency"] in _BANNERS:
            banner = self.say(f"ui.banner.{doc['urgency']}", lang)
            lines += [f"*** {banner.upper()} ***", ""]
        lines += textwrap.wrap(doc["summary"], 78) + [""]
        for item in doc["items"]:
            lines += wrap.wrap(f"{item['priority']}. {item['lay']}")
        if doc["questions"]:
            lines += ["", self.say("ui.heading.questions", lang) + ":"]
            lines += [f" - {q['text']}" for q in doc["questions"]]
        lines += [""] + textwrap.wrap(doc["disclaimer"], 78)
        return "\n".join(lines)

    def html(self, doc: dict) -> str:
        lang = doc["language"]
        say = self.say
        parts = [
            f'<article class="radplain" lang="{escape(lang)}" '
            f'data-urgency="{escape(doc["urgency"])}">'
        ]
        if doc["urgency"] in _BANNERS:
            banner = say(f"ui.banner.{doc['urgency']}", lang)
            parts.append(f'<p class="rp-banner" role="alert"><strong>{escape(banner)}</strong></p>')
        parts.append(_section("rp-summary", say("ui.heading.summary", lang)))
        parts.append(f"<p>{escape(doc['summary'])}</p></section>")
        if doc["items"]:
            parts.append(_section("rp-items", say("ui.heading.items", lang)))
            parts.append("<ol>")
            parts += [self._item(item, doc["rads"], lang) for item in doc["items"]]
            parts.append("</ol></section>")
        if doc["impression"]:
            parts.append(self._impression(doc, lang))
        if doc["questions"]:
            parts.append(_section("rp-questions", say("ui.heading.questions", lang)))
            parts.append("<ul>")
            parts += [f"<li>{escape(q['text'])}</li>" for q in doc["questions"]]
            parts.append("</ul></section>")
        parts.append(_section("rp-not", say("ui.heading.not", lang)))
        parts.append(f"<p>{escape(doc['disclaimer'])}</p></section></article>")
        return nh3.clean("".join(parts), tags=_TAGS, attributes=_ATTRIBUTES, link_rel=None)

    def _item(self, item: dict, rads: list[dict], lang: str) -> str:
        """An item; one that states a RADS category is shown as a card headed by it."""
        cards = [r for r in rads if item["start"] <= r["start"] and r["end"] <= item["end"]]
        if not cards:
            return f"<li>{escape(item['lay'])}</li>"
        heads = "".join(
            f'<span class="rp-card-head">'
            f"{escape(self.say('ui.rads.card', lang, system=r['system'], category=r['category']))}"
            f"</span>"
            for r in cards
        )
        system = escape(cards[0]["system"])
        return f'<li class="rp-card" data-rads="{system}">{heads}<p>{escape(item["lay"])}</p></li>'

    def _impression(self, doc: dict, lang: str) -> str:
        """The impression as the radiologist wrote it, each explained term a button that
        opens its definition (native popover: mouse, touch and keyboard, no script). The
        same definitions are listed after it for printing and for browsers without
        popovers."""
        imp, text = doc["impression"], doc["text"]
        # ids must be unique on the host page, yet stable for the same document
        prefix = "rp" + hashlib.sha256(f"{lang}\0{text}".encode()).hexdigest()[:8]
        terms, last = [], imp["start"]
        for g in sorted(doc["glossary"], key=lambda g: (g["start"], -g["end"])):
            if g["start"] >= last and g["end"] <= imp["end"]:
                terms.append(g)
                last = g["end"]
        quote, pos = [], imp["start"]
        for n, g in enumerate(terms):
            did = f"{prefix}-{n}"
            quote.append(escape(text[pos : g["start"]]))
            quote.append(
                f'<button type="button" class="rp-term" popovertarget="{did}">'
                f"{escape(text[g['start'] : g['end']])}</button>"
                f'<span class="rp-def" id="{did}" popover role="note" lang="{lang}">'
                f"<strong>{escape(text[g['start'] : g['end']])}</strong>: "
                f"{escape(g['definition'])}</span>"
            )
            pos = g["end"]
        quote.append(escape(text[pos : imp["end"]]))
        out = [_section("rp-impression", self.say("ui.heading.impression", lang))]
        if terms:
            out.append(f'<p class="rp-hint">{escape(self.say("ui.impression.hint", lang))}</p>')
        # the report's own words, in the report's language (English), whatever the page's
        out.append(f'<blockquote class="rp-quote" lang="en">{"".join(quote)}</blockquote>')
        if terms:
            words = escape(self.say("ui.heading.words", lang))
            out.append(f'<section class="rp-words"><h3>{words}</h3><dl>')
            seen = set()
            for g in terms:
                if g["id"] not in seen:
                    seen.add(g["id"])
                    term = text[g["start"] : g["end"]]
                    out.append(f"<dt>{escape(term)}</dt><dd>{escape(g['definition'])}</dd>")
            out.append("</dl></section>")
        out.append("</section>")
        return "".join(out)


def _section(cls: str, heading: str) -> str:
    return f'<section class="{cls}"><h2>{escape(heading)}</h2>'
