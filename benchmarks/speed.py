"""Print explanation and assertion throughput beside two NegEx-family baselines measured in
the same run: negspacy (NegEx) and medspaCy (ConText, the algorithm radplain's assertion
engine implements).

    make bench                              (every tracked figure: benchmarks/all.py)
    .venv/bin/python benchmarks/speed.py    (this part alone; needs the bench extra)

Goals: >= 1,000 explanations/s on one core, assertions >= 2x negspacy's rate on the same
items, `radplain explain` on one report <= 0.5 s wall time (issue 2); RADS recognition adds
<= 20% to explanation time (issue 3). Everything runs in this one process pinned to one core,
with the sides interleaved, so the ratios compare like with like.

What each side does, on the same input:
- whole reports (the 190 corpus texts): radplain normalises the text and builds the whole
  Explanation (sections, findings, assertions, RADS, lay sentences). Each baseline runs
  spaCy's English tokenizer, its rule-based sentencizer and a PhraseMatcher over every term
  radplain looks up (the glossary and critical-finding `match` lists), then its negation or
  context component over the matched terms. The baselines find and assert terms; radplain
  does that and writes the explanation, so the ratio understates radplain's speed per task.
- assertion items (tests/data/assertions): each side is given the sentence and the span of
  the target. radplain: ContextRules.assert_one. Baselines: the same tokenizer and
  sentencizer, the span set as the one entity, then negspacy's Negex (en_clinical termset)
  or medspaCy's ConText (its default English rules: negation, possibility, history,
  hypothetical, family).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from service import mappings  # noqa: E402
from service.annotate.explain import Explainer  # noqa: E402
from service.annotate.source_text import from_plain  # noqa: E402

BASELINES = ("negspacy", "medspacy")


def one_pass(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - start)


def rates(fns: dict, items, rounds: int = 7) -> dict[str, float]:
    """Best items/second of ``rounds`` whole passes for each function, interleaved.

    Interleaving and best-of (as timeit does) keep a busy machine from favouring
    whichever side happened to run while something else was using the core.
    """
    for fn in fns.values():  # warm caches
        for item in items[:50]:
            fn(item)
    best = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = max(best[name], one_pass(fn, items))
    return best


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


# -- the baselines: spaCy's tokenizer and sentencizer, then NegEx or ConText ------------------


def _spacy(component: str):
    """A blank English spaCy pipeline (tokenizer, sentencizer) and the named assertion
    component: negspacy's Negex with its clinical termset, or medspaCy's ConText with its
    default rules. Neither needs a trained model."""
    import spacy

    nlp = spacy.blank("en")
    sentencizer = nlp.add_pipe("sentencizer")
    if component == "negspacy":
        from negspacy.negation import Negex  # noqa: F401  (registers the factory)
        from negspacy.termsets import termset

        config = {"neg_termset": termset("en_clinical").get_patterns(), "ent_types": ["FINDING"]}
        return nlp, sentencizer, nlp.add_pipe("negex", config=config), "negex"
    from medspacy.context import ConText  # noqa: F401  (registers the factory)

    return nlp, sentencizer, nlp.add_pipe("medspacy_context"), "is_negated"


def baseline_assert(component: str):
    """One assertion item -> negated or not: tokenize, split sentences, set the target span
    as the document's one entity, run the component."""
    nlp, sentencizer, assert_ents, flag = _spacy(component)

    def run(item):
        doc = sentencizer(nlp.make_doc(item["text"]))
        span = doc.char_span(item["start"], item["end"], label="FINDING", alignment_mode="expand")
        doc.ents = [span]
        return getattr(assert_ents(doc).ents[0]._, flag)

    return run


def target_terms(m) -> list[str]:
    """Every term radplain looks up in a report: the glossary and critical-finding literals."""
    terms = {t for e in [*m.glossary, *m.critical] for t in [*e["match"], *e.get("match_case", [])]}
    return sorted(terms)


def baseline_report(component: str, terms: list[str]):
    """One report text -> its target mentions, each with the component's verdict: tokenize,
    split sentences, match the terms (case-insensitive, longest non-overlapping), assert."""
    from spacy.matcher import PhraseMatcher
    from spacy.util import filter_spans

    nlp, sentencizer, assert_ents, flag = _spacy(component)
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    matcher.add("FINDING", list(nlp.tokenizer.pipe(terms)))

    def run(text: str):
        doc = sentencizer(nlp.make_doc(text))
        doc.ents = filter_spans(matcher(doc, as_spans=True))
        return [(e.start_char, getattr(e._, flag)) for e in assert_ents(doc).ents]

    return run


