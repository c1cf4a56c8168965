"""PDFs and images become the analysed text: text layers as typed, the rest by OCR."""

import io

import pytest
from PIL import Image
from pypdf import PdfWriter

from service.documents import Limits, read_document, sniff
from tests.unit.documents.conftest import REPORT, encoded, image_of


def _words(read):
    return [read.text[w.start : w.end] for w in read.words]


def test_a_text_layer_pdf_is_read_as_typed_without_ocr(text_pdf):
    read = read_document(text_pdf, Limits())
    assert read.origin == "pdf" and read.words == ()
    assert read.document == {
        "media_type": "application/pdf",
        "reading": "text_layer",
        "pages": 1,
        "ocr_pages": 0,
    }
    assert " ".join(read.text.split()) == " ".join(REPORT.split())


def test_an_image_is_read_by_ocr_and_every_word_keeps_its_confidence(report_png):
    read = read_document(report_png, Limits())
    assert read.origin == "ocr" and read.document["reading"] == "ocr"
    assert "IMPRESSION:" in read.text and "pneumothorax." in read.text
    assert _words(read) == read.text.split()  # offsets point at the words
    assert all(0 <= w.confidence <= 100 for w in read.words)
    assert read.min_confidence == Limits().min_confidence


@pytest.mark.parametrize(
    "fmt,media", [("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("TIFF", "image/tiff")]
)
def test_jpeg_webp_and_tiff_photos_are_read(fmt, media):
    data = (
        encoded(image_of().convert("RGB"), fmt, quality=90)
        if fmt != "TIFF"
        else encoded(image_of(), fmt)
    )
    assert sniff(data) == media
    read = read_document(data, Limits())
    assert "pleural effusion." in read.text


def test_a_photo_held_sideways_is_turned_upright():
    read = read_document(encoded(image_of().rotate(90, expand=True), "PNG"), Limits())
    assert "Small right pleural effusion." in read.text


def test_a_tilted_page_is_straightened():
    tilted = image_of().rotate(6, expand=True, fillcolor=255, resample=Image.BICUBIC)
    read = read_document(encoded(tilted, "PNG"), Limits())
    assert "Small right pleural effusion." in read.text


def test_a_scanned_pdf_without_text_layer_is_read_by_ocr():
    scan = encoded(image_of(), "PDF", resolution=150)
    read = read_document(scan, Limits())
    assert read.document["reading"] == "ocr" and read.document["ocr_pages"] == 1
    assert "No pneumothorax." in read.text


def test_a_pdf_mixing_typed_and_scanned_pages_reads_each_its_own_way(text_pdf):
    writer = PdfWriter()
    writer.append(io.BytesIO(text_pdf))
    writer.append(io.BytesIO(encoded(image_of("ADDENDUM: Findings discussed."), "PDF")))
    out = io.BytesIO()
    writer.write(out)
    read = read_document(out.getvalue(), Limits())
    assert read.document["reading"] == "text_layer+ocr" and read.document["pages"] == 2
    assert read.text.index("IMPRESSION") < read.text.index("ADDENDUM")
    # OCR words of page 2 point into the joined text
    assert _words(read) == read.text[read.words[0].start :].split()


def test_a_pdf_encrypted_only_against_editing_opens_with_the_empty_password(text_pdf):
    writer = PdfWriter(clone_from=io.BytesIO(text_pdf))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    assert "IMPRESSION" in read_document(out.getvalue(), Limits()).text


def test_a_transparent_png_is_read_on_white():
    text = image_of()
    rgba = Image.new("RGBA", text.size, (0, 0, 0, 0))
    rgba.putalpha(Image.eval(text, lambda v: 255 - v))  # black letters, clear background
    assert "pleural effusion." in read_document(encoded(rgba, "PNG"), Limits()).text
