"""A PDF or image, as bytes -> the one ``AnalysedText`` the engine explains.

PDF pages with a text layer are taken as typed (exact text, no confidence needed); pages
without one, and images, are read by OCR, each word keeping its confidence. Pages are
joined with a blank line; the result is stripped, so word offsets index into it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from ..annotate.source_text import AnalysedText, Word, normalise
from ..errors import BadInput, PayloadTooLarge, UnreadableDocument, UnsupportedMediaType
from . import images, ocr, pdf
from .kinds import PDF, sniff
from .limits import Deadline, Limits

# below this mean word confidence a page may be sideways or upside down: ask OSD (an
# upright page, even a blurred photo, reads above it; a turned one reads as garbage)
ORIENTATION_CHECK_BELOW = 60.0
# fewer words than this on a page: part of it may have been missed, or it is sideways
# (a short page only costs a second look)
_MIN_WORDS = 20


@dataclass
class _Page:
    text: str
    words: list[tuple[int, int, float]]  # offsets into ``text``
    ocr: bool


def read_document(
    data: bytes, limits: Limits, *, name: str = "the file", origin: str | None = None
) -> AnalysedText:
    """Text of a PDF or image; ``origin`` defaults to "pdf" (text layer) or "ocr"."""
    if not data:
        raise BadInput(f"{name} is empty (0 bytes)")
    too_big = limits.too_big(len(data), name)
    if too_big:
        raise PayloadTooLarge(too_big)
    media = sniff(data)
    if media is None:
        raise UnsupportedMediaType(f"{name} is not a PDF or a PNG, JPEG, WebP or TIFF image")
    deadline = Deadline(limits, name)
    pages: list[_Page] = []
    if media == PDF:
        reader = pdf.open_pdf(data, limits, name)
        for index, text in enumerate(pdf.page_texts(reader, deadline)):
            if text:
                pages.append(_Page(normalise(text), [], ocr=False))
            else:
                image, dpi = pdf.render_page(reader, data, index, deadline)
                # a scanner's speckle reads as stray marks inside letters; a photo's
                # softer detail would only lose strokes to the same filter
                pages.append(_ocr_page(images.despeckle(image), deadline, dpi))
    else:
        for image in images.open_pages(data, limits, name):
            pages.append(_ocr_page(image, deadline, None))
    text, words = _join(pages)
    if not text:
        raise UnreadableDocument(
            f"no text could be read from {name}: send a sharper, well-lit photo or scan of "
            "the whole report, or the report as text"
        )
    read_by_ocr = sum(p.ocr for p in pages)
    reading = (
        "ocr" if read_by_ocr == len(pages) else "text_layer+ocr" if read_by_ocr else "text_layer"
    )
    return AnalysedText(
        text,
        origin or ("pdf" if reading == "text_layer" else "ocr"),
        document={
            "media_type": media,
            "reading": reading,
            "pages": len(pages),
            "ocr_pages": read_by_ocr,
        },
        words=words,
        min_confidence=limits.min_confidence,
    )


def _ocr_page(image: Image.Image, deadline: Deadline, dpi: int | None) -> _Page:
    found = _read_as_is(image, deadline, dpi)
    if _poor(found):
        # OSD needs letters, not detail: half size reads as well, in half the time. It
        # tells sideways from upright well, but sometimes mistakes 90 for 270: when its
        # turn still reads poorly, the opposite turn is tried too.
        half = image.resize((max(1, image.width // 2), max(1, image.height // 2)))
        degrees = ocr.orientation(half, deadline)
        for turn in [degrees, (degrees + 180) % 360] if degrees else []:
            again = _read_as_is(images.turn(image, turn), deadline, dpi)
            if _score(again) > _score(found):
                found = again
            if not _poor(found):
                break
    return _assemble(found)


def _read_as_is(image: Image.Image, deadline: Deadline, dpi: int | None) -> list[ocr.OcrWord]:
    """Straightened and read; read again with ink judged locally if that went poorly (a
    photo's desk, shadow or fall-off of light can hide a whole page from Tesseract's
    global threshold)."""
    straight, _ = images.straighten(image)
    found = ocr.words(straight, deadline, dpi)
    if _poor(found):
        straight, _ = images.straighten(images.binarize(image))
        again = ocr.words(straight, deadline, dpi)
        if _score(again) > _score(found):
            found = again
    return found


def _poor(found: list[ocr.OcrWord]) -> bool:
    return ocr.mean_confidence(found) < ORIENTATION_CHECK_BELOW or len(found) < _MIN_WORDS


def _score(found: list[ocr.OcrWord]) -> float:
    return ocr.mean_confidence(found) * len(found)


def _assemble(found: list[ocr.OcrWord]) -> _Page:
    """Words -> text: a space between words, a newline between lines, offsets kept."""
    parts: list[str] = []
    spans: list[tuple[int, int, float]] = []
    position, previous = 0, None
    for word in found:
        line = (word.block, word.paragraph, word.line)
        if previous is not None:
            gap = " " if line == previous else "\n"
            parts.append(gap)
            position += 1
        token = normalise(word.text).replace("\n", " ")
        parts.append(token)
        spans.append((position, position + len(token), word.confidence))
        position += len(token)
        previous = line
    return _Page("".join(parts), spans, ocr=True)


def _join(pages: list[_Page]) -> tuple[str, tuple[Word, ...]]:
    parts, words, position = [], [], 0
    for page in pages:
        if not page.text.strip():
            continue
        if parts:
            parts.append("\n\n")
            position += 2
        parts.append(page.text)
        words += [Word(position + a, position + b, c) for a, b, c in page.words]
        position += len(page.text)
    text = "".join(parts)
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    shifted = tuple(
        Word(w.start - lead, w.end - lead, w.confidence)
        for w in words
        if w.start >= lead and w.end - lead <= len(stripped)
    )
    return stripped, shifted
