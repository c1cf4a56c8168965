"""Tesseract, driven as a subprocess: words with their confidence (TSV), and orientation (OSD).

A subprocess, not a binding: it is killed at the document's deadline, a crash in it
cannot take the service down, and Debian's ``tesseract-ocr`` (with ``osd`` data) is all it
needs. One OpenMP thread per call: the service runs several requests at once.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from PIL import Image

from ..errors import ConfigError
from .limits import Deadline

LANGUAGE = "eng"
# page segmentation: one column of text, lines top to bottom (reports are not laid out in
# columns; "auto" (3) split wrapped lines into blocks and read them out of order)
PAGE_SEGMENTATION = "4"
# characters a radiology report does not contain but blurred "I" and "l" often become
NOT_IN_REPORTS = "|\\"
_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


# Tesseract is confident about junk: a smudged word often comes back as a symbol or two
# ("¢", "&", "é") at 80-90%. A word with no ASCII letter or digit that is not ordinary
# punctuation is taken as unread (confidence 0), whatever Tesseract says.
_PUNCTUATION = set(".,:;!?()[]'\"-/%+=<>#*")
_ALNUM = re.compile(r"[A-Za-z0-9]")


def plausible(text: str) -> bool:
    return bool(_ALNUM.search(text)) or set(text) <= _PUNCTUATION


@dataclass(frozen=True)
class OcrWord:
    text: str
    confidence: float
    block: int
    paragraph: int
    line: int


def _tesseract() -> str:
    found = shutil.which("tesseract")
    if found is None:
        raise ConfigError(
            "tesseract is not installed, so images and scanned PDFs cannot be read: "
            "apt-get install tesseract-ocr"
        )
    return found


def _run(args: list[str], image: Image.Image, deadline: Deadline) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    try:
        done = subprocess.run(  # noqa: S603 - fixed command; the image goes in on stdin
            [_tesseract(), "stdin", "stdout", *args],
            input=buffer.getvalue(),
            capture_output=True,
            timeout=deadline.remaining(),
            env=_ENV,
        )
    except subprocess.TimeoutExpired as exc:
        raise deadline.exceeded() from exc
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else ""


def words(image: Image.Image, deadline: Deadline, dpi: int | None = None) -> list[OcrWord]:
    """Every word Tesseract reads, in reading order, with its confidence (0-100)."""
    args = [
        "-l",
        LANGUAGE,
        "--psm",
        PAGE_SEGMENTATION,
        "-c",
        f"tessedit_char_blacklist={NOT_IN_REPORTS}",
    ]
    args += (["--dpi", str(dpi)] if dpi else []) + ["tsv"]
    out = []
    rows = csv.DictReader(
        io.StringIO(_run(args, image, deadline)), delimiter="\t", quoting=csv.QUOTE_NONE
    )
    for row in rows:
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        out.append(
            OcrWord(
                text,
                max(0.0, float(row["conf"])) if plausible(text) else 0.0,
                int(row["block_num"]),
                int(row["par_num"]),
                int(row["line_num"]),
            )
        )
    return out


def orientation(image: Image.Image, deadline: Deadline) -> int:
    """Degrees to rotate the image clockwise so its text is upright (0, 90, 180, 270)."""
    found = re.search(r"Rotate:\s*(\d+)", _run(["--psm", "0"], image, deadline))
    return int(found.group(1)) % 360 if found else 0


def mean_confidence(found: list[OcrWord]) -> float:
    return sum(w.confidence for w in found) / len(found) if found else 0.0
