"""Every request and response of the service, checked against openapi/openapi.yaml."""

import base64
import json
import re
from pathlib import Path

import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from service import config
from service.api import create_app

SPEC = OpenAPI.from_dict(
    yaml.safe_load((Path(__file__).parents[3] / "openapi/openapi.yaml").read_text()),
    # openapi-core parses application/json only; problems are checked like everything else
    config=Config(extra_media_type_deserializers={"application/problem+json": json.loads}),
)


@pytest.fixture(scope="module")
def client(explainer):
    app = create_app(config.load({}), explainer=explainer)
    return app.test_client()


def _checked(client, method, path, *, valid_request=True, **kw):
    """Call the app, then check the request and the response against the contract (the
    request is rebuilt for the check: the app has already read its body). Bad requests
    are sent on purpose with ``valid_request=False``: only their answer is checked."""
    response = getattr(client, method)(path, **kw)
    request = Request(EnvironBuilder(path=path, method=method.upper(), **kw).get_environ())
    if valid_request:
        SPEC.validate_request(WerkzeugOpenAPIRequest(request))
    SPEC.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
    return response


def test_healthz(client):
    assert _checked(client, "get", "/healthz").json == {"status": "ok"}


def test_readyz_ready_and_not_ready_match_the_contract(explainer, tmp_path):
    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    ready = create_app(config.load({"DATABASE_URL": db}), explainer=explainer).test_client()
    body = _checked(ready, "get", "/readyz").json
    assert body == {"status": "ready", "checks": {"database": "ok", "fhir": "not configured"}}
    # nothing listens on port 1: the FHIR check fails and the problem says what to fix
    down = config.load({"DATABASE_URL": db, "RADPLAIN_FHIR_BASE": "http://127.0.0.1:1/fhir"})
    response = _checked(create_app(down, explainer=explainer).test_client(), "get", "/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "ok"
    assert "check RADPLAIN_FHIR_BASE" in response.json["detail"]


def test_metrics_matches_the_contract(client):
    response = _checked(client, "get", "/metrics")
    assert "radplain_reports_processed_total" in response.get_data(as_text=True)


def test_explain_text_matches_the_contract(client, corpus):
    for report in corpus[:25]:
        res = _checked(client, "post", "/v1/explain", json={"text": report["text"]})
        assert res.status_code == 200 and res.json["text"]


def test_explanation_with_incidental_findings_matches_the_contract(client):
    """incidental[] (decided, depending on inputs, not determined), incidental_not_current[],
    actionable items and findings, and a phrase reread in context."""
    text = (
        "IMPRESSION:\n1. 4.4 cm AAA. 2. 1.2 cm thyroid nodule. 3. 4 cm left ovarian cyst.\n"
        "4. No adrenal nodule. 5. 3 cm pancreatic mass. Clinical correlation recommended."
    )
    doc = _checked(client, "post", "/v1/explain", json={"text": text}).json
    assert {r["action"] for r in doc["incidental"]} >= {"imaging", "depends_on_inputs"}
    assert doc["incidental_not_current"]
    assert all(isinstance(i["actionable"], bool) for i in doc["items"])
    assert any(p.get("context") for p in doc["phrases"])


def test_html_fragment_and_embed_routes_match_the_contract(client):
    fragment = _checked(
        client,
        "post",
        "/v1/explain",
        query_string={"format": "html", "lang": "es"},
        json={"text": "IMPRESSION: No pneumothorax."},
    )
    assert fragment.mimetype == "text/html" and 'lang="es"' in fragment.get_data(as_text=True)
    assert _checked(client, "get", "/embed", query_string={"lang": "es"}).status_code == 200
    refused = _checked(client, "get", "/embed", query_string={"lang": "fr"}, valid_request=False)
    assert refused.status_code == 400


def test_explain_fhir_report_in_spanish(client):
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "CXR"},
        "presentedForm": [
            {
                "contentType": "text/plain",
                "data": base64.b64encode(b"IMPRESSION: No pneumothorax.").decode(),
            }
        ],
    }
    res = _checked(client, "post", "/v1/explain", json={"report": report, "lang": "es"})
    assert res.json["language"] == "es"
    assert [f["assertion"] for f in res.json["findings"]] == ["absent"]


