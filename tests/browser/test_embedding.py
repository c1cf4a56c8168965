"""What a portal embeds, in a real Chromium: the <radplain-explanation> component on a
portal page of another origin, and the /embed page in the portal's iframe."""

from __future__ import annotations

import re

from conftest import PHONE
from playwright.sync_api import expect

SHOWN = "radplain-explanation article.radplain"  # Playwright's CSS pierces open shadow roots


def open_component(page, service, portal, report, lang=None, token=None):
    page.goto(f"{portal}/component?report={report}")
    if lang:
        page.locator("radplain-explanation").evaluate("(e, l) => e.setAttribute('lang', l)", lang)
    page.locator("radplain-explanation").evaluate(
        "(e, t) => { e.token = t; }", token or service.token()
    )
    expect(page.locator(SHOWN)).to_be_visible(timeout=15000)
    return page.locator("radplain-explanation")


def test_component_on_a_portal_page_shows_the_stored_explanation(page, service, portal):
    element = open_component(page, service, portal, "birads4")
    expect(element.locator(".rp-banner")).to_have_text("Talk with your care team today.")
    card = element.locator("li.rp-card")
    expect(card.locator(".rp-card-head")).to_have_text("BI-RADS category 4")
    expect(card).to_contain_text("biopsy")
    quote = element.locator(".rp-quote")
    expect(quote).to_contain_text("BI-RADS 4: Suspicious.", use_inner_text=True)
    expect(element.locator(".rp-questions li").first).to_be_visible()
    expect(element.locator(".rp-not")).to_contain_text("does not replace your doctor")
    assert page.watch.errors == [] and page.watch.outside == [] and page.watch.csp == []


def test_terms_open_their_definitions_by_mouse(page, service, portal):
    element = open_component(page, service, portal, "birads4")
    term = element.locator(".rp-term", has_text="mass").first
    definition = element.locator(".rp-def", has_text="lump").first
    expect(definition).to_be_hidden()
    term.click()
    expect(definition).to_be_visible()
    expect(definition).to_contain_text("mass: A mass is a lump")
    page.mouse.click(5, 5)  # a tap elsewhere closes it
    expect(definition).to_be_hidden()


def test_terms_open_their_definitions_by_keyboard(page, service, portal):
    element = open_component(page, service, portal, "birads4")
    focused = """() => {
        let a = document.activeElement;
        while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
        return a && a.className;
    }"""
    for _ in range(25):  # Tab from the top of the page to the first marked word
        page.keyboard.press("Tab")
        if page.evaluate(focused) == "rp-term":
            break
    else:
        raise AssertionError("no explained term can be reached with the Tab key")
    page.keyboard.press("Enter")
    opened = element.locator(".rp-def:popover-open")
    expect(opened).to_have_count(1)
    expect(opened).to_be_visible()
    page.keyboard.press("Escape")
    expect(element.locator(".rp-def:popover-open")).to_have_count(0)


def test_the_language_switch_reexplains_in_spanish_keeping_the_medical_words(page, service, portal):
    element = open_component(page, service, portal, "critical")
    expect(element.locator(".rp-banner")).to_have_text("Contact your care team now.")
    element.get_by_role("button", name="Español").click()
    expect(element.locator("article.radplain[lang=es]")).to_be_visible()
    expect(element.locator(".rp-banner")).to_have_text("Comuníquese ahora con su equipo médico.")
    # the report's own words stay beside the Spanish explanation
    expect(element.locator(".rp-items")).to_contain_text("(tension pneumothorax)")
    expect(element.get_by_role("button", name="Español")).to_have_attribute("aria-pressed", "true")
    expect(element.get_by_role("group")).to_have_attribute("aria-label", "Idioma")
    element.get_by_role("button", name="English").click()
    expect(element.locator("article.radplain[lang=en]")).to_be_visible()


def test_accept_language_chooses_spanish_when_the_page_sets_no_language(chromium, service, portal):
    context = chromium.new_context(locale="es-MX")
    page = context.new_page()
    try:
        open_component(page, service, portal, "normal-cxr")
        heading = page.locator("radplain-explanation .rp-summary h2")
        expect(heading).to_have_text("En pocas palabras")
    finally:
        context.close()


def test_another_patients_token_sees_no_explanation(page, service, portal):
    page.goto(f"{portal}/component?report=birads4")
    element = page.locator("radplain-explanation")
    element.evaluate("(e, t) => { e.token = t; }", service.token("p2"))
    expect(element.locator(".rp-status")).to_have_text("There is no explanation to show yet.")
    expect(element.locator("article")).to_have_count(0)


def test_the_embed_page_in_a_portal_iframe(page, service, portal):
    token = service.token()
    page.goto(f"{portal}/frame?report=critical&token={token}&lang=es")
    frame = page.frame_locator("iframe")
    expect(frame.locator(SHOWN)).to_be_visible(timeout=15000)
    expect(frame.locator("radplain-explanation h1")).to_have_text(
        "Su informe de imágenes en palabras sencillas"
    )
    expect(frame.locator(".rp-banner")).to_contain_text("Comuníquese ahora")
    embedded = next(f for f in page.frames if f.url.startswith(service.base))
    assert token not in embedded.url and "#" not in embedded.url  # read once, then removed


def test_the_embed_page_refuses_portals_not_configured(page, service, stranger):
    page.goto(f"{stranger}/frame?report=critical&token={service.token()}")
    expect(page.locator("iframe")).to_be_attached()
    page.wait_for_load_state("load")
    # Chromium blocks the frame (its document is replaced by an error page) and says why
    expect(page.frame_locator("iframe").locator("radplain-explanation")).to_have_count(0)
    assert any("frame-ancestors" in message for message in page.watch.csp), page.watch.csp


def test_phone_width_has_no_sideways_scrolling(chromium, service, portal):
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        element = open_component(page, service, portal, "birads4")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
        element.locator(".rp-term").first.tap()
        expect(element.locator(".rp-def:popover-open")).to_be_in_viewport()
    finally:
        context.close()


def test_printing_lists_the_definitions_and_hides_the_controls(page, service, portal):
    element = open_component(page, service, portal, "birads4")
    expect(element.locator(".rp-words")).to_be_hidden()  # on screen: the popovers
    page.emulate_media(media="print")
    expect(element.locator(".rp-words")).to_be_visible()
    expect(element.locator(".rp-words dt").first).to_have_text(re.compile(r"\w"))
    expect(element.locator(".rp-switch")).to_be_hidden()
