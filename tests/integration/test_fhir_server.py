"""The FHIR test server does what radplain's integration tests rely on.

Plain ``requests`` against the running server (see conftest.py): REST basics and headers,
validation, search and paging, conditional create under concurrency, optimistic locking,
transactions with rollback, rest-hook Subscriptions, injected faults, SMART Backend
Services tokens.
"""

from __future__ import annotations

import email.utils
import json
import queue
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

FHIR_JSON = "application/fhir+json"
HEADERS = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
LOINC = "http://loinc.org"
RADIOLOGY = "LP29684-5"
PATHOLOGY = "LP7839-6"
ACCESSION = "urn:test:accession"
TIMEOUT = 10


# -- helpers ---------------------------------------------------------------------------------


def report(
    n: int = 1, *, status: str = "final", category: str = RADIOLOGY, subject: str = "Patient/p1"
) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "identifier": [{"system": ACCESSION, "value": f"acc-{n}"}],
        "status": status,
        "category": [{"coding": [{"system": LOINC, "code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": "36643-5", "display": "XR Chest 2 Views"}]},
        "subject": {"reference": subject},
        "conclusion": f"Report {n}",
    }


def post(server, resource: dict, headers: dict | None = None) -> requests.Response:
    return requests.post(
        server.url(resource["resourceType"]),
        data=json.dumps(resource),
        headers={**HEADERS, **(headers or {})},
        timeout=TIMEOUT,
    )


def put(server, resource: dict, headers: dict | None = None) -> requests.Response:
    return requests.put(
        server.url(f"{resource['resourceType']}/{resource['id']}"),
        data=json.dumps(resource),
        headers={**HEADERS, **(headers or {})},
        timeout=TIMEOUT,
    )


def get(server, path: str, headers: dict | None = None, **params) -> requests.Response:
    return requests.get(
        server.url(path), params=params, headers={**HEADERS, **(headers or {})}, timeout=TIMEOUT
    )


def transaction(server, entries: list[dict]) -> requests.Response:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    return requests.post(server.base, data=json.dumps(bundle), headers=HEADERS, timeout=TIMEOUT)


def created(server, resource: dict) -> dict:
    response = post(server, resource)
    assert response.status_code == 201, response.text
    return response.json()


def search(server, resource_type: str, **params) -> dict:
    response = get(server, resource_type, **params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(bundle: dict) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def link(bundle: dict, relation: str) -> str | None:
    urls = [item["url"] for item in bundle.get("link", []) if item["relation"] == relation]
    return urls[0] if urls else None


def issue_text(outcome: dict) -> str:
    assert outcome["resourceType"] == "OperationOutcome"
    return json.dumps(outcome["issue"])


# -- create, read, vread, update ----------------------------------------------------------------


def test_create_read_vread_with_etag_location_and_last_modified(fresh_fhir):
    response = post(fresh_fhir, {**report(1), "id": "client-chosen"})
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    rid = body["id"]
    assert rid != "client-chosen"  # the server assigns ids on create
    assert body["meta"]["versionId"] == "1"
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"] == f"{fresh_fhir.base}/DiagnosticReport/{rid}/_history/1"
    last_modified = email.utils.parsedate_to_datetime(response.headers["Last-Modified"])
    last_updated = datetime.fromisoformat(body["meta"]["lastUpdated"])
    assert abs((last_modified - last_updated).total_seconds()) < 1

    read = get(fresh_fhir, f"DiagnosticReport/{rid}")
    assert read.status_code == 200
    assert read.headers["ETag"] == 'W/"1"'
    assert read.json() == body

    amended = put(fresh_fhir, {**body, "status": "amended"}, {"If-Match": 'W/"1"'})
    assert amended.status_code == 200
    assert amended.headers["ETag"] == 'W/"2"'
    assert amended.json()["meta"]["lastUpdated"] > body["meta"]["lastUpdated"]

    assert get(fresh_fhir, f"DiagnosticReport/{rid}/_history/1").json()["status"] == "final"
    v2 = get(fresh_fhir, f"DiagnosticReport/{rid}/_history/2")
    assert v2.json()["status"] == "amended"
    assert v2.headers["ETag"] == 'W/"2"'
    assert get(fresh_fhir, f"DiagnosticReport/{rid}/_history/3").status_code == 404
    assert get(fresh_fhir, "DiagnosticReport/no-such-id").status_code == 404

    # newest first, and the same on every call (Medplum's MemoryRepository alone flips it)
    for _ in range(2):
        history = get(fresh_fhir, f"DiagnosticReport/{rid}/_history").json()
        assert history["type"] == "history"
        assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]