@pytest.mark.parametrize(
    "kwargs,status,detail",
    [
        ({"json": {}}, 400, "exactly one of 'text'"),
        (
            {"json": {"text": "x", "report": {"resourceType": "DiagnosticReport"}}},
            400,
            "exactly one",
        ),
        ({"json": {"text": "IMPRESSION: x", "lang": "fr"}}, 400, "lang"),
        (
            {"json": {"report": {"resourceType": "Patient"}}},
            400,
            "expected resourceType DiagnosticReport",
        ),
        (
            {
                "json": {
                    "report": {
                        "resourceType": "DiagnosticReport",
                        "status": "final",
                        "code": {"text": "x"},
                    }
                }
            },
            400,
            "no presentedForm, conclusion or text",
        ),
        ({"data": "IMPRESSION: x", "content_type": "text/plain"}, 415, "application/json"),
        ({"json": {"text": "a" * (6 * 1024 * 1024)}}, 413, "larger than 5 MB"),
    ],
)
def test_bad_input_is_problem_json_that_says_what_to_fix(client, kwargs, status, detail):
    res = _checked(client, "post", "/v1/explain", valid_request=False, **kwargs)
    assert res.status_code == status and res.mimetype == "application/problem+json"
    assert detail in res.json["detail"] and res.json["status"] == status


def test_unknown_route_is_problem_json(client):
    res = client.get("/nope")
    assert res.status_code == 404 and res.mimetype == "application/problem+json"


def test_every_route_is_in_the_contract(client):
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule), m)  # Flask <x> is OpenAPI {x}
        for r in client.application.url_map.iter_rules()
        for m in r.methods
        if m not in ("HEAD", "OPTIONS") and not r.endpoint.endswith("static")
    }
    spec = yaml.safe_load((Path(__file__).parents[3] / "openapi/openapi.yaml").read_text())["paths"]
    documented = {(path, method.upper()) for path, ops in spec.items() for method in ops}
    assert routes == documented


def test_stored_explanation_and_holds_match_the_contract(explainer, tmp_path, issuer, corpus):
    from service.annotate.source_text import from_plain
    from service.store.db import Store

    db = f"sqlite:///{tmp_path / 's.sqlite3'}"
    doc = explainer.explain(from_plain(corpus[0]["text"]))
    store = Store(db)
    store.save_explanation("r1", "1", "Patient/A", doc, [("Patient/A", "hold", "state_delay")])
    store.add_hold("k", "c1", "r1", "1", "Patient/A", "state_delay", None, "clinician review")
    client = create_app(config.load({"DATABASE_URL": db, **issuer.env}), explainer).test_client()
    system = issuer.headers(scope="system/Communication.read")
    got = _checked(client, "get", "/v1/reports/r1/explanation", headers=system)
    assert got.json == doc
    html = _checked(client, "get", "/v1/reports/r1/explanation?format=html", headers=system)
    assert html.mimetype == "text/html"
    assert _checked(client, "get", "/v1/holds", headers=system).json["holds"][0]["basis"] == (
        "state_delay"
    )
    held = issuer.headers(scope="patient/Communication.read", patient="A")
    assert _checked(client, "get", "/v1/reports/r1/explanation", headers=held).status_code == 404
    assert _checked(client, "get", "/v1/holds", valid_request=False).status_code == 401


def test_a_database_outage_is_a_retryable_503_that_says_so(explainer, issuer):
    down = "postgresql+psycopg://radplain@127.0.0.1:1/radplain"  # nothing listens on port 1
    app = create_app(config.load({"DATABASE_URL": down, **issuer.env}), explainer)
    client = app.test_client()
    system = issuer.headers(scope="system/Communication.read")
    for path in ("/v1/reports/r1/explanation", "/v1/holds"):
        response = _checked(client, "get", path, headers=system)
        assert response.status_code == 503, response.json
        assert response.headers["Retry-After"] == "5"
        assert "the database cannot be reached (OperationalError)" in response.json["detail"]
        assert "1/radplain" not in response.get_data(as_text=True)  # never the URL


def test_a_read_whose_audit_record_cannot_be_written_is_not_served(
    explainer, tmp_path, issuer, corpus, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    from service.annotate.source_text import from_plain
    from service.store.db import Store

    db = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    Store(db).save_explanation(
        "r1", "1", "Patient/A", explainer.explain(from_plain(corpus[0]["text"])), []
    )

    def down(self, **event):
        raise OperationalError("INSERT INTO audit_event", {}, Exception("connection lost"))

    monkeypatch.setattr(Store, "audit", down)
    client = create_app(config.load({"DATABASE_URL": db, **issuer.env}), explainer).test_client()
    system = issuer.headers(scope="system/Communication.read")
    response = _checked(client, "get", "/v1/reports/r1/explanation", headers=system)
    assert response.status_code == 503  # the explanation was read, but not handed out unrecorded
    assert "summary" not in response.get_data(as_text=True)
