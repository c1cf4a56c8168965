"""The demo page at / shows pasted text through the same component portals embed."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_paste_a_report_and_read_its_explanation(page, service):
    page.goto(service.base + "/")
    page.get_by_label("Report text").fill(
        "IMPRESSION: No pneumothorax. Small left pleural effusion."
    )
    page.get_by_role("button", name="Explain").click()
    element = page.locator("radplain-explanation")
    expect(element.locator(".rp-summary p")).to_have_text(re.compile(r"\S"), timeout=15000)
    items = element.locator(".rp-items li").all_text_contents()
    assert any("fluid" in t.lower() for t in items)
    assert not any("pneumothorax" in t.lower() and "no sign" not in t.lower() for t in items)
    expect(element).to_have_attribute("aria-busy", "false")
    # switching language explains the same pasted text again, in Spanish
    element.get_by_role("button", name="Español").click()
    expect(element.locator("article.radplain[lang=es] .rp-items")).to_contain_text("líquido")
    assert page.watch.errors == [] and page.watch.csp == []


def test_errors_are_shown_in_words(page, service):
    page.goto(service.base + "/")
    page.get_by_label("Report text").fill("a" * (6 * 1024 * 1024))
    page.get_by_role("button", name="Explain").click()
    status = page.locator("radplain-explanation .rp-status")
    expect(status).to_contain_text("larger than 5 MB", timeout=15000)
    expect(status).to_have_class(re.compile("rp-error"))
