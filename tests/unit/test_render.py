"""The one renderer every surface shows (CLI, Communication payload, API, component)."""

from __future__ import annotations

import re
from html import unescape

import pytest

import service.render as module
from service.render import _TAGS, Renderer

CRITICAL = "IMPRESSION: Large right tension pneumothorax. Communicated to Dr. Lee at 14:05."
BIRADS4 = (
    "IMPRESSION: Suspicious mass in the left breast. BI-RADS 4: Suspicious. Biopsy is recommended."
)
NORMAL = "IMPRESSION: No acute abnormality. No pneumothorax."


def _elements(html: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    found = []
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, attrs: found.append((tag, attrs))
    parser.feed(html)
    return found


@pytest.fixture(scope="module")
def render(mappings):
    return Renderer(mappings.ui)


def test_urgent_and_critical_open_with_a_banner_and_routine_does_not(render, explain):
    critical = render.html(explain(CRITICAL))
    assert critical.index('class="rp-banner" role="alert"') < critical.index("rp-summary")
    assert "Contact your care team now." in critical
    assert "Talk with your care team today." in render.html(explain(BIRADS4))
    assert "rp-banner" not in render.html(explain(NORMAL))


def test_an_item_stating_a_rads_category_is_a_card_headed_by_it(render, explain):
    html = render.html(explain(BIRADS4))
    card = re.search(r'<li class="rp-card" data-rads="BI-RADS">(.*?)</li>', html).group(1)
    assert "BI-RADS category 4" in card and "biopsy" in card
    assert html.count("rp-card-head") == 1


def test_each_explained_term_opens_its_own_definition(render, explain):
    doc = explain(BIRADS4)
    html = render.html(doc)
    targets = re.findall(r'popovertarget="([^"]+)"', html)
    ids = re.findall(r'class="rp-def" id="([^"]+)"', html)
    assert targets == ids and len(set(ids)) == len(ids) >= 2
    in_impression = [
        g
        for g in doc["glossary"]
        if doc["impression"]["start"] <= g["start"] < doc["impression"]["end"]
    ]
    assert len(ids) == len(in_impression)
    assert html == render.html(doc)  # stable ids: the same document renders the same


def test_the_impression_is_quoted_exactly(render, explain):
    doc = explain(BIRADS4)
    quote = re.search(
        r'<blockquote class="rp-quote" lang="en">(.*?)</blockquote>', render.html(doc)
    )
    shown = re.sub(r'<span class="rp-def".*?</span>|<[^>]+>', "", quote.group(1))
    assert shown == doc["impression"]["text"]


def test_spanish_page_words_and_report_words_side_by_side(render, explain):
    html = render.html(explain(CRITICAL, "es"))
    assert '<article class="radplain" lang="es"' in html
    assert "Comuníquese ahora con su equipo médico." in html
    assert "Preguntas para su médico" in html
    assert '<blockquote class="rp-quote" lang="en">' in html  # the report stays English
    assert "(tension pneumothorax)" in html


def test_text_rendering_translates_its_banner(render, explain):
    assert render.text(explain(CRITICAL)).startswith("*** CONTACT YOUR CARE TEAM NOW. ***")
    assert render.text(explain(CRITICAL, "es")).startswith("*** COMUNÍQUESE AHORA")


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<svg onload="alert(1)"></svg>',
        "<style>body{background:url(http://evil.test/)}</style>",
        '"><iframe src="http://evil.test"></iframe>',
    ],
)
def test_report_markup_never_becomes_markup(render, explain, payload):
    html = render.html(explain(f"IMPRESSION: {payload} Small pleural effusion. {payload}"))
    elements = _elements(html)
    assert {tag for tag, _ in elements} <= _TAGS
    assert {name for _, attrs in elements for name, _ in attrs} <= {
        "class", "lang", "data-urgency", "role", "data-rads", "type", "popovertarget", "id",
        "popover",
    }  # fmt: skip
    assert payload in unescape(html)  # the payload is still there, as text


def test_the_sanitizer_removes_what_escaping_would_have_missed(render, explain, monkeypatch):
    """Defence in depth: with escaping switched off, nh3 still strips the payload."""
    monkeypatch.setattr(module, "escape", lambda s, quote=True: s)
    html = render.html(explain('IMPRESSION: <img src=x onerror="alert(1)"> Effusion.'))
    assert "<img" not in html and "onerror" not in html


def test_component_words_all_exist_in_both_languages(render):
    from pathlib import Path

    source = (Path(__file__).parents[2] / "service/api/static/component.js").read_text()
    used = set(re.findall(r'words\["([a-z_.]+)"\]', source))
    assert used and used <= set(render.words("en")) == set(render.words("es"))