def test_update_with_stale_if_match_is_412_and_changes_nothing(fresh_fhir):
    body = created(fresh_fhir, report(1))
    assert put(fresh_fhir, {**body, "status": "amended"}, {"If-Match": 'W/"1"'}).status_code == 200

    stale = put(fresh_fhir, {**body, "status": "corrected"}, {"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    current = get(fresh_fhir, f"DiagnosticReport/{body['id']}").json()
    assert (current["meta"]["versionId"], current["status"]) == ("2", "amended")


@pytest.mark.parametrize(
    ("resource", "where"),
    [
        ({"resourceType": "DiagnosticReport", "code": {"text": "CT"}}, "DiagnosticReport.status"),
        ({**report(), "status": "bogus"}, "DiagnosticReport.status"),  # required binding
        ({**report(), "colour": "blue"}, "DiagnosticReport.colour"),  # unknown element
        ({**report(), "code": "CT"}, "DiagnosticReport.code"),  # wrong type
    ],
    ids=["missing status", "status not in value set", "unknown element", "wrong type"],
)
def test_invalid_resources_are_refused_with_400(fresh_fhir, resource, where):
    response = post(fresh_fhir, resource)
    assert response.status_code == 400
    assert where in issue_text(response.json())
    assert search(fresh_fhir, "DiagnosticReport")["total"] == 0

    stored = created(fresh_fhir, report(1))
    assert put(fresh_fhir, {**resource, "id": stored["id"]}).status_code == 400


def test_malformed_requests_are_refused(fresh_fhir):
    bad_json = requests.post(
        fresh_fhir.url("DiagnosticReport"), data="{not json", headers=HEADERS, timeout=TIMEOUT
    )
    assert bad_json.status_code == 400
    wrong_type = requests.post(
        fresh_fhir.url("Observation"), data=json.dumps(report()), headers=HEADERS, timeout=TIMEOUT
    )
    assert wrong_type.status_code == 400
    not_json = requests.post(
        fresh_fhir.url("DiagnosticReport"),
        data="status=final",
        headers={"Content-Type": "text/plain"},
        timeout=TIMEOUT,
    )
    assert not_json.status_code == 415


# -- search ------------------------------------------------------------------------------------


def test_paging_with_count_7_over_20_resources_follows_next_links(fresh_fhir):
    expected = [created(fresh_fhir, report(n))["id"] for n in range(20)]

    url = fresh_fhir.url("DiagnosticReport") + "?_count=7&_sort=_lastUpdated"
    pages = []
    while url:
        response = requests.get(url, headers=HEADERS, timeout=TIMEOUT)
        assert response.status_code == 200
        bundle = response.json()
        assert bundle["type"] == "searchset"
        assert bundle["total"] == 20
        assert link(bundle, "self") == url
        pages.append(ids(bundle))
        url = link(bundle, "next")
        if url:
            assert url.startswith(fresh_fhir.base + "/DiagnosticReport?")
            assert f"_offset={7 * len(pages)}" in url and "_count=7" in url

    assert [len(page) for page in pages] == [7, 7, 6]
    assert [rid for page in pages for rid in page] == expected


def test_search_parameters(fresh_fhir):
    a = created(fresh_fhir, report(1, subject="Patient/p1"))
    b = created(fresh_fhir, report(2, status="preliminary", subject="Patient/p2"))
    c = created(fresh_fhir, report(3, category=PATHOLOGY, subject="Patient/p1"))

    def found(**params) -> set[str]:
        return set(ids(search(fresh_fhir, "DiagnosticReport", **params)))

    assert found(category=f"{LOINC}|{RADIOLOGY}") == {a["id"], b["id"]}
    assert found(category=f"{LOINC}|{PATHOLOGY}", status="final") == {c["id"]}
    assert found(status="final") == {a["id"], c["id"]}
    assert found(subject="Patient/p1") == {a["id"], c["id"]}
    assert found(identifier=f"{ACCESSION}|acc-2") == {b["id"]}
    assert found(_lastUpdated=f"gt{a['meta']['lastUpdated']}") == {b["id"], c["id"]}
    assert found(_lastUpdated=f"ge{a['meta']['lastUpdated']}") == {a["id"], b["id"], c["id"]}
    assert ids(search(fresh_fhir, "DiagnosticReport", _sort="-_lastUpdated")) == [
        c["id"],
        b["id"],
        a["id"],
    ]
    assert search(fresh_fhir, "DiagnosticReport", _summary="count")["total"] == 3

    # `about` (added for Communication), with and without the version of the reference
    comm = created(
        fresh_fhir,
        {
            "resourceType": "Communication",
            "status": "completed",
            "about": [{"reference": f"DiagnosticReport/{a['id']}/_history/1"}],
            "payload": [{"contentString": "plain-language explanation"}],
        },
    )

    def about(reference: str) -> list[str]:
        return ids(search(fresh_fhir, "Communication", about=reference))

    assert about(f"DiagnosticReport/{a['id']}") == [comm["id"]]
    assert about(f"DiagnosticReport/{a['id']}/_history/1") == [comm["id"]]
    assert about(f"DiagnosticReport/{b['id']}") == []


def test_unknown_search_parameters_are_refused_not_ignored(fresh_fhir):
    response = get(fresh_fhir, "DiagnosticReport", categroy=f"{LOINC}|{RADIOLOGY}")
    assert response.status_code == 400
    assert "categroy" in issue_text(response.json())
    included = get(fresh_fhir, "DiagnosticReport", _include="DiagnosticReport:subject")
    assert included.status_code == 400  # not implemented: refused rather than ignored


# -- conditional create ----------------------------------------------------------------------------


def test_conditional_create_under_8_concurrent_requests_makes_exactly_one(fresh_fhir):
    condition = {"If-None-Exist": f"identifier={ACCESSION}|acc-42"}
    start = threading.Barrier(8)

    def create(_):
        start.wait()
        return post(fresh_fhir, report(42), condition)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(8)))

    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert search(fresh_fhir, "DiagnosticReport", identifier=f"{ACCESSION}|acc-42")["total"] == 1
    assert search(fresh_fhir, "DiagnosticReport")["total"] == 1

    by_status = fresh_fhir.stats()["requests"]["by_method_and_status"]
    assert (by_status.get("POST 201"), by_status.get("POST 200")) == (1, 7)


