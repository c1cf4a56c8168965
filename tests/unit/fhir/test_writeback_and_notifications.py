import json
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication

from service.errors import BadInput
from service.fhir import notifications, writeback

REPORT = {
    "resourceType": "DiagnosticReport",
    "id": "r1",
    "status": "final",
    "code": {"text": "CXR"},
    "meta": {
        "versionId": "3",
        "security": [
            {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
        ],
    },
    "subject": {"reference": "Patient/p1"},
}
BASE = "http://ehr.test/fhir/R4"


def _comm(urgency="critical"):
    return writeback.communication(
        REPORT, {"urgency": urgency, "x": 1}, "text", "<p>x</p>", datetime(2026, 1, 1, tzinfo=UTC)
    )


def test_communication_is_valid_r4_with_identifier_priority_and_inherited_labels():
    comm = _comm()
    Communication.model_validate(comm)
    assert comm["identifier"] == [{"system": writeback.IDENTIFIER_SYSTEM, "value": "r1-v3-patient"}]
    assert comm["priority"] == "stat" and comm["status"] == "completed"
    assert comm["meta"]["security"] == REPORT["meta"]["security"]
    assert comm["recipient"] == [{"reference": "Patient/p1"}]
    kinds = [p.get("contentAttachment", {}).get("contentType", "string") for p in comm["payload"]]
    assert kinds == ["string", "text/html", "application/json"]


def test_transaction_makes_both_writes_conditional():
    bundle = writeback.transaction(
        _comm(),
        lambda t: writeback.provenance(REPORT, t, datetime(2026, 1, 1, tzinfo=UTC), "released"),
    )
    Bundle.model_validate(bundle)
    first, second = (e["request"] for e in bundle["entry"])
    assert first["ifNoneExist"] == f"identifier={writeback.IDENTIFIER_SYSTEM}|r1-v3-patient"
    assert second["ifNoneExist"] == f"_tag={writeback.PROVENANCE_TAG}|r1-v3-patient"
    assert bundle["entry"][1]["resource"]["target"] == [
        {"reference": bundle["entry"][0]["fullUrl"]}
    ]


@pytest.mark.parametrize(
    "body,ids,resync",
    [
        (b"", (), True),
        (json.dumps({"resourceType": "DiagnosticReport", "id": "r9"}).encode(), ("r9",), False),
        (
            json.dumps(
                {
                    "resourceType": "Bundle",
                    "type": "history",
                    "entry": [
                        {
                            "resource": {
                                "resourceType": "SubscriptionStatus",
                                "notificationEvent": [
                                    {"focus": {"reference": f"{BASE}/DiagnosticReport/r7"}},
                                    {"focus": {"reference": "DiagnosticReport/r8"}},
                                ],
                            }
                        }
                    ],
                }
            ).encode(),
            ("r7", "r8"),
            False,
        ),
    ],
)
def test_notification_shapes(body, ids, resync):
    note = notifications.parse(body, BASE)
    assert (note.report_ids, note.resync) == (ids, resync)


def test_notification_naming_another_server_is_refused():
    body = json.dumps(
        {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": {
                        "resourceType": "SubscriptionStatus",
                        "notificationEvent": [
                            {"focus": {"reference": "http://169.254.169.254/DiagnosticReport/1"}}
                        ],
                    }
                }
            ],
        }
    )
    with pytest.raises(BadInput, match="not on the configured FHIR base"):
        notifications.parse(body.encode(), BASE)


def test_notification_ids_must_be_fhir_ids():
    with pytest.raises(BadInput, match="not a valid FHIR id"):
        notifications.parse(
            json.dumps({"resourceType": "DiagnosticReport", "id": "../x"}).encode(), BASE
        )


def test_notification_secret_is_checked():
    notifications.check_secret({"authorization": "Bearer s3"}, "Authorization", "Bearer s3")
    with pytest.raises(notifications.Unauthorized):
        notifications.check_secret({"Authorization": "Bearer nope"}, "Authorization", "Bearer s3")
    with pytest.raises(notifications.Unauthorized):
        notifications.check_secret({}, "Authorization", "")
