"""A small FHIR R4 REST client: timeouts, retries that honour Retry-After, paging, typed errors.

Only what the pipeline needs: search (following Bundle.link[next]), read, vread,
conditional create, update with If-Match, and transactions. Every failure becomes a
``FhirError`` subclass carrying the server's OperationOutcome text, so an operator reads
what the EHR said, not a stack trace.
"""

from __future__ import annotations

import base64
import email.utils
import json as json_module
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from .. import metrics
from ..errors import BadInput, FhirError

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# FHIR R4 id datatype; "." and ".." match it but are path segments, not ids
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class FhirHttpError(FhirError):
    """The server answered with an error status."""

    def __init__(self, status: int, message: str, outcome: dict | None = None):
        super().__init__(f"FHIR server answered {status}: {message}")
        self.http_status = status
        self.outcome = outcome


class FhirNotFound(FhirHttpError):
    pass


class FhirConflict(FhirHttpError):
    """409 or 412: someone else changed the resource (version conflict)."""


class FhirUnavailable(FhirError):
    """The server could not be reached, or kept answering 429/5xx after every retry."""


def _refuse_redirect(response: requests.Response, *args, **kwargs) -> None:
    """A response hook: runs before requests would follow a redirect, so a server (or
    anything that can make it answer 3xx) cannot send radplain, and the bearer token,
    to another host: cloud metadata, the internal network, a file."""
    if response.is_redirect:
        target = response.headers.get("Location", "")
        response.close()
        raise FhirError(
            f"the FHIR server answered {response.status_code} redirecting to {target!r}; "
            "radplain follows no redirects: set RADPLAIN_FHIR_BASE to the address that answers"
        )


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff: float = 0.5  # seconds, doubled each attempt, with jitter
    max_wait: float = 30.0  # never sleep longer than this for one Retry-After


def outcome_text(outcome: dict | None) -> str:
    if not isinstance(outcome, dict) or outcome.get("resourceType") != "OperationOutcome":
        return ""
    parts = []
    for issue in outcome.get("issue", []):
        text = (
            issue.get("diagnostics")
            or (issue.get("details") or {}).get("text")
            or issue.get("code")
        )
        if text:
            parts.append(str(text))
    return "; ".join(parts)


