"""The ``radplain`` command line. Bad input: one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import json
import sys
from functools import cache
from pathlib import Path

from .errors import BadInput, RadplainError

MAX_INPUT_BYTES = 5 * 1024 * 1024  # a radiology report is a few kB; 5 MB is abuse (PDFs and
# images may be larger: up to RADPLAIN_MAX_DOCUMENT_BYTES)


@cache
def _explainer():
    from . import mappings
    from .annotate.explain import Explainer

    return Explainer(mappings.default())


def _read(path: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    if path == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        p = Path(path)
        if not p.is_file():
            raise BadInput(f"{path}: no such file")
        with p.open("rb") as fh:
            data = fh.read(limit + 1)
    if len(data) > limit:
        raise BadInput(f"{path}: input is larger than {limit / (1024 * 1024):g} MB")
    return data


def load_source(data: bytes, name: str, settings=None):
    """Plain text, a FHIR DiagnosticReport (detected), a PDF or an image -> AnalysedText."""
    from . import config, inputs

    return inputs.load(data, name, settings or config.load())


def cmd_explain(args) -> int:
    from . import config, mappings
    from .render import Renderer

    settings = config.load()
    name = "stdin" if args.path == "-" else args.path
    limit = max(MAX_INPUT_BYTES, settings.documents.max_bytes)
    source = load_source(_read(args.path, limit), name, settings)
    doc = _explainer().explain(source, args.lang)
    if args.format == "json":
        out = json.dumps(doc, ensure_ascii=False, indent=2)
    elif args.format == "html":
        out = Renderer(mappings.default().ui).html(doc)
    else:
        out = Renderer(mappings.default().ui).text(doc)
    sys.stdout.write(out + "\n")
    return 0


def cmd_assertions(args) -> int:
    explainer = _explainer()
    name = "stdin" if args.path == "-" else args.path
    lines = _read(args.path).decode("utf-8", errors="strict").splitlines()
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{name}:{number}: not valid JSON: {exc.msg}") from exc
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise BadInput(f'{name}:{number}: each line needs a "text" string')
        start, end, text = item.get("start"), item.get("end"), item["text"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise BadInput(
                f'{name}:{number}: "start" and "end" must be integers with '
                f'0 <= start < end <= {len(text)} (the length of "text")'
            )
        result = explainer.context.assert_one(text, start, end)
        item.update(
            assertion=result.assertion, historical=result.historical, certainty=result.certainty
        )
        out.append(json.dumps(item, ensure_ascii=False))
    sys.stdout.write("".join(line + "\n" for line in out))
    return 0


def _pipeline(fhir_base: str | None = None):
    from . import config
    from .pipeline import Pipeline

    settings = config.load()
    return settings, Pipeline.from_settings(settings, _explainer(), fhir_base=fhir_base)


def cmd_sync(args) -> int:
    import time

    from .worker import OUTAGE

    settings, pipeline = _pipeline(args.fhir_base)
    while True:
        try:
            result = pipeline.sync()
        except OUTAGE as exc:
            if args.once:
                raise
            # polling: the watermark was not moved, so the next pass picks up from here
            print(f"sync: not finished ({type(exc).__name__}); trying again", file=sys.stderr)
            time.sleep(settings.sync_interval)
            continue
        print(
            f"sync: {result.seen} reports seen, {result.written} written, "
            f"{result.already} already done, {result.withdrawn} withdrawn, "
            f"{result.skipped} skipped, {len(result.failed)} not explainable"
        )
        if args.once:
            return 0
        time.sleep(settings.sync_interval)


def cmd_worker(args) -> int:
    """A replica sharing the sync work with others through the database."""
    import os
    import signal
    import socket
    from datetime import timedelta

    from .worker import Worker

    settings, pipeline = _pipeline(args.fhir_base)
    name = args.name or f"{socket.gethostname()}-{os.getpid()}"
    worker = Worker(pipeline, name, lease=timedelta(seconds=settings.work_lease))
    for sig in (signal.SIGTERM, signal.SIGINT):  # finish the report in hand, give back the rest
        signal.signal(sig, lambda *_: worker.stop.set())
    outcomes = worker.run(settings.sync_interval, until_idle=args.until_idle)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "nothing to do"
    print(f"worker {name}: {sum(outcomes.values())} processed ({summary})")
    return 0


def cmd_failed(args) -> int:
    """The reports the workers set aside after repeated failures; --retry queues them again."""
    from . import config
    from .store.db import Store

    store = Store(config.load().database_url)
    items = store.failed_work()
    for item in items:
        print(
            f"{item['report_id']} v{item['version']}: {item['attempts']} attempts, "
            f"last {item['last_error']}"
        )
    if args.retry:
        print(f"failed: {store.requeue_failed()} queued again")
    else:
        print(f"failed: {len(items)} set aside" + (" (--retry queues them again)" if items else ""))
    return 0


def cmd_release_due(args) -> int:
    _, pipeline = _pipeline(args.fhir_base)
    print(f"release-due: {pipeline.release_due()} held Communications released")
    return 0


def cmd_clinician_hold(args) -> int:
    """A licensed clinician's individualized preventing-harm determination (45 CFR 171.201)."""
    from datetime import UTC, datetime

    _, pipeline = _pipeline(args.fhir_base)
    try:
        review_by = datetime.fromisoformat(args.review_by)
    except ValueError as exc:
        raise BadInput(f"--review-by {args.review_by!r} is not an ISO date-time") from exc
    if review_by.tzinfo is None:
        review_by = review_by.replace(tzinfo=UTC)
    if not args.clinician.startswith("Practitioner/"):
        raise BadInput("--clinician must be a Practitioner reference (Practitioner/<id>)")
    pipeline.store.record_harm(
        args.report, args.audience, args.clinician, args.harm, datetime.now(UTC), review_by
    )
    print(
        f"recorded: {args.clinician} holds DiagnosticReport/{args.report} for {args.audience} "
        f"until {review_by.isoformat()} ({args.harm})"
    )
    return 0


