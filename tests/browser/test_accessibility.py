"""WCAG 2.1 AA, checked by axe-core (from the npm registry, injected into the page) on
every embedding in English and Spanish; and the screenshots linked from the README."""

from __future__ import annotations

import pytest
from conftest import ARTIFACTS, DESKTOP, PHONE
from playwright.sync_api import expect
from test_embedding import SHOWN, open_component

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _serious(page, axe_source) -> list[str]:
    page.evaluate(axe_source)  # DevTools evaluation: not subject to the page's CSP
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("report", ["birads4", "critical", "hostile"])
def test_component_has_no_serious_violations(page, service, portal, axe_source, report, lang):
    element = open_component(page, service, portal, report, lang=lang)
    element.locator(".rp-term").first.click()  # with a definition open, too
    assert _serious(page, axe_source) == []


@pytest.mark.parametrize("lang", ["en", "es"])
def test_embed_page_has_no_serious_violations(page, service, axe_source, lang):
    page.goto(f"{service.base}/embed#report=birads4&token={service.token()}&lang={lang}")
    expect(page.locator(SHOWN)).to_be_visible(timeout=15000)
    assert _serious(page, axe_source) == []


def test_demo_page_has_no_serious_violations(page, service, axe_source):
    page.goto(service.base + "/")
    page.get_by_label("Report text").fill("IMPRESSION: No pneumothorax. Small pleural effusion.")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator(SHOWN)).to_be_visible(timeout=15000)
    assert _serious(page, axe_source) == []


SCREENSHOTS = {"normal-cxr": "normal chest X-ray", "birads4": "BI-RADS 4", "critical": "critical"}


@pytest.mark.parametrize("report", SCREENSHOTS)
@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_screenshots(chromium, service, portal, report, width):
    """Saved under artifacts/screenshots/ (make screenshots copies them to docs/)."""
    viewport = PHONE if width == "phone" else DESKTOP
    context = chromium.new_context(viewport=viewport, is_mobile=width == "phone")
    page = context.new_page()
    try:
        open_component(page, service, portal, report)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{report}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    finally:
        context.close()


def test_the_axe_check_itself_finds_violations(page, axe_source):
    """A control: the same check on a page with known faults must report them."""
    page.set_content(
        '<html><body><img src="data:,"><p style="color:#bbb;background:#fff">faint</p>'
        "<button></button></body></html>"
    )
    found = " ".join(_serious(page, axe_source))
    assert "image-alt" in found and "color-contrast" in found and "button-name" in found
