"""Metrics, request ids and logs: what an operator sees, and that no PHI is in it."""

from __future__ import annotations

import json

import pytest

from service import config, logs, metrics
from service.api import create_app

NAME = "Zebulon Quartermaine"  # a fake patient name that must never reach a log line
REPORT = (
    f"Patient {NAME}, DOB 1950-02-03. IMPRESSION: No pneumothorax. 6 mm nodule right upper lobe."
)


@pytest.fixture()
def app(explainer):
    return create_app(config.load({}), explainer=explainer)


def _sample(name, **labels):
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


def test_metrics_count_requests_by_route_template(app):
    client = app.test_client()
    before = _sample("radplain_http_requests_total", route="/v1/explain", status="200")
    client.post("/v1/explain", json={"text": REPORT})
    client.post("/v1/explain", json={"text": REPORT})
    after = _sample("radplain_http_requests_total", route="/v1/explain", status="200")
    assert after - before == 2
    body = client.get("/metrics").get_data(as_text=True)
    assert 'radplain_http_requests_total{route="/v1/explain",status="200"}' in body
    assert NAME not in body


def test_unknown_paths_do_not_become_metric_labels(app):
    client = app.test_client()
    client.get("/Patient/12345/secret")
    body = client.get("/metrics").get_data(as_text=True)
    assert "12345" not in body
    assert 'route="unmatched",status="404"' in body


def test_request_id_is_echoed_when_safe_and_made_when_not(app):
    client = app.test_client()
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "has spaces; and <b>markup</b>"})
    assert made.headers["X-Request-ID"] != "has spaces; and <b>markup</b>"
    assert len(made.headers["X-Request-ID"]) == 32
    assert logs.request_id.get() is None  # reset after the request


def test_unexpected_errors_log_the_type_and_request_id_never_the_text(app, json_logs):
    def boom():
        raise ValueError(REPORT)  # an exception whose message quotes the report

    app.add_url_rule("/boom", view_func=boom)
    response = app.test_client().get("/boom", headers={"X-Request-ID": "req-7"})
    assert response.status_code == 500
    assert NAME not in response.get_data(as_text=True)
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    error = next(line for line in lines if line["event"] == "unhandled error")
    assert error["request_id"] == "req-7"
    assert error["exception"] == "ValueError"
    assert NAME not in json_logs.getvalue()
    assert "1950-02-03" not in json_logs.getvalue()


def test_metrics_show_the_work_queue_by_state_with_the_set_aside(explainer, tmp_path):
    from datetime import timedelta

    from service.api.wiring import store

    app = create_app(
        config.load({"DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}"}), explainer=explainer
    )
    with app.app_context():
        queue = store()
        queue.enqueue([("r1", "1"), ("r2", "1"), ("r3", "1")])
        queue.claim("w", 2, timedelta(minutes=5))
        queue.finish("r1", "1")
        queue.retry_later("r2", "1", "FhirHttpError", timedelta(0), max_attempts=1)
    body = app.test_client().get("/metrics").get_data(as_text=True)
    for state, n in (("pending", 1), ("claimed", 0), ("done", 1), ("failed", 1)):
        assert f'radplain_work_items{{state="{state}"}} {n}.0' in body


def test_metrics_still_answer_while_the_database_is_down(explainer):
    down = "postgresql+psycopg://radplain@127.0.0.1:1/radplain"  # nothing listens on port 1
    app = create_app(config.load({"DATABASE_URL": down}), explainer=explainer)
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "radplain_http_requests_total" in body and "radplain_work_items" not in body
