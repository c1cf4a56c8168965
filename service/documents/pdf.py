"""PDFs: open safely (pypdf), extract each page's text layer, render scanned pages to images.

pypdf is pure Python (no native parser to crash on hostile bytes) and is actively
maintained by the py-pdf project. Scanned pages are rendered by poppler's ``pdftoppm`` in a
subprocess with a timeout, at a resolution chosen so that no page exceeds the pixel limit.
"""

from __future__ import annotations

import io
import logging
import math
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

from ..errors import BadInput, ConfigError, PayloadTooLarge, UnreadableDocument
from .limits import Deadline, Limits

log = logging.getLogger(__name__)

RENDER_DPI = 300  # what Tesseract reads best; lowered for pages too large at 300 dpi
# a page whose text layer has fewer letters and digits than this is treated as scanned
MIN_TEXT_LAYER_CHARS = 20


def open_pdf(data: bytes, limits: Limits, name: str):
    """A pypdf reader for ``data``, refused when corrupt, password-protected or too long."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-input chatter, not ours
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _opens_without_password(reader):
            raise UnreadableDocument(
                f"{name} is a password-protected PDF; send it without a password"
            )
        declared = reader.trailer["/Root"]["/Pages"].get("/Count", 0)
        if isinstance(declared, int) and declared > limits.max_pages:
            raise PayloadTooLarge(_too_many_pages(name, declared, limits))
        pages = len(reader.pages)  # walks the page tree: /Count may lie
    except (BadInput, ConfigError):
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure on untrusted bytes is bad input
        raise BadInput(
            f"{name} is not a readable PDF ({type(exc).__name__}); send the original file"
        ) from exc
    if pages > limits.max_pages:
        raise PayloadTooLarge(_too_many_pages(name, pages, limits))
    if pages == 0:
        raise BadInput(f"{name} is a PDF with no pages")
    return reader


def _opens_without_password(reader) -> bool:
    """Many EHR PDFs are encrypted only against editing: the empty user password opens them."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - unsupported cipher or missing crypto backend
        return False


def _too_many_pages(name: str, pages: int, limits: Limits) -> str:
    return (
        f"{name} has {pages} pages; radplain reads documents of up to {limits.max_pages} "
        "pages (RADPLAIN_MAX_PAGES): send only the report's pages"
    )


def page_texts(reader, deadline: Deadline) -> list[str]:
    """Each page's text layer, in reading order ("" for a page with no usable text)."""
    out = []
    for number, page in enumerate(reader.pages, 1):
        deadline.remaining()
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # noqa: BLE001 - a broken content stream in untrusted input
            log.info("pdf page unreadable", extra={"page": number, "error": type(exc).__name__})
            text = ""
        usable = sum(ch.isalnum() for ch in text) >= MIN_TEXT_LAYER_CHARS
        out.append(text if usable else "")
    return out


def render_page(reader, data: bytes, index: int, deadline: Deadline) -> tuple[Image.Image, int]:
    """Page ``index`` (0-based) as a grayscale image, and the resolution it was rendered at."""
    name, limits = deadline.name, deadline.limits
    box = reader.pages[index].mediabox
    width_in, height_in = float(box.width) / 72, float(box.height) / 72
    if width_in <= 0 or height_in <= 0:
        raise BadInput(f"{name}: page {index + 1} has no size")
    dpi = min(RENDER_DPI, int(math.sqrt(limits.max_pixels / (width_in * height_in))))
    if dpi < 50:
        raise PayloadTooLarge(
            f"{name}: page {index + 1} is {width_in:.0f} x {height_in:.0f} inches, too large "
            f"to render within {limits.max_pixels:,} pixels (RADPLAIN_MAX_IMAGE_PIXELS)"
        )
    with tempfile.TemporaryDirectory(prefix="radplain-pdf-") as tmp:
        pdf, out = Path(tmp) / "in.pdf", Path(tmp) / "page"
        pdf.write_bytes(data)
        command = [_pdftoppm(), "-r", str(dpi), "-gray", "-png", "-singlefile"]
        command += ["-f", str(index + 1), "-l", str(index + 1), str(pdf), str(out)]
        try:
            subprocess.run(  # noqa: S603 - fixed command, file names we made
                command, capture_output=True, timeout=deadline.remaining(), check=True
            )
        except subprocess.TimeoutExpired as exc:
            raise deadline.exceeded() from exc
        except subprocess.CalledProcessError as exc:
            raise BadInput(f"{name}: page {index + 1} of the PDF cannot be rendered") from exc
        with Image.open(out.with_suffix(".png")) as image:
            return image.convert("L"), dpi


def _pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if found is None:
        raise ConfigError(
            "pdftoppm is not installed, so scanned PDFs cannot be read: "
            "apt-get install poppler-utils"
        )
    return found
