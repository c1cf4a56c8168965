"""The demo page in a real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import re
import shutil
import threading

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from service import config
from service.api import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# flags for a machine without outside network: no background connections at start-up
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = (
    '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>\n'
    "IMPRESSION: No pneumothorax. Small left pleural effusion."
)


@pytest.fixture(scope="module")
def base(explainer, tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "d.sqlite3"
    app = create_app(config.load({"DATABASE_URL": f"sqlite:///{db}"}), explainer)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not shutil.which("chromium"):
        pytest.fail("Chromium is needed: apt-get install chromium (.ci/run installs it)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def test_paste_a_hostile_report_and_read_its_explanation(base, browser):
    page = browser.new_page()
    errors, dialogs = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(base + "/")
    page.get_by_label("Report text").fill(HOSTILE)
    page.get_by_role("button", name="Explain").click()
    # locator waits, not wait_for_function: the page's CSP (no eval) breaks string polling
    expect(page.locator("#summary")).to_have_text(re.compile(r"\S"), timeout=15000)

    items = page.locator("#items li").all_text_contents()
    assert any("effusion" in t.lower() or "fluid" in t.lower() for t in items)
    assert not any("pneumothorax" in t.lower() and "no " not in t.lower() for t in items)
    # the report's markup stayed text: nothing ran, nothing was inserted
    assert page.evaluate("window.pwned") is None
    assert page.locator("#result img, #result script").count() == 0
    assert errors == [] and dialogs == []
    assert page.locator("#result").get_attribute("aria-busy") == "false"


def test_errors_are_shown_in_words(base, browser):
    page = browser.new_page()
    page.goto(base + "/")
    page.get_by_label("Report text").fill("a" * (6 * 1024 * 1024))
    page.get_by_role("button", name="Explain").click()
    expect(page.locator("#status")).to_contain_text("larger than 5 MB", timeout=15000)


def test_keyboard_only_use_and_labels(base, browser):
    page = browser.new_page()
    page.goto(base + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "report"
    page.keyboard.type("IMPRESSION: Normal chest radiograph.")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    page.keyboard.press("Enter")
    # locator waits, not wait_for_function: the page's CSP (no eval) breaks string polling
    expect(page.locator("#summary")).to_have_text(re.compile(r"\S"), timeout=15000)
    assert page.locator("html").get_attribute("lang") == "en"


def test_the_page_forbids_inline_and_foreign_scripts(base, browser):
    page = browser.new_page()
    response = page.goto(base + "/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    ran = page.evaluate(
        """() => new Promise((done) => {
            const s = document.createElement("script");
            s.textContent = "window.inlineRan = true";
            document.body.append(s);
            setTimeout(() => done(window.inlineRan === true), 100);
        })"""
    )
    assert ran is False  # an injected inline script is refused by the policy


def test_the_api_reference_renders_the_contract_without_a_cdn(base, browser):
    page = browser.new_page()
    errors, foreign = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: r.url.startswith(base) or foreign.append(r.url))
    page.goto(base + "/docs")
    page.get_by_text("/v1/explain", exact=True).first.wait_for(timeout=15000)
    assert page.get_by_text("/v1/reports/{report_id}/explanation").count() >= 1
    assert errors == [] and foreign == []  # every asset came from the service itself
