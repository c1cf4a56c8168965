"""Print the quality figures for the corpus and the assertion set.

python benchmarks/quality.py
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.metrics import (  # noqa: E402
    assertion_scores,
    coverage,
    impression_accuracy,
    incidental_document,
    incidental_scores,
    new_lay_grades,
    rads_document,
    rads_scores,
    readability,
    readability_es,
)
from service import mappings  # noqa: E402
from service.annotate.explain import Explainer  # noqa: E402
from service.annotate.source_text import from_plain  # noqa: E402


def main() -> None:
    explainer = Explainer(mappings.default())
    corpus = yaml.safe_load((ROOT / "tests/data/corpus/reports.yaml").read_text())
    docs = [explainer.explain(from_plain(r["text"])) for r in corpus]

    r = readability(docs)
    print(f"corpus: {len(corpus)} reports")
    print(
        f"readability (Flesch-Kincaid grade of lay text): median {r['median']:.2f}, "
        f"p95 {r['p95']:.2f}, max {r['max']:.2f}   goal: median <= 6.0, p95 <= 8.0"
    )
    es = readability_es([explainer.explain(from_plain(r["text"]), "es") for r in corpus])
    print(
        f"readability in Spanish (Fernandez-Huerta ease, higher is easier): median "
        f"{es['median']:.1f}, p05 {es['p05']:.1f}, min {es['min']:.1f}   goal: median >= 70 "
        f"(6th grade), p05 >= 60"
    )
    c = coverage(docs)
    print(
        f"uncommon impression words (Zipf < 3) explained: {c['covered']}/{c['uncommon']} "
        f"= {c['share']:.1%}   goal: >= 95%"
    )
    if c["missing"]:
        print(
            "  most frequent unexplained:",
            ", ".join(f"{w} ({n})" for w, n in c["missing"].most_common(25)),
        )
    held = yaml.safe_load((ROOT / "tests/data/corpus/heldout_impressions.yaml").read_text())
    held_docs = [explainer.explain(from_plain("IMPRESSION:\n" + h["text"])) for h in held]
    hc = coverage(held_docs)
    hr = readability(held_docs)
    print(
        f"held-out impressions ({len(held)}, never used to choose entries): uncommon words "
        f"explained {hc['covered']}/{hc['uncommon']} = {hc['share']:.1%}; readability "
        f"median {hr['median']:.2f}, p95 {hr['p95']:.2f}"
    )
    acc, wrong = impression_accuracy(corpus, docs)
    print(
        f"impression found exactly: {acc:.1%}" + (f"  (wrong: {', '.join(wrong)})" if wrong else "")
    )

    for name, title in (
        ("radiology_assertions.jsonl", "development set"),
        ("heldout.jsonl", "held-out set, never used for tuning"),
    ):
        path = ROOT / "tests/data/assertions" / name
        items = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        predicted = [explainer.context.assert_one(i["text"], i["start"], i["end"]) for i in items]
        scores = assertion_scores([i["label"] for i in items], [p.assertion for p in predicted])
        print(f"assertions, {title}: {len(items)} labelled items")
        for label, s in scores.items():
            print(
                f"  {label:<30} n={s['n']:<4} P={s['precision']:.3f} R={s['recall']:.3f} "
                f"F1={s['f1']:.3f}"
            )
        hist = sum(
            p.historical == bool(i["historical"]) for p, i in zip(predicted, items, strict=True)
        )
        print(f"  historical flag accuracy: {hist / len(items):.3f}")
    print("goals: F1(absent) >= 0.96, F1(possible) >= 0.90")

    for name, title in (
        ("rads_sentences.jsonl", "development set"),
        ("heldout.jsonl", "held-out set, never used for tuning"),
    ):
        path = ROOT / "tests/data/rads" / name
        items = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        rads_docs = [explainer.explain(from_plain(rads_document(i))) for i in items]
        negatives = sum(1 for i in items if not i["expected"])
        print(f"RADS recognition, {title}: {len(items)} sentences ({negatives} negatives)")
        for system, s in rads_scores(items, rads_docs).items():
            counts = f"tp {s['tp']}, fp {s['fp']}, fn {s['fn']}"
            print(f"  {system:<10} P={s['precision']:.3f} R={s['recall']:.3f}  ({counts})")
    print("goals: precision >= 0.99, recall >= 0.98")

    incidental(explainer)


def incidental(explainer) -> None:
    """Incidental findings: the recommended follow-up on the labelled sentences."""
    for name, title in (
        ("sentences.jsonl", "development set"),
        ("heldout.jsonl", "held-out set, never used for tuning"),
    ):
        path = ROOT / "tests/data/incidental" / name
        items = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        docs = [
            explainer.explain(from_plain(incidental_document(i)), patient=i.get("patient"))
            for i in items
        ]
        s = incidental_scores(items, docs)
        print(
            f"incidental findings, {title}: {s['n']} sentences "
            f"({s['without_recommendation']} expecting no recommendation): follow-up right "
            f"{s['correct']}/{s['n']} = {s['accuracy']:.1%}; recommendations for a negated, "
            f"historical, hypothetical or family mention: {s['recommendations_for_absent']}"
        )
        for item_id, want, got in s["wrong"]:
            print(f"  wrong: {item_id}: expected {want}, got {got}")
    print("goals: follow-up right >= 98% (development set), recommendations for absent = 0")
    grades = new_lay_grades(explainer.m)
    print(
        f"new lay text (incidental entries, their templates, phrase context variants): "
        f"{len(grades)} texts, Flesch-Kincaid median {statistics.median(grades):.2f}, "
        f"max {max(grades):.2f}   goal: each <= 6.0"
    )


if __name__ == "__main__":
    main()
