"""The limits every document read honours; set from the RADPLAIN_* settings (config.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..errors import UnreadableDocument

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * MB  # a phone photo is 2-12 MB; a report PDF well under 1 MB
    max_pages: int = 20  # PDF pages or TIFF frames; a radiology report is 1-3 pages
    max_pixels: int = 50_000_000  # per page or image: a 48-megapixel phone photo fits
    timeout: float = 60.0  # seconds for the whole document: parsing, rendering and OCR
    # OCR words read with less confidence (Tesseract, 0-100) make no clinical claim
    min_confidence: float = 60.0

    def too_big(self, size: int, what: str) -> str | None:
        if size > self.max_bytes:
            return (
                f"{what} is {size / MB:.1f} MB; radplain reads documents up to "
                f"{self.max_bytes / MB:g} MB (RADPLAIN_MAX_DOCUMENT_BYTES): send a smaller "
                "file, such as a photo at a lower resolution"
            )
        return None


class Deadline:
    """The time left to read one document; every subprocess gets at most what is left."""

    def __init__(self, limits: Limits, name: str):
        self.limits, self.name = limits, name
        self.at = time.monotonic() + limits.timeout

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise self.exceeded()
        return left

    def exceeded(self) -> UnreadableDocument:
        return UnreadableDocument(
            f"reading {self.name} took longer than {self.limits.timeout:g} s "
            "(RADPLAIN_DOCUMENT_TIMEOUT); send fewer pages, or a clearer, smaller scan"
        )
