"""Small documents made on the spot: a short report as a text PDF, an image, a scan."""

import io

import pytest
from PIL import Image, ImageDraw, ImageFont

from benchmarks import renderings

REPORT = (
    "EXAM: CT CHEST WITHOUT CONTRAST\n"
    "FINDINGS: The lungs are clear.\n"
    "IMPRESSION:\n"
    "1. Small right pleural effusion.\n"
    "2. No pneumothorax."
)


def image_of(text: str = REPORT, size: int = 40) -> Image.Image:
    """The text printed large and clean on white (fast to OCR)."""
    font = ImageFont.truetype(str(renderings.FONT), size)
    lines = text.split("\n")
    step = int(size * 1.5)
    image = Image.new("L", (1400, 80 + step * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 40 + i * step), line, fill=0, font=font)
    return image


def encoded(image: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def text_pdf() -> bytes:
    return renderings.text_pdf(REPORT)


@pytest.fixture(scope="session")
def report_png() -> bytes:
    return encoded(image_of(), "PNG")