def cmd_clinician_release(args) -> int:
    from datetime import UTC, datetime

    _, pipeline = _pipeline(args.fhir_base)
    lifted = pipeline.store.lift_harm(args.report, datetime.now(UTC))
    released = pipeline.release_due()
    print(f"lifted {lifted} determination(s); {released} held Communications released")
    return 0


def cmd_backfill(args) -> int:
    from .backfill import backfill

    result = backfill(Path(args.ndjson), Path(args.out), _explainer())
    print(
        f"backfill: {result.read} lines, {result.written} Communications written, "
        f"{result.not_reports} not DiagnosticReports, {result.not_releasable} not final, "
        f"{result.errors} errors (see {Path(args.out) / 'errors.ndjson'})"
    )
    return 0


def cmd_serve(args) -> int:
    """The HTTP service on loopback by default (production runs it under gunicorn)."""
    from werkzeug.serving import run_simple

    from . import config, logs
    from .api import create_app

    logs.configure()
    settings, explainer = config.load(), _explainer()
    app = create_app(settings, explainer=explainer)
    routes = "demo page at /, API at /v1, GET /healthz, /readyz, /metrics"
    print(f"radplain serving on http://{args.host}:{args.port} ({routes})")
    worker = None
    if settings.fhir_base:  # the sync and release work, in this process (see radplain worker)
        from .pipeline import Pipeline
        from .worker import in_background

        worker = in_background(Pipeline.from_settings(settings, explainer), settings.sync_interval)
        print(f"syncing {settings.fhir_base} every {settings.sync_interval:g} s in the background")
    try:
        run_simple(args.host, args.port, app, threaded=True)
    finally:
        if worker:
            worker.stop.set()
    return 0