def test_conditional_create_with_unknown_parameter_is_refused(fresh_fhir):
    # a typo in If-None-Exist must not quietly create a duplicate every time
    response = post(fresh_fhir, report(1), {"If-None-Exist": f"identifer={ACCESSION}|acc-1"})
    assert response.status_code == 400
    assert search(fresh_fhir, "DiagnosticReport")["total"] == 0


# -- transactions ------------------------------------------------------------------------------


def communication_entries(key: str) -> list[dict]:
    """A Communication and the Provenance pointing at it, each created only if absent."""
    comm_url, prov_url = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    return [
        {
            "fullUrl": comm_url,
            "resource": {
                "resourceType": "Communication",
                "status": "completed",
                "identifier": [{"system": "urn:test:communication", "value": key}],
                "payload": [{"contentString": "explanation"}],
            },
            "request": {
                "method": "POST",
                "url": "Communication",
                "ifNoneExist": f"identifier=urn:test:communication|{key}",
            },
        },
        {
            "fullUrl": prov_url,
            "resource": {
                "resourceType": "Provenance",
                "target": [{"reference": comm_url}],
                "recorded": "2025-01-01T00:00:00Z",
                "meta": {"tag": [{"system": "urn:test:provenance", "code": key}]},
                "agent": [{"who": {"display": "radplain"}}],
            },
            "request": {
                "method": "POST",
                "url": "Provenance",
                "ifNoneExist": f"_tag=urn:test:provenance|{key}",
            },
        },
    ]


