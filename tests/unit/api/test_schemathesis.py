"""The whole contract, fuzzed: schemathesis generates requests from openapi/openapi.yaml
and sends them to the app in-process.

Checks on every response: no 5xx, a status the contract lists for the operation, that
status's content type, and a body that matches its schema. Each operation runs under
several callers (no token, a system token that may read and write, a patient's token, a
clinician's token, the notification secret) and two deployments (no FHIR server; a FHIR
server that is down), so the authenticated paths are fuzzed past the token check too.
Generated data that breaks the contract (negative mode) is sent to operations that take
input. Hypothesis is derandomized: the same cases every run, so CI is deterministic.

A failure prints the operation, the caller and a curl command that reproduces it; each bug
found this way is fixed in the service and kept in test_fuzz_regressions.py.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service import config
from service.api import create_app


@schemathesis.check
def no_server_error(ctx, response, case):
    """No 5xx, except the two a deployment can honestly answer, where the contract lists
    them: 502 (the FHIR server failed) and 503 (no FHIR server configured), each as a
    problem whose detail says what to fix. A 500 is always a bug, listed or not."""
    status = response.status_code
    if status < 500:
        return None
    documented = str(status) in case.operation.definition.raw.get("responses", {})
    detail = (response.json() or {}).get("detail", "") if status in (502, 503) else ""
    assert status in (502, 503) and documented and detail, f"server error {status}"
    return True


CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SPEC = Path(__file__).parents[3] / "openapi" / "openapi.yaml"
SECRET = "notify-secret-for-fuzzing"
MIN_CASES = 1000
# examples per (operation, caller, mode); explain does the real work, so it gets the most
EXAMPLES = {"explain": 150}
DEFAULT_EXAMPLES = 25
# which callers each operation is fuzzed with (every operation also runs with none)
PHI = ("system", "patient", "clinician")
CALLERS = {
    "listHolds": PHI,
    "getExplanation": PHI,
    "sync": ("system",),
    "processReport": ("system",),
    "holdReport": ("clinician",),
    "releaseReport": ("clinician",),
    "fhirNotification": ("secret",),
}


def _headers(issuer, caller: str) -> dict:
    return {
        "none": {},
        "system": issuer.headers(scope="system/*.read system/Communication.write"),
        "patient": issuer.headers(scope="patient/*.read", patient="A"),
        "clinician": issuer.headers(
            scope="user/*.read user/Communication.write", fhirUser="Practitioner/9"
        ),
        "secret": {"Authorization": SECRET},
    }[caller]


def _app(explainer, issuer, folder, fhir_base: str | None):
    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'store.sqlite3'}",
        "RADPLAIN_NOTIFY_SECRET": SECRET,
        "RADPLAIN_FHIR_RETRIES": "1",  # a down server answers at once: no backoff sleeps
        "RADPLAIN_FHIR_TIMEOUT": "2",
        **issuer.env,
    }
    if fhir_base:
        env["RADPLAIN_FHIR_BASE"] = fhir_base
    return create_app(config.load(env), explainer=explainer)


def _fuzz(operation, mode, examples, headers, counter: Counter, statuses: Counter, key) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is shown as found
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        counter[key] += 1
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[key[0], response.status_code] += 1

    run()


FHIR_OPERATIONS = {"sync", "processReport", "holdReport", "releaseReport", "fhirNotification"}


@pytest.mark.parametrize(
    ("deployment", "operations", "least"),
    [(None, None, MIN_CASES), ("http://127.0.0.1:9/fhir", FHIR_OPERATIONS, 300)],
    ids=["every operation, no FHIR server", "FHIR operations, FHIR server down"],
)
def test_every_operation_survives_generated_requests(
    explainer, issuer, tmp_path, deployment, operations, least, capsys
):
    app = _app(explainer, issuer, tmp_path, deployment)
    # from_path, not from_wsgi: from_wsgi leaves out the operation that serves the schema
    schema = schemathesis.openapi.from_path(SPEC)
    schema.app = app
    counter: Counter = Counter()
    statuses: Counter = Counter()
    failures: list[str] = []
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        op_id = operation.definition.raw.get("operationId", operation.label)
        if operations is not None and op_id not in operations:
            continue
        takes_input = bool(operation.body) or any(True for _ in operation.iter_parameters())
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if takes_input else [])
        for caller in ("none", *CALLERS.get(op_id, ())):
            for mode in modes:
                key = (op_id, caller, mode.value)
                try:
                    _fuzz(
                        operation,
                        mode,
                        EXAMPLES.get(op_id, DEFAULT_EXAMPLES),
                        _headers(issuer, caller),
                        counter,
                        statuses,
                        key,
                    )
                except Exception as exc:  # noqa: BLE001 - collected, all reported below
                    failures.append(f"{op_id} as {caller} ({mode.value}):\n{exc}")
    total = sum(counter.values())
    with capsys.disabled():
        print(
            f"\nschemathesis ({deployment or 'no FHIR server'}): {total} generated requests over "
            f"{len({k[0] for k in counter})} operations in {time.perf_counter() - started:.1f} s"
        )
        for (op_id, status), n in sorted(statuses.items()):
            print(f"  {op_id:18} {status}  x{n}")
    assert not failures, "\n\n".join(failures)
    assert total >= least, counter
