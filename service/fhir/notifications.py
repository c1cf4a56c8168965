"""FHIR Subscription notifications in, report ids to process out.

Three shapes arrive: an R4 rest-hook with the full resource, an R4 id-only ping with an
empty body (meaning "something changed: search again"), and an R4B/R5 topic-based
notification Bundle whose SubscriptionStatus names the focus resources. The payload is
never trusted as the report itself: radplain reads each named report back from the
configured FHIR base, and refuses any reference that points anywhere else (no SSRF).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass

from ..errors import BadInput, Unauthorized
from .client import FHIR_ID


@dataclass(frozen=True)
class Notification:
    report_ids: tuple[str, ...]  # DiagnosticReports to read back and process
    resync: bool  # an id-only ping: search for what changed


def check_secret(headers: dict[str, str], header: str, secret: str) -> None:
    """The shared secret configured on the Subscription's channel.header must be sent back."""
    if not secret:
        raise Unauthorized(
            "notifications are off: set RADPLAIN_NOTIFY_SECRET to the value the Subscription "
            f"sends in its {header} header"
        )
    got = {k.lower(): v for k, v in headers.items()}.get(header.lower(), "")
    if not hmac.compare_digest(got.encode(), secret.encode()):
        raise Unauthorized(f"notification without the expected {header} header value")


def parse(body: bytes, base: str) -> Notification:
    if not body.strip():
        return Notification((), True)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput("notification body is not JSON") from exc
    if not isinstance(data, dict):
        raise BadInput("notification body must be a FHIR resource or Bundle")
    kind = data.get("resourceType")
    if kind == "DiagnosticReport":
        return Notification((_local_id(data.get("id"), "DiagnosticReport", base),), False)
    if kind == "Bundle":
        return Notification(tuple(_focus_ids(data, base)), False)
    raise BadInput(
        f"notification carries a {kind!r}; expected a DiagnosticReport or a notification Bundle"
    )


def _focus_ids(bundle: dict, base: str) -> list[str]:
    ids: list[str] = []
    for i, entry in enumerate(_field(bundle, "entry", list, "Bundle")):
        where = f"Bundle.entry[{i}]"
        if not isinstance(entry, dict):
            raise BadInput(f"notification {where} must be an object")
        resource = _field(entry, "resource", dict, where)
        if resource.get("resourceType") == "SubscriptionStatus":
            where += ".resource"
            for j, event in enumerate(_field(resource, "notificationEvent", list, where)):
                at = f"{where}.notificationEvent[{j}]"
                if not isinstance(event, dict):
                    raise BadInput(f"notification {at} must be an object")
                ref = _field(event, "focus", dict, at).get("reference")
                if ref is not None and not isinstance(ref, str):
                    raise BadInput(f"notification {at}.focus.reference must be a string")
                if ref:
                    ids.append(_reference_id(ref, base))
        elif resource.get("resourceType") == "DiagnosticReport":
            ids.append(_local_id(resource.get("id"), "DiagnosticReport", base))
    return list(dict.fromkeys(i for i in ids if i))


def _field(obj: dict, name: str, kind: type, where: str):
    """``obj[name]`` if it is a ``kind`` (absent or null: an empty one); else BadInput."""
    value = obj.get(name)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise BadInput(
            f"notification {where}.{name} must be {'an array' if kind is list else 'an object'}"
        )
    return value


def _reference_id(ref: str, base: str) -> str:
    """'DiagnosticReport/123' or '<base>/DiagnosticReport/123' -> '123'; other hosts are refused."""
    base = base.rstrip("/") + "/"
    if "://" in ref:
        if not ref.startswith(base):
            raise BadInput(f"notification names {ref!r}, which is not on the configured FHIR base")
        ref = ref[len(base) :]
    parts = ref.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "DiagnosticReport":
        return ""  # not a report: nothing for radplain to do
    return _local_id(parts[1], "DiagnosticReport", base)


def _local_id(rid: object, kind: str, base: str) -> str:
    # the R4 id datatype (ASCII only: str.isalnum() let other scripts' letters through),
    # and never "." or "..", which a URL would read as a path segment, not an id
    if not isinstance(rid, str) or not FHIR_ID.fullmatch(rid) or set(rid) == {"."}:
        raise BadInput(f"notification {kind} id {rid!r} is not a valid FHIR id")
    return rid