def test_transaction_commits_with_conditional_creates_and_rewritten_references(fresh_fhir):
    response = transaction(fresh_fhir, communication_entries("r1-v1"))
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "transaction-response"
    comm, prov = (entry["response"] for entry in bundle["entry"])
    assert comm["status"].startswith("201") and prov["status"].startswith("201")
    assert comm["location"].startswith("Communication/")
    assert comm["location"].endswith("/_history/1")
    assert comm["etag"] == 'W/"1"' and prov["etag"] == 'W/"1"'

    comm_ref = comm["location"].split("/_history/")[0]
    stored_prov = get(fresh_fhir, prov["location"]).json()
    assert stored_prov["target"] == [{"reference": comm_ref}]  # urn:uuid rewritten

    again = transaction(fresh_fhir, communication_entries("r1-v1")).json()
    assert [e["response"]["status"] for e in again["entry"]] == ["200", "200"]
    assert again["entry"][0]["response"]["location"] == comm["location"]
    assert search(fresh_fhir, "Communication")["total"] == 1
    assert search(fresh_fhir, "Provenance")["total"] == 1


def test_transaction_with_one_invalid_entry_writes_nothing(fresh_fhir):
    first = created(fresh_fhir, report(1))
    second = created(fresh_fhir, report(2))

    response = transaction(
        fresh_fhir,
        [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": report(3),
                "request": {"method": "POST", "url": "DiagnosticReport"},
            },
            {
                "resource": {**first, "status": "amended"},
                "request": {"method": "PUT", "url": f"DiagnosticReport/{first['id']}"},
            },
            # updates run after creates, so by now two writes have happened
            {
                "resource": {**second, "status": "bogus"},
                "request": {"method": "PUT", "url": f"DiagnosticReport/{second['id']}"},
            },
        ],
    )
    assert response.status_code == 400
    assert "bogus" in issue_text(response.json())

    assert set(ids(search(fresh_fhir, "DiagnosticReport"))) == {first["id"], second["id"]}
    for original in (first, second):
        now = get(fresh_fhir, f"DiagnosticReport/{original['id']}").json()
        assert now == original
        history = get(fresh_fhir, f"DiagnosticReport/{original['id']}/_history").json()
        assert len(history["entry"]) == 1
    # the rolled-back update left no version behind: the next one is 2
    assert put(fresh_fhir, {**first, "status": "amended"}).headers["ETag"] == 'W/"2"'


# -- subscriptions -------------------------------------------------------------------------------


class HookReceiver:
    """A tiny HTTP endpoint on 127.0.0.1 that records what it is sent."""

    def __init__(self):
        self.received: queue.Queue = queue.Queue()
        self.answers: list[int] = []  # statuses to answer with, in order; 200 after that
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.put(
                    SimpleNamespace(path=self.path, headers=self.headers, body=body)
                )
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    def next(self, timeout: float = 5.0):
        return self.received.get(timeout=timeout)

    def assert_quiet(self, seconds: float = 0.5):
        with pytest.raises(queue.Empty):
            self.received.get(timeout=seconds)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hook():
    receiver = HookReceiver()
    yield receiver
    receiver.close()


def subscription(criteria: str, endpoint: str, **channel) -> dict:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "radplain test",
        "criteria": criteria,
        "channel": {"type": "rest-hook", "endpoint": endpoint, **channel},
    }


