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
    report: dict,
    doc: dict,
    text: str,
    html: str,
    now: datetime,
    audience: str = "patient",
    recipient: dict | None = None,
    hold: dict | None = None,
) -> dict:
    """``hold``: the release decision when it is not "release now": status on-hold, with
    the legal basis as statusReason; ``sent`` is set only once it is released."""
    subject = report.get("subject") or {}
    resource = {
        "resourceType": "Communication",
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": communication_key(report, audience)}],
        "status": "on-hold" if hold else "completed",
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
        "recipient": [recipient or subject],
        # unversioned, so "Communication?about=DiagnosticReport/x" finds every version's;
        # the identifier and the Provenance name the exact version
        "about": [{"reference": f"DiagnosticReport/{report['id']}"}],
        **({} if hold else {"sent": now.isoformat()}),
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
    if hold:
        resource["statusReason"] = {
            "coding": [{"system": hold["basis"]["system"], "code": hold["basis"]["code"]}],
            "text": hold["reason"] + (f" Until {hold['until']}." if hold.get("until") else ""),
        }
    security = (report.get("meta") or {}).get("security")
    if security:  # the explanation is as sensitive as the report it explains
        resource["meta"] = {"security": security}
    Communication.model_validate(resource)  # R4 structure checked before it leaves
    return resource


def provenance(
    report: dict,
    target: str,
    now: datetime,
    reason: str,
    audience: str = "patient",
    policy: str | None = None,
    step: str = "",
) -> dict:
    """Who decided what, on which legal basis. ``step`` tells a release after a hold apart
    from the first decision, so each gets its own (conditional) Provenance."""
    tag = communication_key(report, audience) + (f"-{step}" if step else "")
    resource = {
        "resourceType": "Provenance",
        "meta": {"tag": [{"system": PROVENANCE_TAG, "code": tag}]},
        "target": [{"reference": target}],
        "recorded": now.isoformat(),
        "reason": [{"text": reason}],
        **({"policy": [policy]} if policy else {}),
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
    tag = prov["meta"]["tag"][0]["code"]
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
                    "ifNoneExist": f"_tag={PROVENANCE_TAG}|{tag}",
                },
            },
        ],
    }
    return bundle  # its two resources were validated as they were built


def released(comm: dict, now: datetime) -> dict:
    """A held Communication, now released: completed, sent now, no hold reason."""
    out = {k: v for k, v in comm.items() if k != "statusReason"}
    return {**out, "status": "completed", "sent": now.isoformat()}


def withdrawn(comm: dict) -> dict:
    """A Communication marked entered-in-error: what was sent should no longer be shown."""
    return {**comm, "status": "entered-in-error"}