def cmd_check_mappings(args) -> int:
    from . import mappings

    loaded = mappings.load()
    counts = ", ".join(f"{len(getattr(loaded, k))} {k}" for k in mappings.KINDS)
    print(f"mappings OK: {counts}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="radplain", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser(
        "explain", help="explain a report (plain text or FHIR DiagnosticReport JSON)"
    )
    e.add_argument("--lang", choices=["en", "es"], default="en")
    e.add_argument("--format", choices=["json", "text", "html"], default="text")
    e.add_argument("path", nargs="?", default="-", help="report file, or - for stdin (default)")
    e.set_defaults(func=cmd_explain)

    a = sub.add_parser("assertions", help="JSON Lines {text,start,end} in; assertion per line out")
    a.add_argument("path", nargs="?", default="-")
    a.set_defaults(func=cmd_assertions)

    y = sub.add_parser(
        "sync", help="pull radiology reports from a FHIR server, explain, write back"
    )
    y.add_argument("--fhir-base", help="FHIR R4 base URL (default: RADPLAIN_FHIR_BASE)")
    y.add_argument("--once", action="store_true", help="one pass, then exit")
    y.set_defaults(func=cmd_sync)

    b = sub.add_parser(
        "backfill", help="Bulk Data NDJSON DiagnosticReports in, NDJSON Communications out"
    )
    b.add_argument("--ndjson", required=True, help="folder of .ndjson files")
    b.add_argument("--out", required=True, help="folder for Communication.ndjson and errors.ndjson")
    b.set_defaults(func=cmd_backfill)

    w = sub.add_parser(
        "worker", help="share sync work with other replicas through the database (PostgreSQL)"
    )
    w.add_argument("--fhir-base", help="FHIR R4 base URL (default: RADPLAIN_FHIR_BASE)")
    w.add_argument("--name", help="this replica's name in claims (default: host-pid)")
    w.add_argument("--until-idle", action="store_true", help="exit when no work is left")
    w.set_defaults(func=cmd_worker)

    f = sub.add_parser("failed", help="list the reports workers set aside after repeated failures")
    f.add_argument("--retry", action="store_true", help="queue them again")
    f.set_defaults(func=cmd_failed)

    r = sub.add_parser("release-due", help="re-decide open holds and release those that are due")
    r.add_argument("--fhir-base", help="FHIR R4 base URL (default: RADPLAIN_FHIR_BASE)")
    r.set_defaults(func=cmd_release_due)

    h = sub.add_parser("clinician-hold", help="record a clinician's preventing-harm determination")
    h.add_argument("--report", required=True, help="DiagnosticReport id")
    h.add_argument("--clinician", required=True, help="Practitioner/<id> of the licensed clinician")
    h.add_argument("--harm", required=True, choices=["life_or_physical_safety", "substantial_harm"])
    h.add_argument("--review-by", required=True, help="ISO date-time by which it must be reviewed")
    h.add_argument(
        "--audience", default="*", help="Patient/<id>, RelatedPerson/<id>, or * (default)"
    )
    h.add_argument("--fhir-base", help="FHIR R4 base URL (default: RADPLAIN_FHIR_BASE)")
    h.set_defaults(func=cmd_clinician_hold)

    lr = sub.add_parser("clinician-release", help="lift a preventing-harm hold early and release")
    lr.add_argument("--report", required=True, help="DiagnosticReport id")
    lr.add_argument("--fhir-base", help="FHIR R4 base URL (default: RADPLAIN_FHIR_BASE)")
    lr.set_defaults(func=cmd_clinician_release)

    sv = sub.add_parser("serve", help="the HTTP service (127.0.0.1:8080 by default)")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    sv.add_argument("--port", type=int, default=8080)
    sv.set_defaults(func=cmd_serve)

    c = sub.add_parser("check-mappings", help="validate every file in mappings/ against its schema")
    c.set_defaults(func=cmd_check_mappings)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except RadplainError as exc:
        print(f"radplain: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except UnicodeDecodeError as exc:
        print(
            f"radplain: error: input is not UTF-8 text ({exc.reason} at byte {exc.start})",
            file=sys.stderr,
        )
        return BadInput.exit_code
    except BrokenPipeError:
        return 0
