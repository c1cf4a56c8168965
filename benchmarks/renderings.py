"""The team's report texts rendered as the documents patients and EHRs really send.

Deterministic: fixed fonts (DejaVu, Debian's fonts-dejavu-core, which .ci/run installs),
fixed layout, and every random choice drawn from a ``random.Random`` seeded by the caller.

- ``text_pdf``: a letter-size PDF with a real text layer (fpdf2), lines wrapped as a RIS
  would print them;
- ``page_image``: the same page as a clean 300 dpi grayscale image;
- ``scanned_pdf``: that image, lightly skewed and speckled like a flatbed scan, wrapped in a
  PDF with no text layer;
- ``phone_photo``: that image photographed by hand: perspective, tilt, blur, uneven light,
  sensor noise, JPEG compression, and sometimes held sideways or upside down.
"""

from __future__ import annotations

import io
import random
import textwrap
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT = FONT_DIR / "DejaVuSans.ttf"
DPI = 300
FONT_PT = 11
WRAP = 88  # characters per printed line at 11 pt on letter paper with 0.75 inch margins


def _font_path() -> str:
    if not FONT.exists():
        raise AssertionError(f"{FONT} is missing: apt-get install fonts-dejavu-core (.ci/run does)")
    return str(FONT)


def printed_lines(text: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.rstrip("\n").split("\n"):
        lines += textwrap.wrap(paragraph, WRAP, break_on_hyphens=False) or [""]
    return lines


def text_pdf(text: str) -> bytes:
    pdf = FPDF(format="letter", unit="pt")
    pdf.set_margins(54, 54, 54)
    pdf.set_auto_page_break(True, 54)
    pdf.add_font("DejaVu", fname=_font_path())
    pdf.set_font("DejaVu", size=FONT_PT)
    pdf.add_page()
    for line in printed_lines(text):
        pdf.cell(0, FONT_PT * 1.4, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def page_image(text: str, dpi: int = DPI) -> Image.Image:
    """The report printed on a white letter page (grayscale), 300 dpi unless told."""
    font = ImageFont.truetype(_font_path(), round(FONT_PT * dpi / 72))
    step = round(FONT_PT * 1.4 * dpi / 72)
    margin = dpi * 3 // 4
    lines = printed_lines(text)
    height = max(int(11 * dpi), 2 * margin + step * len(lines))
    page = Image.new("L", (int(8.5 * dpi), height), 255)
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * step), line, fill=0, font=font)
    return page


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def scanned_pdf(text: str, rng: random.Random) -> bytes:
    """A flatbed scan: up to 2 degrees of skew, speckle, 200 dpi, no text layer."""
    page = page_image(text)
    angle = rng.uniform(-2.0, 2.0)
    page = page.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=255)
    page = page.resize((page.width * 2 // 3, page.height * 2 // 3), Image.LANCZOS)
    page = _speckle(page, rng, 0.0003)
    buffer = io.BytesIO()
    page.save(buffer, format="PDF", resolution=200)
    return buffer.getvalue()


def _speckle(image: Image.Image, rng: random.Random, fraction: float) -> Image.Image:
    image = image.copy()
    pixels = image.load()
    for _ in range(int(image.width * image.height * fraction)):
        x, y = rng.randrange(image.width), rng.randrange(image.height)
        pixels[x, y] = 0 if rng.random() < 0.5 else 255
    return image


def phone_photo(text: str, rng: random.Random) -> tuple[bytes, dict]:
    """A hand-held photo of the printed page as JPEG, and what was done to it."""
    # a 12-megapixel-class photo of a letter page: about 200 dpi on the paper
    page = page_image(text, dpi=200).convert("RGB")
    table = (90, 80, 70)  # the desk the page lies on
    pad_x, pad_y = page.width // 12, page.height // 12
    desk = Image.new("RGB", (page.width + 2 * pad_x, page.height + 2 * pad_y), table)
    desk.paste(page, (pad_x, pad_y))
    w, h = desk.size
    # perspective: each corner of the view pulled in by up to the desk's margin, so the page
    # shows as a quadrilateral (QUAD corners: upper left, lower left, lower right, upper right)
    pull = [(rng.uniform(0, pad_x), rng.uniform(0, pad_y)) for _ in range(4)]
    corners = [
        (pull[0][0], pull[0][1]),
        (pull[1][0], h - pull[1][1]),
        (w - pull[2][0], h - pull[2][1]),
        (w - pull[3][0], pull[3][1]),
    ]
    page = desk.transform((w, h), Image.QUAD, [c for xy in corners for c in xy], Image.BICUBIC)
    tilt = rng.uniform(-6.0, 6.0)
    page = page.rotate(tilt, resample=Image.BICUBIC, expand=True, fillcolor=table)
    blur = rng.uniform(0.6, 1.4)
    page = page.filter(ImageFilter.GaussianBlur(blur))
    # uneven light: darker towards one side
    # (the 256 x 256 gradient is turned while square, then stretched: no clipped corners)
    shade = Image.linear_gradient("L").rotate(rng.choice([0, 90, 180, 270])).resize(page.size)
    shade = shade.point(lambda v: 255 - v * 0.25)
    page = Image.composite(page, Image.new("RGB", page.size, (0, 0, 0)), shade)
    page = _sensor_noise(page, rng, 8)
    held = rng.choice([0, 0, 0, 90, 180, 270])  # sometimes sideways, no EXIF to say so
    if held:
        page = page.rotate(held, expand=True)
    buffer = io.BytesIO()
    page.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue(), {"tilt": round(tilt, 1), "blur": round(blur, 2), "held": held}


def _sensor_noise(image: Image.Image, rng: random.Random, sigma: float) -> Image.Image:
    # Image.effect_noise draws from C's rand(): not seedable, so build noise from rng
    # (uniform bytes scaled to a standard deviation of sigma; uniform 0-255 has 73.9)
    size = (image.width // 2, image.height // 2)
    small = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    small = small.point(lambda v: round(128 + (v - 128) * sigma / 73.9))
    noise = small.resize(image.size, Image.NEAREST).convert("RGB")
    return ImageChops.add(image, noise, 1, -128)