def test_rest_hook_subscription_posts_the_full_resource_with_headers(fresh_fhir, hook):
    sub = created(
        fresh_fhir,
        subscription(
            f"DiagnosticReport?category={LOINC}|{RADIOLOGY}",
            hook.url + "/full",
            payload="application/fhir+json",
            header=["Authorization: Bearer secret"],
        ),
    )
    assert sub["status"] == "active"

    created(fresh_fhir, report(1, category=PATHOLOGY))  # does not match
    matching = created(fresh_fhir, report(2))

    notification = hook.next()
    assert notification.path == "/full"
    assert notification.headers["Authorization"] == "Bearer secret"
    assert notification.headers["Content-Type"].startswith(FHIR_JSON)
    assert json.loads(notification.body) == matching
    hook.assert_quiet()


def test_rest_hook_subscription_without_payload_posts_nothing_and_skips_rollbacks(fresh_fhir, hook):
    created(fresh_fhir, subscription("DiagnosticReport?status=final", hook.url + "/id-only"))
    draft = created(fresh_fhir, report(1, status="preliminary"))
    hook.assert_quiet()

    # a transaction that would have matched, but failed: nothing was written, nothing is sent
    failed = transaction(
        fresh_fhir,
        [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": report(2),
                "request": {"method": "POST", "url": "DiagnosticReport"},
            },
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {**report(3), "status": "bogus"},
                "request": {"method": "POST", "url": "DiagnosticReport"},
            },
        ],
    )
    assert failed.status_code == 400
    hook.assert_quiet()

    assert put(fresh_fhir, {**draft, "status": "final"}).status_code == 200
    notification = hook.next()
    assert notification.path == "/id-only"
    assert notification.body == b""
    hook.assert_quiet()


def test_failed_rest_hook_delivery_is_retried_once(fresh_fhir, hook):
    hook.answers = [500]
    created(
        fresh_fhir,
        subscription("DiagnosticReport?status=final", hook.url, payload="application/fhir+json"),
    )
    resource = created(fresh_fhir, report(1))

    first, second = hook.next(), hook.next()
    assert json.loads(first.body) == json.loads(second.body) == resource
    deadline = time.monotonic() + 5
    while (counts := fresh_fhir.stats()["subscriptions"])["delivered"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (counts["retried"], counts["delivered"], counts["failed"]) == (1, 1, 0)


# -- fault injection -----------------------------------------------------------------------------


def test_injected_429_and_503_with_retry_after_then_normal_service(fresh_fhir):
    fresh_fhir.faults(statuses=[429, 503], retry_after=1, match="/DiagnosticReport")

    assert get(fresh_fhir, "Patient").status_code == 200  # does not match: served normally
    throttled = get(fresh_fhir, "DiagnosticReport")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json()["issue"][0]["code"] == "throttled"
    unavailable = get(fresh_fhir, "DiagnosticReport")
    assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "1")
    assert get(fresh_fhir, "DiagnosticReport").status_code == 200

    stats = fresh_fhir.stats()
    assert stats["faults"] == {
        "served": 2,
        "pending": 0,
        "by_kind": {"429 GET": 1, "503 GET": 1},
        "random": False,
    }
    assert stats["requests"]["by_status"] == {"200": 2, "429": 1, "503": 1}
    assert stats["requests"]["by_method"] == {"GET": 4}


def test_injected_fault_can_be_slow(fresh_fhir):
    fresh_fhir.faults(statuses=[503], delay_ms=300)
    started = time.monotonic()
    response = get(fresh_fhir, "DiagnosticReport")
    assert response.status_code == 503
    assert "Retry-After" not in response.headers
    assert time.monotonic() - started >= 0.3


def _outcome(server, method: str, timeout: float = TIMEOUT) -> str:
    """What a client saw: the status, "dropped" (connection closed unanswered) or "timeout"."""
    body = json.dumps(report(1)) if method == "POST" else None
    try:
        return str(
            requests.request(
                method, server.url("DiagnosticReport"), data=body, headers=HEADERS, timeout=timeout
            ).status_code
        )
    except requests.Timeout:
        return "timeout"
    except requests.ConnectionError:
        return "dropped"


