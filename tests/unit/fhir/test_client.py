"""FHIR client fault handling, at the HTTP level (responses injects the faults)."""

import pytest
import requests
import responses

from service.errors import FhirError
from service.fhir.client import FhirClient, FhirNotFound, FhirUnavailable, RetryPolicy

BASE = "http://ehr.test/fhir/R4"


@pytest.fixture
def slept():
    return []


@pytest.fixture
def client(slept):
    return FhirClient(BASE, retry=RetryPolicy(attempts=4, backoff=0.01), sleep=slept.append)


@responses.activate
def test_429_is_retried_honouring_retry_after(client, slept):
    url = f"{BASE}/DiagnosticReport/1"
    responses.get(url, status=429, headers={"Retry-After": "2"})
    responses.get(url, json={"resourceType": "DiagnosticReport", "id": "1"})
    assert client.read("DiagnosticReport", "1")["id"] == "1"
    assert slept == [2.0]


@responses.activate
def test_503_and_connection_errors_are_retried_with_backoff(client, slept):
    url = f"{BASE}/DiagnosticReport/1"
    responses.get(url, status=503)
    responses.get(url, body=requests.ConnectionError("reset"))
    responses.get(url, json={"resourceType": "DiagnosticReport", "id": "1"})
    assert client.read("DiagnosticReport", "1")["id"] == "1"
    assert len(slept) == 2 and all(0 < s < 1 for s in slept)


@responses.activate
def test_gives_up_after_the_last_attempt_with_a_clear_error(client):
    responses.get(f"{BASE}/DiagnosticReport/1", status=503)
    with pytest.raises(FhirUnavailable, match="503"):
        client.read("DiagnosticReport", "1")
    assert len(responses.calls) == 4


@responses.activate
def test_timeouts_become_unavailable_after_retries(client):
    responses.get(f"{BASE}/DiagnosticReport/1", body=requests.Timeout("slow"))
    with pytest.raises(FhirUnavailable, match="cannot reach"):
        client.read("DiagnosticReport", "1")


@responses.activate
def test_operation_outcome_text_reaches_the_error(client):
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "not-found", "diagnostics": "Resource not found"}],
    }
    responses.get(f"{BASE}/DiagnosticReport/9", status=404, json=outcome)
    with pytest.raises(FhirNotFound, match="404: Resource not found"):
        client.read("DiagnosticReport", "9")


@responses.activate
def test_search_follows_next_links_and_stays_on_the_base(client):
    page2 = f"{BASE}/DiagnosticReport?_count=1&_offset=1"
    responses.get(
        f"{BASE}/DiagnosticReport",
        json={
            "resourceType": "Bundle",
            "entry": [{"resource": {"id": "a"}, "search": {"mode": "match"}}],
            "link": [{"relation": "next", "url": page2}],
        },
    )
    responses.get(page2, json={"resourceType": "Bundle", "entry": [{"resource": {"id": "b"}}]})
    assert [r["id"] for r in client.search("DiagnosticReport", {"_count": "1"})] == ["a", "b"]


@responses.activate
def test_a_next_link_off_the_base_is_refused(client):
    responses.get(
        f"{BASE}/DiagnosticReport",
        json={
            "resourceType": "Bundle",
            "entry": [],
            "link": [{"relation": "next", "url": "http://evil.test/steal"}],
        },
    )
    with pytest.raises(FhirError, match="leaves the configured FHIR base"):
        list(client.search("DiagnosticReport", {}))


def test_urls_off_the_base_are_never_called(client):
    with pytest.raises(FhirError, match="not under the configured FHIR base"):
        client.request("GET", "http://169.254.169.254/latest/meta-data")


@responses.activate
def test_401_drops_the_token_and_retries_once():
    tokens, dropped = iter(["old", "new"]), []
    current = {"t": next(tokens)}
    client = FhirClient(
        BASE,
        auth=lambda: current["t"],
        on_unauthorized=lambda: (dropped.append(1), current.update(t=next(tokens))),
        sleep=lambda s: None,
    )
    url = f"{BASE}/DiagnosticReport/1"
    responses.get(
        url, status=401, match=[responses.matchers.header_matcher({"Authorization": "Bearer old"})]
    )
    responses.get(
        url,
        json={"id": "1"},
        match=[responses.matchers.header_matcher({"Authorization": "Bearer new"})],
    )
    assert client.read("DiagnosticReport", "1") == {"id": "1"}
    assert dropped == [1]


@responses.activate
def test_conditional_create_reports_whether_it_created(client):
    responses.post(
        f"{BASE}/Communication",
        status=200,
        json={"resourceType": "Communication", "id": "x"},
        match=[responses.matchers.header_matcher({"If-None-Exist": "identifier=s|v"})],
    )
    body, created = client.create({"resourceType": "Communication"}, if_none_exist="identifier=s|v")
    assert body["id"] == "x" and created is False
