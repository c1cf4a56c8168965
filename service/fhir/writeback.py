"""The resources radplain writes back: a patient-facing Communication and its Provenance.

One Communication per report version and audience, found again by an identifier built
from the report id and version, so a conditional create (``ifNoneExist``) never makes a
second one — not on a retry, not when two syncs race. The Provenance is made conditional
the same way, through a tag. Both are built as plain R4 JSON and checked against the
fhir.resources R4B models before they leave.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.provenance import Provenance

from .. import __version__

IDENTIFIER_SYSTEM = "urn:radplain:communication"
PROVENANCE_TAG = "urn:radplain:provenance"
DEVICE_SYSTEM = "urn:radplain:device"
CATEGORY_SYSTEM = "urn:radplain:communication-category"
PRIORITY = {"routine": "routine", "soon": "routine", "urgent": "urgent", "critical": "stat"}


def version_of(report: dict) -> str:
    return str((report.get("meta") or {}).get("versionId") or "1")


def communication_key(report: dict, audience: str = "patient") -> str:
    return f"{report['id']}-v{version_of(report)}-{audience}"


def _attachment(content_type: str, data: bytes, title: str) -> dict:
    return {
        "contentType": content_type,
        "data": base64.b64encode(data).decode("ascii"),
        "title": title,
    }


def communication(
    report: dict, doc: dict, text: str, html: str, now: datetime, audience: str = "patient"
) -> dict:
    subject = report.get("subject") or {}
    resource = {
        "resourceType": "Communication",
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": communication_key(report, audience)}],
        "status": "completed",
        "category": [
            {
                "coding": [
                    {
                        "system": CATEGORY_SYSTEM,
                        "code": "lay-explanation",
                        "display": "Plain-language explanation of a radiology report",
                    }
                ]
            }
        ],
        "priority": PRIORITY[doc["urgency"]],
        "subject": subject,
        "recipient": [subject],
        # unversioned, so "Communication?about=DiagnosticReport/x" finds every version's;
        # the identifier and the Provenance name the exact version
        "about": [{"reference": f"DiagnosticReport/{report['id']}"}],
        "sent": now.isoformat(),
        "payload": [
            {"contentString": text},
            {
                "contentAttachment": _attachment(
                    "text/html", html.encode("utf-8"), "Explanation (HTML)"
                )
            },
            {
                "contentAttachment": _attachment(
                    "application/json",
                    json.dumps(doc, ensure_ascii=False).encode("utf-8"),
                    "radplain Explanation document",
                )
            },
        ],
    }
    security = (report.get("meta") or {}).get("security")
    if security:  # the explanation is as sensitive as the report it explains
        resource["meta"] = {"security": security}
    Communication.model_validate(resource)  # R4 structure checked before it leaves
    return resource


def provenance(
    report: dict, target: str, now: datetime, reason: str, audience: str = "patient"
) -> dict:
    resource = {
        "resourceType": "Provenance",
        "meta": {"tag": [{"system": PROVENANCE_TAG, "code": communication_key(report, audience)}]},
        "target": [{"reference": target}],
        "recorded": now.isoformat(),
        "reason": [{"text": reason}],
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "assembler",
                        }
                    ]
                },
                "who": {
                    "type": "Device",
                    "identifier": {"system": DEVICE_SYSTEM, "value": "radplain"},
                    "display": f"radplain {__version__}",
                },
            }
        ],
        "entity": [
            {
                "role": "source",
                "what": {
                    "reference": f"DiagnosticReport/{report['id']}/_history/{version_of(report)}"
                },
            }
        ],
    }
    Provenance.model_validate(resource)
    return resource


def transaction(comm: dict, prov_for: callable) -> dict:
    """Both resources in one all-or-nothing transaction, each created only if absent."""
    comm_url = f"urn:uuid:{uuid.uuid4()}"
    prov = prov_for(comm_url)
    key = comm["identifier"][0]["value"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": comm_url,
                "resource": comm,
                "request": {
                    "method": "POST",
                    "url": "Communication",
                    "ifNoneExist": f"identifier={IDENTIFIER_SYSTEM}|{key}",
                },
            },
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": prov,
                "request": {
                    "method": "POST",
                    "url": "Provenance",
                    "ifNoneExist": f"_tag={PROVENANCE_TAG}|{key}",
                },
            },
        ],
    }
    return bundle  # its two resources were validated as they were built


def withdrawn(comm: dict) -> dict:
    """A Communication marked entered-in-error: what was sent should no longer be shown."""
    return {**comm, "status": "entered-in-error"}