class _NoRecognition:
    """Stands in for the RADS recognizer to measure what recognition costs."""

    def find(self, *args, **kwargs):
        return []


def cli_wall_time(runs: int = 5) -> tuple[float, float]:
    """Median wall time of `radplain explain` on the example report, and of the same Python
    starting and doing nothing (`python -c pass`), interleaved: the floor any CLI pays."""
    commands = {
        "cli": [sys.executable, "-m", "service", "explain", "examples/chest-xray.txt"],
        "python": [sys.executable, "-c", "pass"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["cli"]), statistics.median(times["python"])


def measure(rounds: int = 7, cli_runs: int = 5) -> dict:
    """Every figure of this part, measured in this process (call pin_one_core() first)."""
    m = mappings.default()
    explainer = Explainer(m)
    without = Explainer(m)
    without.rads = _NoRecognition()
    corpus = yaml.safe_load((ROOT / "tests/data/corpus/reports.yaml").read_text())
    texts = [r["text"] for r in corpus]
    path = ROOT / "tests/data/assertions/radiology_assertions.jsonl"
    items = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]

    report_fns = {
        "radplain": lambda t: explainer.explain(from_plain(t)),
        "without_rads": lambda t: without.explain(from_plain(t)),
    }
    item_fns = {"radplain": lambda i: explainer.context.assert_one(i["text"], i["start"], i["end"])}
    missing = []
    terms = target_terms(m)
    for name in BASELINES:
        try:
            report_fns[name] = baseline_report(name, terms)
            item_fns[name] = baseline_assert(name)
        except ImportError:
            missing.append(name)
    reports = rates(report_fns, texts, rounds)
    assertions = rates(item_fns, items, rounds)
    cli, python = cli_wall_time(cli_runs)
    return {
        "reports": len(texts),
        "items": len(items),
        "rounds": rounds,
        "terms": len(terms),
        "baseline_mentions": {
            name: sum(len(report_fns[name](t)) for t in texts)
            for name in BASELINES
            if name in report_fns
        },
        "explain": reports,
        "assert": assertions,
        "cli_s": cli,
        "python_s": python,
        "cli_runs": cli_runs,
        "missing": missing,
    }


def machine_line() -> str:
    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; pinned to one core"
    )


def report(f: dict) -> None:
    """Print the figures of measure() with their ratios and goals."""
    nan = float("nan")
    ex, asr = f["explain"], f["assert"]
    for name in f["missing"]:
        print(f"{name} is not installed: run `make bench`, which installs the bench extra")
    print(
        f"explanations: {ex['radplain']:,.0f} reports/s over {f['reports']} corpus reports, "
        f"text in, Explanation out (goal >= 1,000; best of {f['rounds']} interleaved passes)"
    )
    for name in BASELINES:
        base = ex.get(name, nan)
        print(
            f"  vs {name} on the same texts (spaCy tokenizer + sentencizer + PhraseMatcher over "
            f"{f['terms']:,} terms + {'Negex' if name == 'negspacy' else 'ConText'}): "
            f"{base:,.0f} reports/s, {f['baseline_mentions'].get(name, 0):,} mentions asserted; "
            f"ratio {ex['radplain'] / base:.2f}x"
        )
    overhead = ex["without_rads"] / ex["radplain"] - 1
    print(
        f"RADS recognition adds {overhead:.1%} to explanation time "
        f"({ex['without_rads']:,.0f}/s without it; goal <= 20%)"
    )
    ours = asr["radplain"]
    print(f"assertions: radplain {ours:,.0f}/s on {f['items']} items")
    for name in BASELINES:
        base = asr.get(name, nan)
        goal = " (goal >= 2x)" if name == "negspacy" else " (no goal set)"
        print(f"  vs {name} on the same items: {base:,.0f}/s; ratio {ours / base:.2f}x{goal}")
    print(
        f"`radplain explain` one report, wall time: {f['cli_s']:.3f} s median of {f['cli_runs']} "
        f"(goal <= 0.5 s); `python -c pass` {f['python_s']:.3f} s, "
        f"ratio {f['cli_s'] / f['python_s']:.1f}x"
    )


def main() -> None:
    pin_one_core()
    print(machine_line())
    report(measure())


if __name__ == "__main__":
    main()
