"""Every figure the project tracks, each against a baseline measured in the same run, with the
machine it ran on, ending in one table.

    make bench                                 (installs the bench extra, then runs this)
    make bench QUICK=1                         (fewer rounds, smaller sync, shorter load)
    .venv/bin/python benchmarks/all.py [--quick]

Each part runs in a subprocess of its own, one after another, and prints its own figures as
it always has: speed.py (explain rate and assertions vs negspacy and medspaCy, RADS
overhead, CLI wall time; pinned to one core), sync_speed.py (sync vs the same FHIR calls
made by a plain script, against the Node FHIR test server), http_speed.py (POST /v1/explain
vs GET /healthz under gunicorn), load.py (wrk holding the explain and read endpoints: memory
at the end vs after the warm-up, errors) and adversarial.py (CPU per KB vs a normal report).
On a shared machine absolute numbers move with everything else running; the ratios, whose
two sides ran in the same run on the same machine, are what carries over.
benchmarks/README.md says what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# per part: full run, --quick run
SPEED = {False: {"rounds": 7, "cli_runs": 5}, True: {"rounds": 3, "cli_runs": 3}}
SYNC = {False: {"n": 500, "rounds": 3}, True: {"n": 100, "rounds": 1}}
HTTP = {False: {"seconds": 10, "threads": 8}, True: {"seconds": 3, "threads": 8}}
LOAD = {False: {"seconds": 20, "warmup": 5}, True: {"seconds": 5, "warmup": 2}}


# -- the parts, each run in a child process (all.py --part NAME) ------------------------------


def _speed(quick: bool) -> dict:
    from benchmarks import speed

    speed.pin_one_core()
    figures = speed.measure(**SPEED[quick])
    speed.report(figures)
    return figures


def _sync(quick: bool) -> dict:
    from benchmarks import sync_speed

    n, rounds = SYNC[quick]["n"], SYNC[quick]["rounds"]
    best = sync_speed.measure(n, rounds)
    sync_speed.report(n, rounds, best)
    return {"n": n, "rounds": rounds, "seconds": best}


_HTTP_LINE = re.compile(
    r"^\s*(?P<name>GET /healthz|POST /v1/explain)\s+(?P<rps>[\d.]+) req/s\s+"
    r"p50\s+(?P<p50>[\d.]+) ms\s+p99\s+(?P<p99>[\d.]+) ms",
    re.MULTILINE,
)


def _http(quick: bool) -> dict:
    """http_speed.py as it stands, read back from what it prints (its own main() starts and
    stops gunicorn)."""
    args = [str(HTTP[quick]["seconds"]), str(HTTP[quick]["threads"])]
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "http_speed.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    print(out.stdout, end="")
    if out.returncode != 0:
        raise SystemExit(f"http_speed.py exited {out.returncode}:\n{out.stderr[-2000:]}")
    found = {
        m["name"]: {k: float(m[k]) for k in ("rps", "p50", "p99")}
        for m in _HTTP_LINE.finditer(out.stdout)
    }
    memory = re.search(r"\(mean (\d+) MB\)", out.stdout)
    return {
        "seconds": HTTP[quick]["seconds"],
        "explain": found.get("POST /v1/explain"),
        "trivial": found.get("GET /healthz"),
        "worker_mb": float(memory[1]) if memory else None,
    }


def _load(quick: bool) -> dict:
    import shutil

    from benchmarks import load

    folder = ROOT / "artifacts" / "bench-load"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh database and logs each run
    result = load.run(folder, **LOAD[quick])
    print(result.table())
    problems = result.problems()
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return {
        "seconds": LOAD[quick]["seconds"],
        "before_mb": result.memory_before,
        "after_mb": result.memory_after,
        "errors": sum(p.errors for p in result.phases),
        "requests": sum(p.requests for p in result.phases),
        "problems": problems,
        "max_growth": load.MAX_GROWTH,
    }


def _adversarial(quick: bool) -> dict:
    from benchmarks import adversarial

    base, rows = adversarial.measure()
    adversarial.report(base, rows)
    return {"base_s_per_kb": base, "rows": rows}


PARTS: dict[str, tuple[str, Callable[[bool], dict]]] = {
    "speed": ("explain rate and assertions vs negspacy and medspaCy (one core)", _speed),
    "sync": ("radplain sync vs a plain script making the same FHIR calls", _sync),
    "http": ("POST /v1/explain vs GET /healthz under gunicorn", _http),
    "load": ("explain and read endpoints held under wrk: memory after vs after warm-up", _load),
    "adversarial": ("adversarial texts vs a normal report, CPU per KB", _adversarial),
}


# -- the machine ----------------------------------------------------------------------------


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    except OSError:
        pass
    return "unknown"


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return out.stdout.strip()


def machine() -> list[str]:
    ram_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    dirty = (
        " + uncommitted changes" if _git("status", "--porcelain", "--untracked-files=no") else ""
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"date:    {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"CPU:     {_first('/proc/cpuinfo', 'model name')}, {os.cpu_count()} cores "
        f"({usable} usable)",
        f"RAM:     {int(ram_kb) / 1024**2:.1f} GiB" if ram_kb.isdigit() else "RAM:     unknown",
        f"OS:      {_first('/etc/os-release', 'PRETTY_NAME').strip(chr(34))}, "
        f"kernel {platform.release()}",
        f"Python:  {platform.python_implementation()} {platform.python_version()}",
        f"commit:  {_git('rev-parse', '--short', 'HEAD') or 'unknown'}{dirty}",
        f"load:    {load} (1, 5, 15 min averages at start; 2 would mean both cores busy)",
    ]


# -- the summary table -----------------------------------------------------------------------


def _row(figure, value, baseline, ratio, goal, passed=None) -> dict:
    verdict = "-" if passed is None else ("pass" if passed else "FAIL")
    shown = "-" if ratio is None else f"{ratio:.2f}x"
    return {
        "figure": figure,
        "value": value,
        "baseline": baseline,
        "ratio": shown,
        "goal": goal,
        "result": verdict,
    }


def rows(results: dict[str, dict | None]) -> list[dict]:
    out = []
    s = results.get("speed")
    if s:
        ex, asr = s["explain"], s["assert"]
        mine = ex["radplain"]
        for name, label, goal, passed in (
            ("negspacy", "negspacy", "value >= 1,000/s (issue 2)", mine >= 1000),
            ("medspacy", "medspaCy", "none set (issue 9: tracked)", None),
        ):
            if name in ex:
                out.append(
                    _row(
                        f"explain rate vs {label}, same {s['reports']} texts",
                        f"{mine:,.0f} reports/s",
                        f"{label} pipeline {ex[name]:,.0f}/s",
                        mine / ex[name],
                        goal,
                        passed,
                    )
                )
        slower = ex["without_rads"] / mine
        out.append(
            _row(
                "RADS recognition, time with / without",
                f"{mine:,.0f} reports/s",
                f"no recognizer {ex['without_rads']:,.0f}/s",
                slower,
                "ratio <= 1.20 (issue 3)",
                slower <= 1.2,
            )
        )
        for name, label, goal, floor in (
            ("negspacy", "negspacy", "ratio >= 2 (issue 2)", 2.0),
            ("medspacy", "medspaCy", "none set (issue 9: tracked)", None),
        ):
            if name in asr:
                ratio = asr["radplain"] / asr[name]
                out.append(
                    _row(
                        f"assertions vs {label}, same {s['items']} items",
                        f"{asr['radplain']:,.0f}/s",
                        f"{label} {asr[name]:,.0f}/s",
                        ratio,
                        goal,
                        None if floor is None else ratio >= floor,
                    )
                )
        out.append(
            _row(
                "`radplain explain` one report, wall",
                f"{s['cli_s']:.3f} s",
                f"python -c pass {s['python_s']:.3f} s",
                s["cli_s"] / s["python_s"],
                "value <= 0.5 s (issue 2)",
                s["cli_s"] <= 0.5,
            )
        )
    y = results.get("sync")
    if y:
        plain = y["seconds"]["plain"]
        # the goal is for the sync as configured by default (4 reports in flight); one worker
        # shows what explaining costs when nothing overlaps it
        for label, goal in (
            ("radplain, 4 workers", "ratio <= 1.3 (issue 4)"),
            ("radplain, 1 worker", "none set (no overlap)"),
        ):
            took = y["seconds"][label]
            out.append(
                _row(
                    f"sync {y['n']} reports, {label.split(', ')[1]}, time",
                    f"{took:.2f} s",
                    f"plain FHIR calls {plain:.2f} s",
                    took / plain,
                    goal,
                    took / plain <= 1.3 if "4 workers" in label else None,
                )
            )
    h = results.get("http")
    if h and h["explain"] and h["trivial"]:
        e, t = h["explain"], h["trivial"]
        out.append(
            _row(
                "POST /v1/explain throughput",
                f"{e['rps']:,.1f} req/s",
                f"GET /healthz {t['rps']:,.1f} req/s",
                e["rps"] / t["rps"],
                "none set (issue 6: tracked)",
            )
        )
        out.append(
            _row(
                "POST /v1/explain p50 latency",
                f"{e['p50']:.1f} ms",
                f"GET /healthz {t['p50']:.1f} ms",
                e["p50"] / t["p50"],
                "none set (issue 6: tracked)",
            )
        )
        if h["worker_mb"] is not None:
            out.append(
                _row(
                    "gunicorn memory per worker",
                    f"{h['worker_mb']:.0f} MB",
                    "- (absolute)",
                    None,
                    "none set (issue 6: tracked)",
                )
            )
    w = results.get("load")
    if w:
        growth = w["after_mb"] / w["before_mb"]
        out.append(
            _row(
                f"load {w['seconds']:.0f} s/endpoint: gunicorn memory",
                f"{w['after_mb']:.0f} MB at the end",
                f"after warm-up {w['before_mb']:.0f} MB",
                growth,
                f"ratio <= {1 + w['max_growth']:.2f} (issue 9)",
                growth <= 1 + w["max_growth"],
            )
        )
        out.append(
            _row(
                "load: errors (socket or non-2xx)",
                f"{w['errors']} of {w['requests']:,}",
                "-",
                None,
                "0 and no other problem (issue 9)",
                not w["problems"],
            )
        )
    a = results.get("adversarial")
    if a:
        base = a["base_s_per_kb"]
        name, kb, took = max(a["rows"], key=lambda r: r[2] / r[1])
        worst = took / kb / base
        out.append(
            _row(
                f"adversarial worst: {name}",
                f"{took / kb * 1000:.2f} ms/KB",
                f"normal report {base * 1000:.2f} ms/KB",
                worst,
                "ratio <= 20 (issue 9, the test's K)",
                worst <= 20,
            )
        )
    for part, result in results.items():
        if result is None:
            out.append(
                _row(f"{part}: not measured", "-", "-", None, "see the part's output", False)
            )
    return out


def table(found: list[dict]) -> str:
    columns = ["figure", "value", "baseline", "ratio", "goal", "result"]
    widths = {c: max(len(c), *(len(r[c]) for r in found)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    lines.append("  ".join("-" * widths[c] for c in columns))
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns).rstrip() for r in found]
    return "\n".join(lines)


# -- running it ------------------------------------------------------------------------------


def run_part(name: str, quick: bool) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        command = [sys.executable, __file__, "--part", name, "--out", str(out)]
        done = subprocess.run([*command, *(["--quick"] if quick else [])], cwd=ROOT, check=False)
        if done.returncode != 0 or not out.exists():
            print(f"[{name} exited {done.returncode}: not measured]")
            return None
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, a minute or two")
    parser.add_argument("--only", nargs="+", choices=list(PARTS), help="run just these parts")
    parser.add_argument("--part", choices=list(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.part:  # a child: measure one part, print it, hand the figures back
        figures = PARTS[args.part][1](args.quick)
        args.out.write_text(json.dumps(figures))
        return 0

    print("\n".join(machine()))
    started = time.perf_counter()
    results = {}
    for name in args.only or PARTS:
        print(f"\n== {name}: {PARTS[name][0]}", flush=True)
        results[name] = run_part(name, args.quick)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n== summary ({'--quick, ' if args.quick else ''}{time.perf_counter() - started:.0f} s; "
        f"load at the end {load}). Ratios compare two sides measured in the same run; "
        f"absolute values depend on this machine and what else ran on it."
    )
    print(table(rows(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
