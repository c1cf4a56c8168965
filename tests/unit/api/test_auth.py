"""The auth matrix: every stored-PHI route x every kind of token, plus JWKS key lookup.

Tokens are real RS256 JWTs signed with keys made here; the JWKS is served over real HTTP.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service import config
from service.annotate.source_text import from_plain
from service.api import create_app
from service.store.db import Store

ISSUER, AUDIENCE = "https://auth.hospital.example", "radplain"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)

# every route that reads or changes stored PHI; a new one must be added here
HOLDS, EXPLANATION = "/v1/holds", "/v1/reports/r1/explanation"  # r1: patient A's report
ACTIONS = ["/v1/sync", "/v1/reports/r1/process", "/v1/reports/r1/hold", "/v1/reports/r1/release"]
PHI_ROUTES = [("get", HOLDS), ("get", EXPLANATION)] + [("post", path) for path in ACTIONS]


# tokens are made when this module is collected and used minutes later in a full run:
# an hour, so that a slow suite (the OCR corpus tests run first) never expires them
def token(key=KEY, *, exp=3600, aud=AUDIENCE, iss=ISSUER, kid="k1", **claims) -> str:
    now = int(time.time())
    body = {"iss": iss, "aud": aud, "sub": "client-1", "iat": now, "exp": now + exp, **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


TOKENS = {
    "none": (None, 401),
    "garbage": ("not.a.jwt", 401),
    "bad signature": (token(OTHER, scope="system/*.read"), 401),
    "expired": (token(exp=-3600, scope="system/*.read"), 401),
    "wrong audience": (token(aud="someone-else", scope="system/*.read"), 401),
    "wrong issuer": (token(iss="https://evil.example", scope="system/*.read"), 401),
    "unsigned (alg none)": (
        jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "x",
                "exp": int(time.time()) + 3600,
                "scope": "system/*.read",
            },
            None,
            algorithm="none",
        ),
        401,
    ),
    "no useful scope": (token(scope="openid profile"), 403),
    "write-only scope": (token(scope="system/Communication.write"), 403),
    # patients: never the holds list; their own released explanation, nobody else's
    "patient A token": (token(scope="patient/*.read", patient="A"), {HOLDS: 403, EXPLANATION: 200}),
    "patient B token": (token(scope="patient/*.read", patient="B"), {HOLDS: 403, EXPLANATION: 404}),
    "system token (v1)": (token(scope="system/Communication.read"), 200),
    "system token (v2)": (token(scope="system/Communication.rs"), 200),
    "clinician token": (token(scope="user/*.read", fhirUser="Practitioner/9"), 200),
}


@pytest.fixture(scope="module")
def client(explainer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("auth")
    (folder / "issuer.pem").write_bytes(PUBLIC_PEM)
    db = f"sqlite:///{folder / 'store.sqlite3'}"
    store = Store(db)
    store.save_explanation(
        "r1",
        "1",
        "Patient/A",
        explainer.explain(from_plain("IMPRESSION: Normal study.")),
        [("Patient/A", "release", "cures_act")],
    )
    store.add_hold(
        "k",
        "c1",
        "r1",
        "1",
        "Patient/A",
        "state_delay",
        datetime.now(UTC) + timedelta(days=3),
        None,
    )
    settings = config.load(
        {
            "DATABASE_URL": db,
            "RADPLAIN_AUTH_ISSUER": ISSUER,
            "RADPLAIN_AUTH_AUDIENCE": AUDIENCE,
            "RADPLAIN_AUTH_PUBLIC_KEY_FILE": str(folder / "issuer.pem"),
        }
    )
    return create_app(settings, explainer=explainer).test_client()


@pytest.mark.parametrize(("method", "path"), PHI_ROUTES)
@pytest.mark.parametrize("kind", list(TOKENS))
def test_auth_matrix(client, method, path, kind):
    value, expected = TOKENS[kind]
    expected = expected[path] if isinstance(expected, dict) and path in expected else expected
    if method == "post" and expected != 401:
        # only the system write token may run sync/process (past auth, it then needs a FHIR
        # server this matrix does not configure: 503); clinician actions need a Practitioner
        writer = kind == "write-only scope" and path in ACTIONS[:2]
        expected = 503 if writer else 403
    headers = {"Authorization": f"Bearer {value}"} if value else {}
    response = getattr(client, method)(path, headers=headers)
    assert response.status_code == expected, response.get_data(as_text=True)
    if expected == 401:
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if expected == 200 and path == HOLDS:
        assert response.json["holds"][0]["audience"] == "Patient/A"
    if expected == 200 and path == EXPLANATION:
        assert response.json["summary"] and response.json["language"] == "en"


def test_errors_say_what_to_fix(client):
    def detail(tok):
        return client.get("/v1/holds", headers={"Authorization": f"Bearer {tok}"}).json["detail"]

    assert "expired" in detail(TOKENS["expired"][0])
    assert "'radplain'" in detail(TOKENS["wrong audience"][0])
    assert "Bearer" in client.get("/v1/holds").json["detail"]


def test_phi_routes_refuse_everyone_when_verification_is_not_configured(explainer, tmp_path):
    settings = config.load({"DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}"})
    client = create_app(settings, explainer=explainer).test_client()
    for method, path in PHI_ROUTES:
        response = getattr(client, method)(
            path, headers={"Authorization": f"Bearer {TOKENS['system token (v1)'][0]}"}
        )
        assert response.status_code == 401
        assert "RADPLAIN_AUTH_ISSUER" in response.json["detail"]


def test_stateless_explain_needs_no_token(client):
    assert client.post("/v1/explain", json={"text": "IMPRESSION: Normal."}).status_code == 200


def test_half_configured_auth_stops_startup():
    with pytest.raises(Exception, match="RADPLAIN_AUTH_AUDIENCE"):
        config.load({"RADPLAIN_AUTH_ISSUER": ISSUER})


@pytest.fixture()
def jwks_url():
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


def test_keys_are_fetched_from_the_jwks_url(explainer, tmp_path, jwks_url):
    settings = config.load(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}",
            "RADPLAIN_AUTH_ISSUER": ISSUER,
            "RADPLAIN_AUTH_AUDIENCE": AUDIENCE,
            "RADPLAIN_AUTH_JWKS_URL": jwks_url,
        }
    )
    client = create_app(settings, explainer=explainer).test_client()

    def status(tok):
        return client.get("/v1/holds", headers={"Authorization": f"Bearer {tok}"}).status_code

    assert status(token(scope="system/*.read")) == 200
    assert status(token(scope="system/*.read", kid="unknown")) == 401
    assert status(token(OTHER, scope="system/*.read")) == 401


# Every other route, and why it needs no bearer token. A route added to the app without a
# row here or in PHI_ROUTES fails test_every_route_is_in_the_auth_matrix.
PUBLIC_ROUTES = {
    ("get", "/"): "the demo page: static, stores nothing",
    ("get", "/docs"): "the API reference page",
    ("get", "/openapi.yaml"): "the contract",
    ("get", "/static/<path:filename>"): "the pages' scripts and styles",
    ("get", "/embed.js"): "the portal component; the explanation it fetches needs a token",
    ("get", "/embed"): "the iframe page; the explanation it fetches needs a token",
    ("post", "/v1/explain"): "stateless: explains the text it is given, stores nothing",
    ("get", "/healthz"): "liveness, no data",
    ("get", "/readyz"): "readiness, says which dependency failed and nothing else",
    ("get", "/metrics"): "counters without identifiers",
}
PUBLIC_SAMPLES = {"/static/<path:filename>": "/static/demo.js"}
# authenticated by the Subscription's shared secret (RADPLAIN_NOTIFY_SECRET), not a token
NOTIFICATION = ("post", "/v1/notifications/fhir")


def test_every_route_is_in_the_auth_matrix(client):
    app = client.application
    adapter = app.url_map.bind("localhost")
    in_app = {
        (method.lower(), rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    phi = {
        (method, adapter.match(path, method=method.upper(), return_rule=True)[0].rule)
        for method, path in PHI_ROUTES
    }
    in_matrix = phi | set(PUBLIC_ROUTES) | {NOTIFICATION}
    assert in_app - in_matrix == set(), "routes with no auth-matrix rows"
    assert in_matrix - in_app == set(), "auth-matrix rows for routes the app no longer has"


@pytest.mark.parametrize(("method", "rule"), sorted(PUBLIC_ROUTES))
def test_public_routes_answer_without_a_token(client, method, rule):
    path = PUBLIC_SAMPLES.get(rule, rule)
    body = {"json": {"text": "IMPRESSION: Normal."}} if method == "post" else {}
    response = getattr(client, method)(path, **body)
    assert response.status_code in (200, 503), (path, response.status_code)  # readyz may be 503
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 401),
        ({"Authorization": "wrong-secret"}, 401),
        ({"Authorization": f"Bearer {TOKENS['system token (v1)'][0]}"}, 401),  # not a token route
        ({"X-Notify": "the-secret"}, 401),  # the right value in the wrong header
        ({"Authorization": "the-secret"}, 503),  # past the secret; no FHIR server here
    ],
    ids=["none", "wrong secret", "bearer token", "wrong header", "the secret"],
)
def test_notifications_need_the_subscription_secret(explainer, tmp_path, headers, expected):
    settings = config.load(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}",
            "RADPLAIN_NOTIFY_SECRET": "the-secret",
        }
    )
    client = create_app(settings, explainer=explainer).test_client()
    response = client.post("/v1/notifications/fhir", headers=headers)
    assert response.status_code == expected, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
