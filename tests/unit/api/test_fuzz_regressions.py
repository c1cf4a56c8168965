"""Bugs the schemathesis run (test_schemathesis.py) and the property tests found, kept as
plain regression tests.

Each answered 500 (or broke the contract) before its fix; each now answers a problem+json
that says what to fix, with a status openapi/openapi.yaml lists for the route.
"""

from __future__ import annotations

import pytest

from service import config
from service.api import create_app

SECRET = "s3cret-notify"


@pytest.fixture()
def client(explainer, issuer, tmp_path):
    """Auth and notifications configured, but no RADPLAIN_FHIR_BASE."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "RADPLAIN_NOTIFY_SECRET": SECRET,
        **issuer.env,
    }
    return create_app(config.load(env), explainer=explainer).test_client()


@pytest.mark.parametrize(
    ("path", "claims", "body"),
    [
        ("/v1/sync", {"scope": "system/Communication.write"}, None),
        ("/v1/reports/r1/process", {"scope": "system/Communication.write"}, None),
        (
            "/v1/reports/r1/hold",
            {"scope": "user/Communication.write", "fhirUser": "Practitioner/9"},
            {"harm": "life_or_physical_safety", "review_by": "2999-01-01T00:00:00Z"},
        ),
        (
            "/v1/reports/r1/release",
            {"scope": "user/Communication.write", "fhirUser": "Practitioner/9"},
            None,
        ),
    ],
)
def test_fhir_actions_without_a_fhir_server_answer_503_naming_the_setting(
    client, issuer, path, claims, body
):
    response = client.post(path, headers=issuer.headers(**claims), json=body)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert "RADPLAIN_FHIR_BASE" in response.json["detail"]


def test_notification_without_a_fhir_server_answers_503_naming_the_setting(client):
    response = client.post("/v1/notifications/fhir", headers={"Authorization": SECRET})
    assert response.status_code == 503
    assert "RADPLAIN_FHIR_BASE" in response.json["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Bundle", "entry": "x"},
        {"resourceType": "Bundle", "entry": None, "type": "history"} | {"entry": ["x"]},
        {"resourceType": "Bundle", "entry": [{"resource": []}]},
        {
            "resourceType": "Bundle",
            "entry": [
                {"resource": {"resourceType": "SubscriptionStatus", "notificationEvent": {}}}
            ],
        },
        {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": {
                        "resourceType": "SubscriptionStatus",
                        "notificationEvent": [{"focus": 7}],
                    }
                }
            ],
        },
        {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": {
                        "resourceType": "SubscriptionStatus",
                        "notificationEvent": [{"focus": {"reference": 7}}],
                    }
                }
            ],
        },
    ],
    ids=[
        "entry a string",
        "entry item a string",
        "resource an array",
        "events an object",
        "focus a number",
        "reference a number",
    ],
)
def test_a_notification_bundle_of_the_wrong_shape_is_400_saying_where(
    explainer, issuer, tmp_path, body
):
    # found by hypothesis (tests/unit/fhir/test_parsing_properties.py): these were 500s
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "RADPLAIN_NOTIFY_SECRET": SECRET,
        "RADPLAIN_FHIR_BASE": "http://127.0.0.1:9/fhir",
    }
    client = create_app(config.load(env), explainer=explainer).test_client()
    response = client.post("/v1/notifications/fhir", json=body, headers={"Authorization": SECRET})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "Bundle.entry" in response.json["detail"]
