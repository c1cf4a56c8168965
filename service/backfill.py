"""Bulk Data NDJSON in, NDJSON Communications out: years of reports, offline.

Every input line ends up somewhere: a Communication in ``Communication.ndjson``, or a
line in ``errors.ndjson`` saying which file and line could not be explained and why.
Lines that are not DiagnosticReports are counted and passed over.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .annotate.explain import Explainer
from .documents.attachments import report_text
from .documents.limits import Limits
from .errors import BadInput, RadplainError
from .fhir import writeback
from .fhir.report import validate_report
from .render import Renderer

RELEASABLE = {"final", "amended", "corrected", "appended"}


@dataclass
class BackfillResult:
    read: int = 0
    written: int = 0
    not_reports: int = 0
    not_releasable: int = 0
    errors: int = 0


def backfill(
    in_dir: Path,
    out_dir: Path,
    explainer: Explainer,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackfillResult:
    files = sorted(in_dir.glob("*.ndjson"))
    if not files:
        raise BadInput(f"{in_dir}: no .ndjson files to read")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = BackfillResult()
    render = Renderer(explainer.m.ui)
    with (
        (out_dir / "Communication.ndjson").open("w", encoding="utf-8") as out,
        (out_dir / "errors.ndjson").open("w", encoding="utf-8") as errors,
    ):
        for path in files:
            with path.open("rb") as fh:
                for number, raw in enumerate(fh, 1):
                    if not raw.strip():
                        continue
                    result.read += 1
                    try:
                        resource = json.loads(raw)
                        if (
                            not isinstance(resource, dict)
                            or resource.get("resourceType") != "DiagnosticReport"
                        ):
                            result.not_reports += 1
                            continue
                        if resource.get("status") not in RELEASABLE:
                            result.not_releasable += 1
                            continue
                        report = validate_report(resource)
                        doc = explainer.explain(report_text(report, Limits()))
                        comm = writeback.communication(
                            report, doc, render.text(doc), render.html(doc), clock()
                        )
                    except (ValueError, UnicodeDecodeError, RadplainError) as exc:
                        result.errors += 1
                        errors.write(
                            json.dumps(
                                {
                                    "file": path.name,
                                    "line": number,
                                    "error": str(exc) or type(exc).__name__,
                                }
                            )
                            + "\n"
                        )
                        continue
                    out.write(json.dumps(comm, ensure_ascii=False) + "\n")
                    result.written += 1
    return result
