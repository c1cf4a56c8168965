"""Reports as documents: the corpus rendered to PDFs, scans and photos, then read back.

For each rendering style, every sampled report is rendered (benchmarks/renderings.py),
read by ``service.documents.read_document`` and explained, and we count:

- impression found and matching: the impression the engine finds in the read text equals
  the corpus impression, whitespace aside (line wrapping turns spaces into newlines);
  for a report with no impression, the engine must find none. For OCR styles a second,
  lenient figure also counts impressions whose characters match at >= 95% (one misread
  letter in a long impression is not a missed impression);
- OCR word accuracy: the share of the source's words that come back, in order
  (difflib's longest matching blocks over the word sequences);
- the share of sentences declined as unreadable, and seconds per document.

Run it: ``.venv/bin/python benchmarks/documents.py [--sample N|all]`` (default: the same
deterministic sample the test suite uses). Work runs in a pool of 2 processes.
"""

from __future__ import annotations

import argparse
import difflib
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import renderings  # noqa: E402
from service.documents import Limits, read_document  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus" / "reports.yaml"
STYLES = ("text_pdf", "clean_image", "scanned_pdf", "phone_photo")
# how many reports each style reads in the test suite (OCR costs about a second a page on
# one core; the whole OCR part stays under about 3 minutes on 2 cores). None = all.
SAMPLE = {"text_pdf": None, "clean_image": 60, "scanned_pdf": 20, "phone_photo": 20}
SEED = 8  # the sample and every rendering's noise come from this
LENIENT = 0.95


@dataclass(frozen=True)
class Reading:
    style: str
    report_id: str
    seconds: float
    text: str | None  # the read text, or None when reading failed
    error: str | None
    unreadable: int  # OCR words below the confidence threshold


def corpus() -> list[dict]:
    with CORPUS.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def sample(reports: list[dict], style: str, size: int | None = None) -> list[dict]:
    """A deterministic sample: the same reports every run, for a given style and size."""
    size = SAMPLE[style] if size is None else size
    if size is None or size >= len(reports):
        return list(reports)
    picked = set(random.Random(f"{SEED}-{style}").sample(range(len(reports)), size))
    return [r for i, r in enumerate(reports) if i in picked]


def render(style: str, report: dict) -> bytes:
    rng = random.Random(f"{SEED}-{style}-{report['id']}")
    text = report["text"]
    if style == "text_pdf":
        return renderings.text_pdf(text)
    if style == "clean_image":
        return renderings.png(renderings.page_image(text))
    if style == "scanned_pdf":
        return renderings.scanned_pdf(text, rng)
    if style == "phone_photo":
        return renderings.phone_photo(text, rng)[0]
    raise ValueError(style)


def read_one(job: tuple[str, dict]) -> Reading:
    style, report = job
    data = render(style, report)
    started = time.perf_counter()
    try:
        read = read_document(data, Limits(), name=f"{report['id']}.{style}")
    except Exception as exc:  # noqa: BLE001 - a failure is a measured outcome here
        return Reading(style, report["id"], time.perf_counter() - started, None, str(exc), 0)
    return Reading(
        style, report["id"], time.perf_counter() - started, read.text, None, len(read.unreadable())
    )


def read_all(jobs: list[tuple[str, dict]], workers: int = 2) -> list[Reading]:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(read_one, jobs, chunksize=1))


def _squash(text: str | None) -> str:
    return " ".join((text or "").split())


def word_accuracy(source: str, read: str | None) -> float:
    want, got = source.split(), (read or "").split()
    if not want:
        return 1.0
    matcher = difflib.SequenceMatcher(None, want, got, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(want)


@cache
def _explainer():
    from service import mappings
    from service.annotate.explain import Explainer

    return Explainer(mappings.default())


def impression_outcome(report: dict, reading: Reading) -> tuple[bool, bool]:
    """(exact, lenient): does the impression found in the read text match the corpus?"""
    if reading.text is None:
        return False, False
    from service.annotate.sections import impression_of

    found = impression_of(_explainer().sections.find(reading.text))
    want = report["impression"]
    if want is None or found is None:
        ok = want is None and found is None
        return ok, ok
    got = reading.text[found.start : found.end]
    exact = _squash(got) == _squash(want)
    ratio = difflib.SequenceMatcher(None, _squash(got), _squash(want), autojunk=False).ratio()
    return exact, exact or ratio >= LENIENT


@dataclass
class StyleFigures:
    style: str
    n: int
    exact: float
    lenient: float
    word_accuracy: float
    failed: list[str]
    unmatched: list[str]
    unreadable_words: float
    seconds_mean: float
    seconds_max: float

    def line(self) -> str:
        return (
            f"{self.style:<12} n={self.n:<4} impression exact {self.exact:6.1%}  "
            f"lenient {self.lenient:6.1%}  OCR word accuracy {self.word_accuracy:6.1%}  "
            f"low-confidence words/doc {self.unreadable_words:5.1f}  "
            f"s/doc {self.seconds_mean:5.2f} (max {self.seconds_max:5.2f})"
        )


def figures(reports: list[dict], readings: list[Reading]) -> dict[str, StyleFigures]:
    by_id = {r["id"]: r for r in reports}
    out = {}
    for style in dict.fromkeys(r.style for r in readings):
        mine = [r for r in readings if r.style == style]
        outcomes = [impression_outcome(by_id[r.report_id], r) for r in mine]
        accuracy = [word_accuracy(by_id[r.report_id]["text"], r.text) for r in mine]
        out[style] = StyleFigures(
            style=style,
            n=len(mine),
            exact=sum(e for e, _ in outcomes) / len(mine),
            lenient=sum(le for _, le in outcomes) / len(mine),
            word_accuracy=sum(accuracy) / len(mine),
            failed=[f"{r.report_id}: {r.error}" for r in mine if r.error],
            unmatched=[r.report_id for r, (_, le) in zip(mine, outcomes, strict=True) if not le],
            unreadable_words=sum(r.unreadable for r in mine) / len(mine),
            seconds_mean=sum(r.seconds for r in mine) / len(mine),
            seconds_max=max(r.seconds for r in mine),
        )
    return out


def jobs_for(reports: list[dict], styles, size: int | None | str = None) -> list[tuple]:
    jobs = []
    for style in styles:
        chosen = reports if size == "all" else sample(reports, style, size)
        jobs += [(style, r) for r in chosen]
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default=None, help="reports per style: a number, or all")
    parser.add_argument("--styles", default=",".join(STYLES))
    args = parser.parse_args()
    size = "all" if args.sample == "all" else (int(args.sample) if args.sample else None)
    reports = corpus()
    jobs = jobs_for(reports, args.styles.split(","), size)
    started = time.perf_counter()
    readings = read_all(jobs)
    elapsed = time.perf_counter() - started
    print(f"{len(jobs)} documents from {len(reports)} reports: {elapsed:.0f} s on 2 processes")
    for f in figures(reports, readings).values():
        print(f.line())
        if f.failed:
            print(f"  not read: {f.failed[:5]}")
        if f.unmatched:
            print(f"  impression not matched: {f.unmatched[:12]}")


if __name__ == "__main__":
    main()
