"""Images: open safely (Pillow), one grayscale image per page, upright and straight.

The pixel limit is checked from the header, before a single pixel is decoded, so a
small file declaring a huge image (a decompression bomb) costs nothing. Pillow's own bomb
guard is a process-wide setting; radplain's limit is per call and says what to fix.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from PIL import Image, ImageChops, ImageFilter, ImageOps, UnidentifiedImageError

from ..errors import BadInput, PayloadTooLarge
from .limits import Limits

# small skews a hand-held photo or a scanner feed adds; larger turns are OSD's job
SKEW_RANGE_DEGREES = 10.0
_SKEW_WIDTH = 800  # the skew is measured on a copy this wide: fast, and precise enough
INK_CONTRAST = 30  # grey levels darker than the neighbourhood that count as ink


def open_pages(data: bytes, limits: Limits, name: str) -> Iterator[Image.Image]:
    """Every page (TIFF frame) as a grayscale image, EXIF orientation applied.

    Every frame's size is checked from the headers first; then one page at a time is
    decoded, so a long TIFF never holds all its pages in memory at once. (No warnings
    filter: it is process-wide and the service is threaded. Sizes between Pillow's own
    warning level and RADPLAIN_MAX_IMAGE_PIXELS only log a DecompressionBombWarning.)
    """
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # beyond even Pillow's hard limit
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        said = f"{int(declared.group(1)):,} pixels" if declared else None
        raise PayloadTooLarge(_too_many_pixels(name, said, limits)) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BadInput(
            f"{name} is not a readable PNG, JPEG, WebP or TIFF image; send the original file"
        ) from exc
    try:
        frames = getattr(image, "n_frames", 1)
        if frames > limits.max_pages:
            raise PayloadTooLarge(
                f"{name} has {frames} pages; radplain reads up to {limits.max_pages} "
                "(RADPLAIN_MAX_PAGES): send only the report's pages"
            )
        for frame in range(frames):
            image.seek(frame)
            width, height = image.size
            if width * height > limits.max_pixels:
                raise PayloadTooLarge(_too_many_pixels(name, (width, height), limits))
    except (OSError, ValueError, EOFError) as exc:
        raise BadInput(f"{name} is a damaged image: {exc}") from exc
    return _decoded(image, frames, name)


def _decoded(image: Image.Image, frames: int, name: str) -> Iterator[Image.Image]:
    for frame in range(frames):
        try:
            image.seek(frame)
            yield _gray(ImageOps.exif_transpose(image))
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise BadInput(f"{name} is a damaged or truncated image: {exc}") from exc


def _gray(image: Image.Image) -> Image.Image:
    """Grayscale on white: a transparent background would otherwise turn black."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image.convert("L")


def _too_many_pixels(name: str, size: tuple[int, int] | str | None, limits: Limits) -> str:
    if isinstance(size, tuple):
        said = f"{size[0]} x {size[1]} pixels"
    else:
        said = size or "larger than Pillow will decode"
    return (
        f"{name} is {said}; radplain reads images up to {limits.max_pixels:,} pixels "
        "(RADPLAIN_MAX_IMAGE_PIXELS): send a photo at a lower resolution"
    )


def skew_angle(image: Image.Image) -> float:
    """The small rotation (degrees, counter-clockwise) that makes the text lines level.

    Projection profile: rotated to the right angle, ink gathers into rows and the row
    sums vary most sharply. Measured on a small binarised copy.
    """
    scale = _SKEW_WIDTH / max(image.width, 1)
    small = image.convert("L").resize((_SKEW_WIDTH, max(1, round(image.height * scale))))
    # ink is what is clearly darker than its neighbourhood: a dark desk or shadow around a
    # photographed page is uniform, and sensor or JPEG noise is fainter than print
    background = small.filter(ImageFilter.GaussianBlur(6))
    ink = ImageChops.subtract(background, small).point(lambda v: 255 if v > 30 else 0)

    def sharpness(angle: float) -> float:
        turned = ink.rotate(angle, resample=Image.NEAREST, expand=True, fillcolor=0)
        rows = list(turned.resize((1, turned.height), Image.BOX).tobytes())  # row means
        # a page's edge against the desk is one long line: capped, so that it cannot
        # outweigh many short lines of text at its own angle
        cap = sorted(rows)[int(len(rows) * 0.97)]
        rows = [min(r, cap) for r in rows]
        return sum((a - b) ** 2 for a, b in zip(rows, rows[1:], strict=False))

    coarse = [a / 2 for a in range(int(-SKEW_RANGE_DEGREES * 2), int(SKEW_RANGE_DEGREES * 2) + 1)]
    best = max(coarse, key=sharpness)
    fine = [best + a / 10 for a in range(-4, 5)]
    return max(fine, key=sharpness)


def straighten(image: Image.Image) -> tuple[Image.Image, float]:
    angle = skew_angle(image)
    if abs(angle) < 0.3:
        return image, 0.0
    return image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255), angle


def binarize(image: Image.Image) -> Image.Image:
    """Black ink on white, judged against each pixel's own neighbourhood.

    Tesseract thresholds a page globally: in a photo, a dark desk, a shadow or light
    falling off across the page can turn whole regions black, which its layout analysis
    then takes for a picture and skips. Here ink is what is clearly darker than its
    surroundings (estimated on a reduced copy, blurred, scaled back up), so uniform
    regions, light or dark, come out white.
    """
    small = image.resize((max(1, image.width // 8), max(1, image.height // 8)), Image.BOX)
    background = small.filter(ImageFilter.GaussianBlur(4)).resize(image.size, Image.BILINEAR)
    darker = ImageChops.subtract(background, image)  # how much darker than around it
    return darker.point(lambda v: 0 if v > INK_CONTRAST else 255)


def despeckle(image: Image.Image) -> Image.Image:
    """A 3 x 3 median: isolated dark and light specks go, strokes at 300 dpi stay."""
    return image.filter(ImageFilter.MedianFilter(3))


def turn(image: Image.Image, degrees: int) -> Image.Image:
    """Rotate clockwise by a multiple of 90 degrees (what OSD says to do)."""
    return image.rotate(-degrees, expand=True) if degrees % 360 else image
