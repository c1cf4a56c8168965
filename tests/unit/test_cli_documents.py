"""radplain explain PATH reads PDFs and photos; every refusal is one line and exit code 2."""

import json

import pytest

from benchmarks import renderings
from service.cli import main
from tests.unit.documents.conftest import REPORT, encoded, image_of


@pytest.fixture()
def pdf_file(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(renderings.text_pdf(REPORT))
    return path


def test_explain_reads_a_pdf_file(pdf_file, capsys):
    assert main(["explain", "--format", "json", str(pdf_file)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"]["document"]["reading"] == "text_layer"
    assert any(f["text"] == "pneumothorax" and f["assertion"] == "absent" for f in doc["findings"])


def test_explain_reads_a_photo_from_stdin(monkeypatch, capsys):
    import io
    import sys

    photo = encoded(image_of().convert("RGB"), "WEBP", quality=90)
    monkeypatch.setattr(sys, "stdin", type("S", (), {"buffer": io.BytesIO(photo)})())
    assert main(["explain", "--format", "json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["source"]["origin"] == "ocr"


def test_a_limit_from_the_environment_is_exit_2_with_one_line(pdf_file, monkeypatch, capsys):
    monkeypatch.setenv("RADPLAIN_MAX_DOCUMENT_BYTES", "1024")
    assert main(["explain", str(pdf_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RADPLAIN_MAX_DOCUMENT_BYTES" in err


@pytest.mark.parametrize(
    "content,says",
    [
        (b"", "empty"),
        (b"%PDF-1.4\n" + bytes(range(256)), "not a readable PDF"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not a readable PNG"),
        (bytes(range(256)) * 4, "binary"),
    ],
)
def test_bad_files_are_exit_2_and_say_what_is_wrong(tmp_path, capsys, content, says):
    path = tmp_path / "input"
    path.write_bytes(content)
    assert main(["explain", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("radplain: error:") and says in err and err.count("\n") == 1
