"""The embed endpoints and language negotiation, at the HTTP level (the browser tests
show the same things working in Chromium)."""

from __future__ import annotations

import pytest

from service import config
from service.annotate.source_text import from_plain
from service.api import create_app
from service.store.db import Store

PORTAL = "https://portal.example.org"
REPORT = "IMPRESSION: Small left pleural effusion. No pneumothorax."


@pytest.fixture()
def app(explainer, issuer, tmp_path):
    db = f"sqlite:///{tmp_path / 's.sqlite3'}"
    Store(db).save_explanation(
        "r1", "1", "Patient/p1", explainer.explain(from_plain(REPORT)),
        [("Patient/p1", "release", "cures_act")],
    )  # fmt: skip
    settings = config.load({"DATABASE_URL": db, "RADPLAIN_PORTAL_ORIGINS": PORTAL, **issuer.env})
    return create_app(settings, explainer)


@pytest.fixture()
def patient(issuer):
    return issuer.headers(scope="patient/Communication.read", patient="p1")


@pytest.mark.parametrize(
    ("asked", "language"),
    [
        ({}, "en"),
        ({"headers": {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}}, "es"),
        ({"headers": {"Accept-Language": "fr-FR, de"}}, "en"),  # not offered: English
        ({"query_string": {"lang": "es"}, "headers": {"Accept-Language": "en"}}, "es"),
    ],
)
def test_language_is_lang_then_accept_language_then_english(app, patient, asked, language):
    headers = {**patient, **asked.get("headers", {})}
    got = app.test_client().get(
        "/v1/reports/r1/explanation", headers=headers, query_string=asked.get("query_string")
    )
    assert got.status_code == 200 and got.json["language"] == language


def test_a_stored_explanation_in_the_other_language_keeps_its_text_and_offsets(app, patient):
    client = app.test_client()
    en = client.get("/v1/reports/r1/explanation", headers=patient).json
    es = client.get("/v1/reports/r1/explanation?lang=es", headers=patient).json
    assert es["text"] == en["text"] and es["impression"] == en["impression"]
    assert [(i["start"], i["end"]) for i in es["items"]] == [
        (i["start"], i["end"]) for i in en["items"]
    ]
    assert es["items"][0]["lay"] != en["items"][0]["lay"]


def test_a_language_not_offered_is_a_clear_400(app, patient):
    got = app.test_client().get("/v1/reports/r1/explanation?lang=fr", headers=patient)
    assert got.status_code == 400 and got.mimetype == "application/problem+json"
    assert "en, es" in got.json["detail"]


def test_post_explain_answers_html_when_asked(app):
    got = app.test_client().post(
        "/v1/explain",
        json={"text": REPORT},
        headers={"Accept": "text/html", "Accept-Language": "es"},
    )
    assert got.mimetype == "text/html"
    assert got.get_data(as_text=True).startswith('<article class="radplain" lang="es"')


def test_listed_portals_may_call_from_their_pages_and_others_may_not(app, patient):
    client = app.test_client()
    preflight = client.options(
        "/v1/reports/r1/explanation",
        headers={
            "Origin": PORTAL,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers  # tokens, not cookies
    got = client.get("/v1/reports/r1/explanation", headers={**patient, "Origin": PORTAL})
    assert got.headers["Access-Control-Allow-Origin"] == PORTAL
    stranger = client.get(
        "/v1/reports/r1/explanation", headers={**patient, "Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in stranger.headers
    assert (
        "Access-Control-Allow-Origin"
        not in client.get("/v1/holds", headers={"Origin": PORTAL}).headers
    )  # only the explanation endpoints are open to portals


def test_no_portals_configured_means_no_cross_origin_access(explainer, tmp_path):
    app = create_app(config.load({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}), explainer)
    got = app.test_client().post("/v1/explain", json={"text": REPORT}, headers={"Origin": PORTAL})
    assert "Access-Control-Allow-Origin" not in got.headers
    page = app.test_client().get("/embed")
    assert page.headers["Content-Security-Policy"].endswith("frame-ancestors 'self'")


def test_embed_page_may_be_framed_by_listed_portals_only(app):
    got = app.test_client().get("/embed", headers={"Accept-Language": "es"})
    csp = got.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {PORTAL}" in csp and "script-src 'self'" in csp
    assert got.headers["Referrer-Policy"] == "no-referrer"
    assert got.headers["Cache-Control"] == "no-store"
    body = got.get_data(as_text=True)
    assert '<html lang="es">' in body and "Su informe de imágenes" in body


def test_embed_script_carries_its_styles_and_words_and_is_cacheable(app):
    client = app.test_client()
    got = client.get("/embed.js")
    body = got.get_data(as_text=True)
    assert got.mimetype == "text/javascript"
    assert "customElements.define" in body and ".rp-term" in body and "Idioma" in body
    assert got.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    again = client.get("/embed.js", headers={"If-None-Match": got.headers["ETag"]})
    assert again.status_code == 304


def test_portal_origins_must_be_bare_origins():
    from service.errors import ConfigError

    for bad in ("https://portal.example.org/path", "*", "https://*.example.org", "'self'"):
        with pytest.raises(ConfigError, match="RADPLAIN_PORTAL_ORIGINS"):
            config.load({"RADPLAIN_PORTAL_ORIGINS": bad})
    assert config.load(
        {"RADPLAIN_PORTAL_ORIGINS": "https://a.org, http://127.0.0.1:8080"}
    ).portal_origins == (
        "https://a.org",
        "http://127.0.0.1:8080",
    )