class FhirClient:
    def __init__(
        self,
        base: str,
        *,
        session: requests.Session | None = None,
        auth: Callable[[], str] | None = None,
        on_unauthorized: Callable[[], None] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base = base.rstrip("/") + "/"
        self._origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base))
        self.session = session or requests.Session()
        self.session.hooks["response"].append(_refuse_redirect)
        self._auth = auth  # returns a bearer token
        self._on_unauthorized = on_unauthorized  # drops a cached token
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep

    # -- plumbing ----------------------------------------------------------------------
    def url(self, path: str) -> str:
        return urljoin(self.base, path.lstrip("/"))

    def same_server(self, url: str) -> bool:
        """Is ``url`` on the configured FHIR base? (Nothing else is ever fetched.)"""
        return url.startswith(self.base) or url.rstrip("/") + "/" == self.base

    def request(
        self,
        method: str,
        url: str,
        *,
        json: dict | None = None,
        params=None,
        headers: dict | None = None,
        stream: bool = False,
    ) -> requests.Response:
        if not self.same_server(url):
            raise FhirError(
                f"refusing to call {url!r}: not under the configured FHIR base {self.base}"
            )
        send_headers = {"Accept": FHIR_JSON}
        if json is not None:
            send_headers["Content-Type"] = FHIR_JSON
        send_headers.update(headers or {})
        refreshed = False
        for attempt in range(1, self.retry.attempts + 1):
            if self._auth is not None:
                send_headers["Authorization"] = f"Bearer {self._auth()}"
            started = time.perf_counter()
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers=send_headers,
                    timeout=self.timeout,
                    stream=stream,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                metrics.FHIR_SECONDS.labels(method, "unreachable").observe(
                    time.perf_counter() - started
                )
                if attempt == self.retry.attempts:
                    raise FhirUnavailable(
                        f"cannot reach the FHIR server at {self._origin}: "
                        f"{type(exc).__name__} after {attempt} attempts"
                    ) from exc
                self._wait(attempt, None)
                continue
            metrics.FHIR_SECONDS.labels(method, f"{response.status_code // 100}xx").observe(
                time.perf_counter() - started
            )
            if response.status_code == 401 and self._on_unauthorized and not refreshed:
                # an expired or revoked token: get a new one once, then try again
                self._on_unauthorized()
                refreshed = True
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retry.attempts:
                log.info("fhir retry", extra={"status": response.status_code, "attempt": attempt})
                self._wait(attempt, response.headers.get("Retry-After"))
                continue
            return self._checked(response)
        raise FhirUnavailable(
            f"FHIR server at {self._origin} kept failing after {self.retry.attempts} attempts"
        )

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = _retry_after_seconds(retry_after)
        if delay is None:
            delay = self.retry.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())  # noqa: S311 - jitter, not a secret
        self._sleep(min(delay, self.retry.max_wait))

    def _checked(self, response: requests.Response) -> requests.Response:
        if response.status_code < 400:
            return response
        try:
            body = response.json()
        except ValueError:
            body = None
        message = outcome_text(body) or response.reason or "no details"
        kind = {404: FhirNotFound, 410: FhirNotFound, 409: FhirConflict, 412: FhirConflict}.get(
            response.status_code, FhirHttpError
        )
        if response.status_code in RETRY_STATUSES:
            raise FhirUnavailable(f"FHIR server answered {response.status_code}: {message}")
        raise kind(response.status_code, message, body)

    # -- operations ----------------------------------------------------------------------
    def read(self, resource_type: str, rid: str, version: str | None = None) -> dict:
        if not FHIR_ID.fullmatch(rid) or set(rid) == {"."}:
            raise BadInput(f"{rid!r} is not a FHIR id (letters, digits, '-' and '.', 1-64)")
        path = f"{resource_type}/{rid}" + (f"/_history/{version}" if version else "")
        return self.request("GET", self.url(path)).json()

    def attachment(self, url: str, max_bytes: int) -> bytes:
        """An Attachment.url's bytes: ``Binary/123`` or an absolute URL under the base.

        Anything off the configured base is refused (BadInput: the report is at fault), as
        the server's next links are. A FHIR JSON answer is a Binary resource (its ``data``
        is decoded); any other answer is the raw content. At most ``max_bytes`` (plus the
        base64 overhead) are read, so the size check that follows sees an oversized file
        without this process holding all of it.
        """
        target = self.url(url)
        if not self.same_server(target):
            raise BadInput(
                f"attachment url {url!r} is not on the configured FHIR server {self.base}; "
                "radplain fetches attachments from nowhere else"
            )
        response = self.request(
            "GET", target, headers={"Accept": f"{FHIR_JSON}, */*;q=0.5"}, stream=True
        )
        budget, chunks, size = max_bytes * 4 // 3 + 4096, [], 0
        for chunk in response.iter_content(64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > budget:
                break
        response.close()
        body = b"".join(chunks)
        media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media in (FHIR_JSON, "application/json") and size <= budget:
            try:
                resource = json_module.loads(body)
                if resource.get("resourceType") == "Binary":
                    return base64.b64decode(resource.get("data") or "")
            except (ValueError, AttributeError, TypeError) as exc:
                raise BadInput(f"attachment url {url!r} returned an unreadable Binary") from exc
        return body

    def search(self, resource_type: str, params: dict) -> Iterator[dict]:
        """Every matching resource, following Bundle.link[next] page by page."""
        url, query = self.url(resource_type), dict(params)
        while url:
            bundle = self.request("GET", url, params=query).json()
            for entry in bundle.get("entry", []):
                if entry.get("search", {}).get("mode", "match") == "match" and "resource" in entry:
                    yield entry["resource"]
            url = next(
                (link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"),
                None,
            )
            query = None  # the next link carries its own query
            if url and not self.same_server(url):
                raise FhirError(f"the server's next link {url!r} leaves the configured FHIR base")

    def create(self, resource: dict, if_none_exist: str | None = None) -> tuple[dict, bool]:
        """(resource, created?) — with If-None-Exist an existing match is returned instead."""
        headers = {"If-None-Exist": if_none_exist} if if_none_exist else None
        response = self.request(
            "POST", self.url(resource["resourceType"]), json=resource, headers=headers
        )
        body = response.json() if response.content else {}
        return body, response.status_code == 201

    def update(self, resource: dict, version: str | None = None) -> dict:
        headers = {"If-Match": f'W/"{version}"'} if version else None
        path = f"{resource['resourceType']}/{resource['id']}"
        return self.request("PUT", self.url(path), json=resource, headers=headers).json()

    def transaction(self, bundle: dict) -> dict:
        return self.request("POST", self.base, json=bundle).json()


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
