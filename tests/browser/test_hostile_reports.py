"""Report text is hostile input. A report carrying script tags, event handlers,
javascript: URLs, SVG, CSS and mutation-XSS payloads is shown through every embedding
(component, iframe page, demo page): no dialog opens, no script runs, no request leaves
the page, and the payloads appear only as the text they are."""

from __future__ import annotations

from conftest import HOSTILE
from playwright.sync_api import expect
from test_embedding import SHOWN, open_component

# anything a payload could have turned into inside the explanation
FORBIDDEN = "script, img, svg, style, link, iframe, object, embed, form, input, a, math, [style]"


def _interact(page, element):
    """Give handler payloads their chance: hover, focus and click everything."""
    element.locator(".rp-quote").hover()
    for term in element.locator(".rp-term").all():
        term.click()
        page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    page.wait_for_timeout(300)


def _nothing_happened(page):
    watch = page.watch
    assert watch.dialogs == [], watch.dialogs
    assert watch.outside == [], watch.outside  # e.g. http://evil.test/...
    assert watch.errors == [], watch.errors
    assert watch.csp == [], watch.csp  # not even an attempt the policy had to block


def test_component_shows_a_hostile_report_as_text(page, service, portal):
    element = open_component(page, service, portal, "hostile")
    _interact(page, element)
    _nothing_happened(page)
    assert element.locator(f".radplain :is({FORBIDDEN})").count() == 0
    quote = element.locator(".rp-quote")
    expect(quote).to_contain_text("<b onmouseover=\"alert('hover')\">", use_inner_text=True)
    expect(quote).to_contain_text("javascript:alert('bare')", use_inner_text=True)
    # and the clinical content survived the markup around it, negation included
    items = element.locator(".rp-items")
    expect(items).to_contain_text("no sign of air around the lung")
    expect(items).to_contain_text("fluid")


def test_embed_page_shows_a_hostile_report_as_text(page, service, portal):
    page.goto(f"{portal}/frame?report=hostile&token={service.token()}")
    frame = page.frame_locator("iframe")
    expect(frame.locator(SHOWN)).to_be_visible(timeout=15000)
    _interact(page, frame.locator("radplain-explanation"))
    _nothing_happened(page)
    assert frame.locator(f".radplain :is({FORBIDDEN})").count() == 0


def test_demo_page_shows_pasted_hostile_text_as_text(page, service):
    page.goto(service.base + "/")
    page.get_by_label("Report text").fill(HOSTILE)
    page.get_by_role("button", name="Explain").click()
    element = page.locator("radplain-explanation")
    expect(page.locator(SHOWN)).to_be_visible(timeout=15000)
    _interact(page, element)
    _nothing_happened(page)
    assert element.locator(f".radplain :is({FORBIDDEN})").count() == 0
