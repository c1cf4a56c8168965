"""Every limit and every kind of bad input is a clear 4xx / exit-2 error, never a crash."""

import io
import struct
import zlib

import pytest
from PIL import Image
from pypdf import PdfWriter

from service.documents import Limits, read_document
from service.errors import BadInput, PayloadTooLarge, UnreadableDocument, UnsupportedMediaType
from tests.unit.documents.conftest import encoded, image_of


def _png_declaring(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header declares width x height (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _blank_pdf(pages: int, width: float = 612, height: float = 792) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width, height)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_file_over_the_size_limit_is_refused_before_reading(text_pdf):
    with pytest.raises(PayloadTooLarge, match="RADPLAIN_MAX_DOCUMENT_BYTES") as err:
        read_document(text_pdf, Limits(max_bytes=1024))
    assert err.value.status == 413 and err.value.exit_code == 2


def test_a_pdf_with_too_many_pages_is_refused_with_its_page_count():
    with pytest.raises(PayloadTooLarge, match=r"has 25 pages.*RADPLAIN_MAX_PAGES"):
        read_document(_blank_pdf(25), Limits(max_pages=20))


def test_a_pdf_bomb_declaring_a_billion_pages_is_refused_without_walking_them():
    bomb = _blank_pdf(1).replace(b"/Count 1", b"/Count 1000000000")
    with pytest.raises(PayloadTooLarge, match="1000000000 pages"):
        read_document(bomb, Limits())


def test_a_png_declaring_a_huge_size_is_refused_before_decoding():
    with pytest.raises(PayloadTooLarge, match=r"10,000,000,000 pixels.*RADPLAIN_MAX_IMAGE_PIXELS"):
        read_document(_png_declaring(100_000, 100_000), Limits())


def test_an_image_just_over_the_pixel_limit_is_refused():
    with pytest.raises(PayloadTooLarge, match="RADPLAIN_MAX_IMAGE_PIXELS"):
        read_document(_png_declaring(2000, 2000), Limits(max_pixels=3_999_999))


def test_a_scanned_page_too_large_to_render_within_the_pixel_limit_is_refused():
    giant = _blank_pdf(1, width=72 * 200, height=72 * 200)  # 200 x 200 inches, no text
    with pytest.raises(PayloadTooLarge, match="200 x 200 inches"):
        read_document(giant, Limits())


def test_a_tiff_with_too_many_pages_is_refused():
    frames = [image_of("page") for _ in range(4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(PayloadTooLarge, match="4 pages"):
        read_document(buffer.getvalue(), Limits(max_pages=3))


def test_ocr_past_the_time_limit_is_stopped_with_a_422(report_png):
    with pytest.raises(UnreadableDocument, match="RADPLAIN_DOCUMENT_TIMEOUT") as err:
        read_document(report_png, Limits(timeout=0.001))
    assert err.value.status == 422 and err.value.exit_code == 2


def test_a_zero_byte_file_is_bad_input():
    with pytest.raises(BadInput, match="empty"):
        read_document(b"", Limits())


def test_binary_garbage_is_not_taken_for_a_document():
    with pytest.raises(UnsupportedMediaType, match="not a PDF or a PNG, JPEG, WebP or TIFF"):
        read_document(bytes(range(256)) * 40, Limits())


def test_a_corrupt_pdf_says_it_is_not_readable():
    with pytest.raises(BadInput, match="not a readable PDF"):
        read_document(b"%PDF-1.7\n" + bytes(range(256)) * 20, Limits())


def test_a_truncated_png_is_bad_input_not_a_crash(report_png):
    with pytest.raises(BadInput, match="damaged or truncated|not a readable"):
        read_document(report_png[: len(report_png) // 3], Limits())


def test_something_that_only_starts_like_a_jpeg_is_bad_input():
    with pytest.raises(BadInput, match="not a readable PNG, JPEG, WebP or TIFF"):
        read_document(b"\xff\xd8\xff" + b"\x00" * 500, Limits())


def test_a_password_protected_pdf_asks_for_the_file_without_a_password(text_pdf):
    writer = PdfWriter(clone_from=io.BytesIO(text_pdf))
    writer.encrypt(user_password="secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(UnreadableDocument, match="password-protected"):
        read_document(out.getvalue(), Limits())


def test_a_blank_photo_says_no_text_could_be_read():
    with pytest.raises(UnreadableDocument, match="no text could be read"):
        read_document(encoded(Image.new("L", (800, 600), 255), "PNG"), Limits())