@pytest.mark.parametrize(
    ("kind", "seen", "served"),
    [
        ("429", "429", False),
        ("500", "500", False),
        ("503", "503", False),
        ("reset", "dropped", False),
        ("timeout", "timeout", False),
        ("slow", "201", True),
        ("lost_reply", "dropped", True),
    ],
)
def test_random_faults_of_each_kind(fresh_fhir, kind, seen, served):
    fresh_fhir.faults(rate=1, kinds=[kind], hang_ms=800, slow_ms=300)
    started = time.monotonic()
    assert _outcome(fresh_fhir, "POST", timeout=0.5 if kind == "timeout" else 5) == seen
    if kind == "slow":
        assert time.monotonic() - started >= 0.3
    fresh_fhir.faults(rate=0)
    # served: the write was committed whatever the client saw
    assert search(fresh_fhir, "DiagnosticReport")["total"] == (1 if served else 0)
    assert fresh_fhir.stats()["faults"]["by_kind"] == {f"{kind} POST": 1}


def test_random_faults_hit_the_rate_and_repeat_with_their_seed(fresh_fhir):
    def run() -> list[str]:
        fresh_fhir.reset()
        fresh_fhir.faults(rate=0.2, seed=7, kinds=["429", "503"], retry_after=0)
        return [_outcome(fresh_fhir, "GET") for _ in range(300)]

    first, second = run(), run()
    assert first == second  # same seed, same faults on the same requests
    share = sum(o != "200" for o in first) / len(first)
    assert 0.13 < share < 0.27, share
    assert {"429", "503"} <= set(first)


def test_reset_empties_everything(fresh_fhir):
    created(fresh_fhir, report(1))
    fresh_fhir.faults(statuses=[503])
    fresh_fhir.reset()
    assert search(fresh_fhir, "DiagnosticReport")["total"] == 0
    stats = fresh_fhir.stats()
    assert stats["faults"] == {"served": 0, "pending": 0, "by_kind": {}, "random": False}
    assert stats["requests"]["total"] == 1


# -- SMART Backend Services ------------------------------------------------------------------------

CLIENT_ID = "radplain-test"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def keys():
    return SimpleNamespace(
        rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        other_rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec=ec.generate_private_key(ec.SECP384R1()),
    )


def public_jwk(private_key, kid: str, alg: str) -> dict:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS384" else jwt.algorithms.ECAlgorithm
    return {
        **algorithm.to_jwk(private_key.public_key(), as_dict=True),
        "kid": kid,
        "alg": alg,
        "use": "sig",
    }


def client_assertion(
    key, aud: str, *, alg: str = "RS384", kid: str = "rsa-1", exp_in: int = 240, **claims
) -> str:
    now = int(time.time())
    payload = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": aud,
        "iat": now,
        "exp": now + exp_in,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture
def smart(fresh_fhir, keys):
    fresh_fhir.register_client(
        CLIENT_ID,
        {"keys": [public_jwk(keys.rsa, "rsa-1", "RS384"), public_jwk(keys.ec, "ec-1", "ES384")]},
    )
    config = get(fresh_fhir, ".well-known/smart-configuration").json()  # open even with auth on

    def token(assertion: str, scope: str = "system/*.read") -> requests.Response:
        return requests.post(
            config["token_endpoint"],
            timeout=TIMEOUT,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
                "scope": scope,
            },
        )

    return SimpleNamespace(server=fresh_fhir, token_url=config["token_endpoint"], token=token)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_smart_configuration(fresh_fhir):
    config = get(fresh_fhir, ".well-known/smart-configuration").json()
    assert config["token_endpoint"] == f"{fresh_fhir.origin}/auth/token"
    assert config["grant_types_supported"] == ["client_credentials"]
    assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert config["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]


def test_rs384_assertion_gets_a_token_that_opens_the_fhir_api(smart, keys):
    locked = get(smart.server, "DiagnosticReport")  # registering a client turned auth on
    assert locked.status_code == 401
    assert locked.json()["resourceType"] == "OperationOutcome"
    assert locked.headers["WWW-Authenticate"].startswith("Bearer")

    response = smart.token(client_assertion(keys.rsa, smart.token_url), scope="system/*.rs")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert (body["expires_in"], body["scope"]) == (300, "system/*.rs")

    assert get(smart.server, "DiagnosticReport", bearer(body["access_token"])).status_code == 200
    assert get(smart.server, "DiagnosticReport", bearer("forged")).status_code == 401


def test_es384_assertion_is_accepted(smart, keys):
    response = smart.token(client_assertion(keys.ec, smart.token_url, alg="ES384", kid="ec-1"))
    assert response.status_code == 200, response.text


def hs256_assertion(aud: str) -> str:
    claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": aud, "exp": int(time.time()) + 60}
    return jwt.encode(
        claims,
        "a shared secret, which SMART does not allow",
        algorithm="HS256",
        headers={"kid": "rsa-1"},
    )


# case: (how to build the assertion from the keys and token URL, what the refusal must say)
REJECTED_ASSERTIONS = {
    "wrong aud": (lambda k, url: client_assertion(k.rsa, url + "/elsewhere"), "aud"),
    "expired": (lambda k, url: client_assertion(k.rsa, url, exp_in=-5), "expired"),
    "exp over 5 minutes ahead": (
        lambda k, url: client_assertion(k.rsa, url, exp_in=600),
        "five minutes",
    ),
    "bad signature": (lambda k, url: client_assertion(k.other_rsa, url), "signature"),
    "unknown kid": (lambda k, url: client_assertion(k.rsa, url, kid="nope"), "kid"),
    "iss is not sub": (
        lambda k, url: client_assertion(k.rsa, url, sub="someone-else"),
        "iss and sub",
    ),
    "unknown client": (
        lambda k, url: client_assertion(k.rsa, url, iss="x", sub="x"),
        "unknown client",
    ),
    "HS256": (lambda k, url: hs256_assertion(url), "alg"),
    "not a JWT": (lambda k, url: "not-a-jwt", "JWS"),
}


@pytest.mark.parametrize("case", REJECTED_ASSERTIONS, ids=list(REJECTED_ASSERTIONS))
def test_bad_assertions_are_rejected_as_invalid_client(smart, keys, case):
    make, explanation = REJECTED_ASSERTIONS[case]
    response = smart.token(make(keys, smart.token_url))
    assert response.status_code in (400, 401)
    body = response.json()
    assert body["error"] == "invalid_client"
    assert explanation in body["error_description"]


def test_replayed_jti_is_rejected(smart, keys):
    assertion = client_assertion(keys.rsa, smart.token_url)
    assert smart.token(assertion).status_code == 200
    replay = smart.token(assertion)
    assert replay.status_code in (400, 401)
    assert replay.json()["error"] == "invalid_client"
    assert "jti" in replay.json()["error_description"]


def test_token_ttl_and_expiry(smart, keys):
    smart.server.token_ttl(1)
    short = smart.token(client_assertion(keys.rsa, smart.token_url)).json()
    assert short["expires_in"] == 1
    assert get(smart.server, "DiagnosticReport", bearer(short["access_token"])).status_code == 200
    time.sleep(1.1)
    expired = get(smart.server, "DiagnosticReport", bearer(short["access_token"]))
    assert expired.status_code == 401
    assert "expired" in issue_text(expired.json())

    smart.server.token_ttl(300)
    token = smart.token(client_assertion(keys.rsa, smart.token_url)).json()["access_token"]
    assert get(smart.server, "DiagnosticReport", bearer(token)).status_code == 200
    smart.server.expire_tokens()
    assert get(smart.server, "DiagnosticReport", bearer(token)).status_code == 401


def test_reset_turns_auth_off(smart):
    assert get(smart.server, "DiagnosticReport").status_code == 401
    smart.server.reset()
    assert get(smart.server, "DiagnosticReport").status_code == 200
