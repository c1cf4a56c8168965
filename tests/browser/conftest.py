"""Browser fixtures: a real headless Chromium (Debian's, driven by Playwright), the
service with stored explanations, and a patient portal on another origin that embeds them.

``service``: radplain on a loopback port, its store holding released explanations of the
reports in REPORTS for Patient/p1, patient tokens from the ``issuer`` stand-in, and the
portal's origin in RADPLAIN_PORTAL_ORIGINS. ``portal``: a different origin (another port)
whose pages embed the component (/component) or frame the embed page (/frame); a third
origin (``stranger``) serves the same pages but is not listed, so the service must refuse it.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from service import config
from service.annotate.source_text import from_plain
from service.api import create_app
from service.store.db import Store
from tests.conftest import DATA, npm_ci

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "artifacts" / "screenshots"
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
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# reports shown in the browser tests (tests/data/embed): the three of the README's
# screenshots, and one whose text tries every way to run, load or restyle something
# (evil.test never resolves)
REPORTS = {p.stem: p.read_text("utf-8") for p in sorted((DATA / "embed").glob("*.txt"))}
HOSTILE = REPORTS["hostile"]


@dataclass
class Service:
    base: str
    issuer: object  # the tests' stand-in for the hospital's authorization server

    def token(self, patient: str = "p1") -> str:
        """A patient token; Patient/p1 may read every report in REPORTS."""
        return self.issuer.token(scope="patient/Communication.read", patient=patient)


class _Portal(BaseHTTPRequestHandler):
    """A patient portal: /component embeds the web component, /frame the embed page."""

    service = ""

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/component":
            body = (
                f'<script src="{self.service}/embed.js" defer></script></head><body><main>'
                "<h1>Example Health: your results</h1>"
                f'<radplain-explanation report="{escape(query.get("report", ""))}">'
                "</radplain-explanation></main>"
            )
        elif url.path == "/frame":
            passed = ("report", "token", "lang")
            fragment = urlencode({k: v for k, v in query.items() if k in passed})
            body = (
                "</head><body><main><h1>Example Health: your results</h1>"
                f'<iframe title="Your report explained" src="{self.service}/embed#{fragment}" '
                'style="width:100%;height:80vh;border:0"></iframe></main>'
            )
        else:
            self.send_error(404)
            return
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Example Health portal</title>{body}</body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args):  # keep test output quiet
        pass


def _serve_portal() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def portals():
    """(listed, stranger): two portal origins; only the first is configured."""
    listed, stranger = _serve_portal(), _serve_portal()
    yield tuple(f"http://127.0.0.1:{s.server_port}" for s in (listed, stranger))
    listed.shutdown()
    stranger.shutdown()


@pytest.fixture(scope="session")
def portal(portals):
    return portals[0]


@pytest.fixture(scope="session")
def stranger(portals):
    return portals[1]


@pytest.fixture(scope="session")
def service(explainer, issuer, portals, tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'store.sqlite3'}"
    store = Store(db)
    for report_id, text in REPORTS.items():
        doc = explainer.explain(from_plain(text))
        store.save_explanation(
            report_id, "1", "Patient/p1", doc, [("Patient/p1", "release", "cures_act")]
        )
    settings = config.load(
        {"DATABASE_URL": db, "RADPLAIN_PORTAL_ORIGINS": portals[0], **issuer.env}
    )
    server = make_server("127.0.0.1", 0, create_app(settings, explainer), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    _Portal.service = base
    yield Service(base, issuer)
    server.shutdown()


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which("chromium"):
        pytest.fail("Chromium is needed: apt-get install chromium (.ci/run installs it)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core from the npm registry (pinned in tests/browser/package-lock.json)."""
    npm_ci(HERE)
    return (HERE / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


class Watch:
    """Everything a page did that it should not: dialogs, errors, CSP reports, requests."""

    def __init__(self, page, allowed_origins: tuple[str, ...]):
        self.dialogs, self.errors, self.csp, self.requests = [], [], [], []
        self.allowed = allowed_origins
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "console",
            lambda m: self.csp.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("request", lambda r: self.requests.append(r.url))

    @property
    def outside(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(self.allowed)]


@pytest.fixture()
def page(chromium, service, portal):
    context = chromium.new_context(viewport=DESKTOP)
    opened = context.new_page()
    opened.watch = Watch(opened, (service.base, portal))
    yield opened
    context.close()
