"""Adversarial report texts: how long the engine takes on each, per KB, against a normal
report in the same run. A text that costs far more per KB than a normal report means
work that grows faster than the text (a quadratic loop, a backtracking regex).

    .venv/bin/python benchmarks/adversarial.py

tests/unit/annotate/test_adversarial.py runs the same texts and fails when one costs more
than K times the normal report's time per KB; this prints the table.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NORMAL = (ROOT / "examples" / "chest-xray.txt").read_text(encoding="utf-8")


def _normal_mb() -> str:
    """About 1 MB of real reports, one after another (sections and all)."""
    import yaml

    corpus = yaml.safe_load((ROOT / "tests/data/corpus/reports.yaml").read_text(encoding="utf-8"))
    texts = [r["text"] for r in corpus]
    out, size, i = [], 0, 0
    while size < 1_000_000:
        out.append(texts[i % len(texts)])
        size += len(texts[i % len(texts)]) + 2
        i += 1
    return "\n\n".join(out)


def _impression(n: int, marker: Callable[[int], str]) -> str:
    phrases = [
        "No pneumothorax.",
        "Small left pleural effusion, likely reactive.",
        "4 mm nodule in the right upper lobe, cannot exclude malignancy.",
        "Stable appearance of the liver cyst.",
        "BI-RADS 3: probably benign finding; recommend follow-up in 6 months.",
    ]
    items = "\n".join(f"{marker(i)} {phrases[i % len(phrases)]}" for i in range(n))
    return f"FINDINGS: see below.\n\nIMPRESSION:\n{items}\n"


def _mixed_scripts(size: int) -> str:
    parts = [
        "IMPRESSION: No pneumothorax. ",
        "لا يوجد استرواح الصدر. ",  # Arabic
        "无气胸。结节 4 毫米。",  # CJK
        "気胸なし。",
        "🫁🩻💔 ",  # emoji, some outside the BMP
        "pneumotho\u0301rax\u0308 e\u0301ffusion ",  # combining marks
        "\u202enoitcelloc\u202c ",  # RTL override
        "\u200b\u200d\u2060\ufeff",  # zero-width characters
        "Ωμέγα Привет नमस्ते ",
    ]
    return _fill(parts, size)


def _control_characters(size: int) -> str:
    parts = ["IMPRESSION:\x00 No\x07 pneumothorax\x1b[31m.\x0b\x0c", "\r\n\x7f\x08", "\t\x01\x02"]
    return _fill(parts, size)


def _fill(parts: list[str], size: int) -> str:
    out, n, i = [], 0, 0
    while n < size:
        out.append(parts[i % len(parts)])
        n += len(parts[i % len(parts)])
        i += 1
    return "".join(out)


# name -> a function of nothing that makes the text (made once, outside the timing)
CASES: dict[str, Callable[[], str]] = {
    "1 MB of real reports": _normal_mb,
    "10,000-item numbered impression": lambda: _impression(10_000, lambda i: f"{i + 1}."),
    "10,000-item bulleted impression": lambda: _impression(10_000, lambda i: "-"),
    "'BI-RADS 4A. ' x 5,000 (all hits)": lambda: "IMPRESSION: " + "BI-RADS 4A. " * 5_000,
    "'a' x 50,000 + '!'": lambda: "a" * 50_000 + "!",
    "IMPRESSION: + 'a' x 50,000": lambda: "IMPRESSION: " + "a" * 50_000,
    "'no ' x 20,000": lambda: "IMPRESSION: " + "no " * 20_000,
    "'no evidence of ' x 10,000": lambda: "IMPRESSION: " + "no evidence of " * 10_000 + "mass.",
    "'.' x 50,000": lambda: "IMPRESSION: " + "." * 50_000,
    "'-' x 50,000": lambda: "IMPRESSION: " + "-" * 50_000,
    "',;:' x 20,000": lambda: "IMPRESSION: " + ",;:" * 20_000,
    "'(' x 50,000": lambda: "IMPRESSION: " + "(" * 50_000,
    "'1.' x 25,000": lambda: "IMPRESSION: " + "1." * 25_000,
    "'1 x ' x 20,000": lambda: "IMPRESSION: nodule " + "1 x " * 20_000 + "cm",
    "'BI-RADS ' x 10,000": lambda: "IMPRESSION: " + "BI-RADS " * 10_000,
    "'IMPRESSION:\\n' x 10,000": lambda: "IMPRESSION:\n" * 10_000,
    "50,000 spaces then a finding": lambda: "IMPRESSION:" + " " * 50_000 + "pneumothorax.",
    "50,000 newlines": lambda: "IMPRESSION:" + "\n" * 50_000 + "effusion.",
    "one 100 kB line of words": lambda: "IMPRESSION: " + "nodule effusion mass " * 5_000,
    "control characters, 50 kB": lambda: _control_characters(50_000),
    "mixed scripts, 50 kB": lambda: _mixed_scripts(50_000),
}


def seconds(explain: Callable[[str], object], text: str, rounds: int = 1) -> float:
    """Best CPU time of ``rounds`` runs: this process's own, so other work on a shared
    machine (two cores, four engineers, CI) hardly moves it, as it moves wall time."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        explain(text)
        best = min(best, time.process_time() - started)
    return best


def per_kb(explain: Callable[[str], object], text: str, rounds: int = 1) -> float:
    return seconds(explain, text, rounds) / (len(text.encode("utf-8")) / 1024)


def baseline_per_kb(explain: Callable[[str], object]) -> float:
    """A normal report's time per KB (best of many runs: it is small and fast)."""
    return per_kb(explain, NORMAL, rounds=30)


def measure() -> tuple[float, list[tuple[str, float, float]]]:
    """The normal report's CPU seconds per KB, and each case's (name, KB, CPU seconds)."""
    from service import mappings
    from service.annotate.explain import Explainer
    from service.annotate.source_text import from_plain

    explainer = Explainer(mappings.default())

    def explain(text: str):
        return explainer.explain(from_plain(text))

    explain(NORMAL)  # warm up: compiled patterns, caches
    base = baseline_per_kb(explain)
    rows = []
    for name, make in CASES.items():
        text = make()
        rows.append((name, len(text.encode("utf-8")) / 1024, seconds(explain, text)))
    return base, rows


def report(base: float, rows: list[tuple[str, float, float]]) -> None:
    print(
        f"baseline: examples/chest-xray.txt, {len(NORMAL.encode())} bytes, "
        f"{base * 1000:.3f} ms/KB\n"
    )
    print(f"{'text':36} {'KB':>8} {'CPU s':>8} {'ms/KB':>8} {'x baseline':>10}")
    for name, kb, took in rows:
        print(f"{name:36} {kb:8.1f} {took:8.3f} {took / kb * 1000:8.3f} {took / kb / base:10.2f}")


def main() -> None:
    report(*measure())


if __name__ == "__main__":
    main()
