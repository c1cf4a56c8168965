"""Security headers on every route of the app (url_map, so a new route is covered the day it
is added), on errors the app itself answers (404, 405, 500), and on the pages that set
their own Content-Security-Policy, which must keep theirs."""

from __future__ import annotations

import pytest

from service import config
from service.api import create_app
from service.api.headers import DEFAULT_CSP

SAMPLE_ARGS = {"report_id": "r1", "filename": "demo.js"}
PAGES_WITH_THEIR_OWN_CSP = {"/", "/docs", "/embed"}


@pytest.fixture(scope="module")
def app(explainer, issuer, tmp_path_factory):
    db = tmp_path_factory.mktemp("headers") / "store.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{db}", "RADPLAIN_NOTIFY_SECRET": "x", **issuer.env}
    return create_app(config.load(env), explainer=explainer)


def _every_route(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.build(SAMPLE_ARGS, append_unknown=False)[1]


def _assert_secure(response, path):
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert headers["Referrer-Policy"] == "no-referrer", path
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors" in csp, (path, csp)
    if response.mimetype in ("application/json", "application/problem+json"):
        assert csp == DEFAULT_CSP, path


def test_every_route_sends_the_security_headers(app, issuer):
    client = app.test_client()
    token = issuer.headers(scope="system/*.read", fhirUser="Practitioner/9")
    routes = list(_every_route(app))
    assert len(routes) >= 17  # the url_map really was walked
    for method, path in routes:
        for headers in ({}, token):
            response = client.open(path, method=method, headers=headers)
            _assert_secure(response, f"{method} {path} -> {response.status_code}")


@pytest.mark.parametrize("path", sorted(PAGES_WITH_THEIR_OWN_CSP))
def test_pages_keep_their_own_content_security_policy(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert csp != DEFAULT_CSP and "script-src 'self'" in csp


def test_errors_the_app_answers_itself_send_the_security_headers(explainer):
    app = create_app(config.load({}), explainer=explainer)

    def boom():
        raise RuntimeError("unexpected")

    app.add_url_rule("/boom", view_func=boom)
    client = app.test_client()
    for method, path, status in [
        ("GET", "/no/such/route", 404),
        ("DELETE", "/v1/explain", 405),
        ("GET", "/boom", 500),
    ]:
        response = client.open(path, method=method)
        assert response.status_code == status
        _assert_secure(response, path)


def test_answers_to_an_authenticated_caller_are_not_stored_by_caches(app, issuer):
    response = app.test_client().get("/v1/holds", headers=issuer.headers(scope="system/*.read"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_the_portal_script_keeps_its_own_caching(app):
    response = app.test_client().get("/embed.js")
    assert response.headers["Cache-Control"] == "public, max-age=300"
