"""Quality figures the project tracks, computed the same way by tests and benchmarks.

- readability: Flesch-Kincaid grade of each explanation's lay text (textstat 0.7.4,
  which counts syllables offline with pyphen); in Spanish, Fernández-Huerta ease
  (benchmarks/readability_es.py);
- coverage: share of uncommon words (wordfreq Zipf < 3) in impressions that fall inside
  a glossary, finding or phrase span;
- assertions: per-label precision, recall and F1 on the labelled set;
- impressions: share of corpus reports whose impression is found exactly.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter

ZIPF_UNCOMMON = 3.0
_WORD = re.compile(r"[A-Za-z][A-Za-z']+")


def lay_text(doc: dict) -> str:
    return " ".join([doc["summary"]] + [i["lay"] for i in doc["items"]])


def fk_grades(docs: list[dict]) -> list[float]:
    import textstat

    return [textstat.flesch_kincaid_grade(lay_text(d)) for d in docs]


def readability_es(docs: list[dict]) -> dict:
    """Fernández-Huerta ease of each Spanish explanation's lay text (higher is easier;
    70 and above reads at 6th grade or easier). p05 is the hard tail, as p95 is for FK."""
    from benchmarks.readability_es import fernandez_huerta

    scores = [fernandez_huerta(lay_text(d)) for d in docs]
    return {
        "n": len(scores),
        "median": statistics.median(scores),
        "p05": percentile(scores, 0.05),
        "min": min(scores),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def readability(docs: list[dict]) -> dict:
    grades = fk_grades(docs)
    return {
        "n": len(grades),
        "median": statistics.median(grades),
        "p95": percentile(grades, 0.95),
        "max": max(grades),
    }


def coverage(docs: list[dict]) -> dict:
    """Uncommon words in each impression, and how many a mapping entry explains."""
    from wordfreq import zipf_frequency

    total, covered = 0, 0
    missing: Counter[str] = Counter()
    for doc in docs:
        imp = doc["impression"]
        if imp is None:
            continue
        spans = [
            (x["start"], x["end"]) for key in ("findings", "glossary", "phrases") for x in doc[key]
        ]
        for m in _WORD.finditer(imp["text"]):
            word = m.group().lower().strip("'")
            if zipf_frequency(word, "en") >= ZIPF_UNCOMMON:
                continue
            a, b = imp["start"] + m.start(), imp["start"] + m.end()
            total += 1
            if any(s <= a and b <= e for s, e in spans):
                covered += 1
            else:
                missing[word] += 1
    return {
        "uncommon": total,
        "covered": covered,
        "share": covered / total if total else 1.0,
        "missing": missing,
    }


def assertion_scores(gold: list[str], predicted: list[str]) -> dict[str, dict]:
    labels = sorted(set(gold) | set(predicted))
    out = {}
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label and g != label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"n": tp + fn, "precision": precision, "recall": recall, "f1": f1}
    return out


def impression_accuracy(corpus: list[dict], docs: list[dict]) -> tuple[float, list[str]]:
    wrong = []
    for report, doc in zip(corpus, docs, strict=True):
        got = doc["impression"]["text"] if doc["impression"] else None
        want = report["impression"].strip() if report["impression"] else None
        if got != want:
            wrong.append(report["id"])
    return 1 - len(wrong) / len(corpus), wrong


def rads_document(item: dict) -> str:
    """The text a labelled RADS sentence is explained as: its exam title, then the sentence."""
    exam = f"EXAM: {item['exam']}\n" if item.get("exam") else ""
    return f"{exam}IMPRESSION: {item['text']}"


def rads_scores(items: list[dict], docs: list[dict]) -> dict[str, dict]:
    """Precision and recall on (system, category) pairs, overall and per system.

    Pairs are compared as multisets per item, so a category stated for two lesions must
    be found twice.
    """
    from collections import Counter

    per: dict[str, Counter] = {}
    total = Counter()
    for item, doc in zip(items, docs, strict=True):
        gold = Counter((p["system"], p["category"]) for p in item["expected"])
        got = Counter((r["system"], r["category"]) for r in doc["rads"])
        for pair in gold | got:
            tp, fp, fn = (
                min(gold[pair], got[pair]),
                max(0, got[pair] - gold[pair]),
                max(0, gold[pair] - got[pair]),
            )
            for bucket in (per.setdefault(pair[0], Counter()), total):
                bucket.update(tp=tp, fp=fp, fn=fn)
    out = {}
    for name, c in sorted(per.items()) + [("all", total)]:
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        out[name] = {"tp": c["tp"], "fp": c["fp"], "fn": c["fn"], "precision": p, "recall": r}
    return out


# -- incidental findings (tests/data/incidental/sentences.jsonl) -------------------------
NOT_PRESENT_KINDS = ("negated", "historical", "hypothetical", "someone_else")


def incidental_document(item: dict) -> str:
    """The report a labelled sentence is explained in: its context, then the sentence as
    the impression."""
    head = item.get("context", "")
    return (head + "\n" if head else "") + "IMPRESSION:\n" + item["text"]


def _incidental_key(rec: dict) -> tuple:
    missing = tuple(rec.get("missing") or rec.get("missing_inputs") or ())
    finding = rec.get("finding_id", rec.get("finding"))
    return (
        finding,
        rec["action"],
        rec["interval"],
        missing if rec["action"] == "depends_on_inputs" else (),
    )


def incidental_scores(items: list[dict], docs: list[dict]) -> dict:
    """Share of labelled sentences whose recommendations (finding, action, interval, and
    the missing inputs when it depends) are exactly the expected ones; and how many
    recommendations were produced for a negated, historical, hypothetical or someone
    else's finding (must be 0)."""
    right, wrong, on_absent = 0, [], 0
    for item, doc in zip(items, docs, strict=True):
        got = sorted(_incidental_key(r) for r in doc["incidental"])
        want = sorted(_incidental_key(e) for e in item["expected"])
        if got == want:
            right += 1
        else:
            wrong.append((item["id"], want, got))
        if item["kind"] in NOT_PRESENT_KINDS:
            expected = {e["finding"] for e in item["expected"]}
            on_absent += sum(1 for r in doc["incidental"] if r["finding_id"] not in expected)
    return {
        "n": len(items),
        "correct": right,
        "accuracy": right / len(items) if items else 1.0,
        "wrong": wrong,
        "recommendations_for_absent": on_absent,
        "without_recommendation": sum(1 for i in items if not i["expected"]),
    }


NEW_TEMPLATES = ("template.incidental", "template.next", "template.context")


def new_lay_grades(m) -> list[float]:
    """Flesch-Kincaid grade of each incidental, next-step and phrase-context lay text
    (English; fragments under four words, such as "your age", have no grade of their own)."""
    import textstat

    texts = [e["lay"]["en"] for e in m.incidental if "lay" in e]
    texts += [e["text"]["en"] for e in m.templates if e["id"].startswith(NEW_TEMPLATES)]
    texts += [e["lay"]["en"] for e in m.phrases if "variant_of" in e]
    return [textstat.flesch_kincaid_grade(t) for t in texts if len(t.split()) >= 4]
