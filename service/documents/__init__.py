"""Reports that arrive as documents: PDFs (text layer, or OCR of scanned pages) and images.

This is the I/O edge for documents: subprocesses (Tesseract, pdftoppm), untrusted parsers
(pypdf, Pillow) and their limits live here; ``annotate`` only ever sees the resulting
``AnalysedText`` (text, plus each OCR word's confidence). One job per module:

- ``kinds``        what a byte string is (PDF, PNG, JPEG, WebP, TIFF), by its magic bytes
- ``limits``       the limits every read honours (bytes, pages, pixels, time, confidence)
- ``pdf``          open a PDF safely, extract its text layer, render scanned pages to images
- ``images``       open an image safely, upright it (EXIF, OSD), straighten small skews
- ``ocr``          Tesseract: TSV words with confidences, orientation detection
- ``reader``       bytes -> AnalysedText: the steps above, in order, within the limits
- ``attachments``  a DiagnosticReport whose text is a PDF/image attachment (data or url)
"""

from .kinds import sniff
from .limits import Limits

__all__ = ["Limits", "read_document", "sniff"]


def __getattr__(name: str):
    # the reader brings Pillow and pypdf: a plain-text report (most runs of `radplain
    # explain`, every settings load) should not pay for importing them
    if name == "read_document":
        from .reader import read_document

        return read_document
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
