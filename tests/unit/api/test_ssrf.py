"""SSRF through notifications and actions: whatever a notification or a URL names, radplain
fetches nothing but the configured FHIR base.

Two real HTTP servers on loopback: the EHR (RADPLAIN_FHIR_BASE) and "elsewhere", which
counts every connection it accepts. Notifications name reports by URLs that point
elsewhere (other hosts and ports, cloud metadata, file:, userinfo tricks, IPv6 literals,
dot segments), and the EHR itself answers with a redirect to elsewhere: elsewhere must
never see a connection.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service import config
from service.api import create_app

SECRET = "ssrf-secret"


class CountingServer(ThreadingHTTPServer):
    def __init__(self, handler):
        super().__init__(("127.0.0.1", 0), handler)
        self.connections, self.paths = 0, []

    def process_request(self, request, client_address):
        self.connections += 1  # counted on accept, before any byte is read
        super().process_request(request, client_address)


def _serve(handler):
    server = CountingServer(handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def elsewhere():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.server.paths.append(self.path)
            body = json.dumps({"resourceType": "DiagnosticReport", "id": "1"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = _serve(Handler)
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def ehr(elsewhere):
    target = f"http://127.0.0.1:{elsewhere.server_port}/latest/meta-data/"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.server.paths.append(self.path)
            if self.path.startswith("/fhir/DiagnosticReport/redirect"):
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps({"resourceType": "OperationOutcome", "issue": []}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = _serve(Handler)
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def client(explainer, issuer, ehr, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ssrf")
    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'store.sqlite3'}",
        "RADPLAIN_FHIR_BASE": f"http://127.0.0.1:{ehr.server_port}/fhir",
        "RADPLAIN_FHIR_RETRIES": "1",
        "RADPLAIN_NOTIFY_SECRET": SECRET,
        **issuer.env,
    }
    return create_app(config.load(env), explainer=explainer).test_client()


def _bundle(reference: str) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [
            {
                "resource": {
                    "resourceType": "SubscriptionStatus",
                    "notificationEvent": [{"focus": {"reference": reference}}],
                }
            }
        ],
    }


def _references(ehr_port: int, other: int) -> dict[str, str]:
    return {
        "another port": f"http://127.0.0.1:{other}/fhir/DiagnosticReport/1",
        "cloud metadata": "http://169.254.169.254/latest/meta-data/DiagnosticReport/1",
        "file": "file:///etc/passwd",
        "userinfo naming the EHR": f"http://127.0.0.1:{ehr_port}@127.0.0.1:{other}/fhir/DiagnosticReport/1",
        "userinfo": f"http://ehr@127.0.0.1:{other}/fhir/DiagnosticReport/1",
        "IPv6 literal": f"http://[::1]:{other}/fhir/DiagnosticReport/1",
        "IPv4-mapped IPv6": f"http://[::ffff:127.0.0.1]:{other}/fhir/DiagnosticReport/1",
        "scheme-relative": f"//127.0.0.1:{other}/fhir/DiagnosticReport/1",
        "base as a prefix of the host": f"http://127.0.0.1:{ehr_port}.evil.example/fhir/DiagnosticReport/1",
        "dot segments out of the base": (
            f"http://127.0.0.1:{ehr_port}/fhir/DiagnosticReport/../../../127.0.0.1:{other}/x"
        ),
        "dot id": f"http://127.0.0.1:{ehr_port}/fhir/DiagnosticReport/..",
        "encoded slash": "DiagnosticReport/1%2F..%2F..%2Fx",
        "non-ASCII id": "DiagnosticReport/١٢٣",
    }


def test_notifications_never_reach_anything_but_the_fhir_base(client, ehr, elsewhere):
    before = ehr.connections
    for name, reference in _references(ehr.server_port, elsewhere.server_port).items():
        response = client.post(
            "/v1/notifications/fhir", json=_bundle(reference), headers={"Authorization": SECRET}
        )
        # refused (400) or ignored as not a report (200, nothing processed)
        assert response.status_code in (200, 400), (name, response.get_data(as_text=True))
        if response.status_code == 200:
            assert response.json["outcomes"] == {}, name
    assert elsewhere.connections == 0, elsewhere.paths
    assert ehr.connections == before  # none of them named a report on the EHR either


def test_a_notified_report_with_a_dot_id_is_refused_not_read(client, ehr):
    before = ehr.connections
    for rid in ["..", ".", "../../x", "1/../2"]:
        response = client.post(
            "/v1/notifications/fhir",
            json={"resourceType": "DiagnosticReport", "id": rid},
            headers={"Authorization": SECRET},
        )
        assert response.status_code == 400, rid
        assert "FHIR id" in response.json["detail"]
    assert ehr.connections == before


def test_a_redirect_from_the_fhir_server_is_refused_not_followed(client, ehr, elsewhere):
    response = client.post(
        "/v1/notifications/fhir",
        json={"resourceType": "DiagnosticReport", "id": "redirect"},
        headers={"Authorization": SECRET},
    )
    assert ehr.paths[-1] == "/fhir/DiagnosticReport/redirect"  # the EHR was asked...
    assert response.status_code == 502
    assert "follows no redirects" in response.json["detail"]
    assert elsewhere.connections == 0, elsewhere.paths  # ...and where it pointed was not


@pytest.mark.parametrize("rid", ["%2E%2E", ".", "..%3F_format=xml", "a%23b"])
def test_process_refuses_a_report_id_that_is_not_a_fhir_id(client, issuer, ehr, rid):
    before = ehr.connections
    response = client.post(
        f"/v1/reports/{rid}/process",
        headers=issuer.headers(scope="system/Communication.write"),
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "FHIR id" in response.json["detail"]
    assert ehr.connections == before
