"""POST /v1/explain with a multipart upload: PDFs and photos, checked against the contract."""

import io

import pytest
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from pypdf import PdfWriter
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from service import config
from service.api import create_app
from tests.unit.api.test_contract import SPEC, _checked
from tests.unit.documents.conftest import REPORT, encoded, image_of


@pytest.fixture(scope="module")
def text_pdf():
    from benchmarks import renderings

    return renderings.text_pdf(REPORT)


def _client(explainer, **env):
    return create_app(config.load(env), explainer=explainer).test_client()


def _upload(client, data: bytes, name="report.pdf", **fields):
    """Upload, then check the answer against the contract (the body is built twice: a file
    part can be read only once)."""

    def body():
        return {"file": (io.BytesIO(data), name), **fields}

    response = client.post("/v1/explain", data=body(), content_type="multipart/form-data")
    environ = EnvironBuilder(
        path="/v1/explain", method="POST", data=body(), content_type="multipart/form-data"
    ).get_environ()
    request = WerkzeugOpenAPIRequest(Request(environ))
    # the answer only: openapi-core deserializes a file part to bytes, which its 3.1 schema
    # check then refuses as "not of type string" (a checker limitation, not a contract gap)
    SPEC.validate_response(request, WerkzeugOpenAPIResponse(response))
    return response


def test_an_uploaded_pdf_is_explained(explainer, text_pdf):
    res = _upload(_client(explainer), text_pdf)
    assert res.status_code == 200, res.json
    assert res.json["source"]["origin"] == "pdf"
    assert res.json["impression"]["text"].startswith("1. Small right pleural effusion.")


def test_an_uploaded_photo_is_explained_in_the_language_asked(explainer):
    res = _upload(
        _client(explainer), encoded(image_of().convert("RGB"), "JPEG"), "p.jpg", lang="es"
    )
    assert res.status_code == 200, res.json
    assert res.json["language"] == "es" and res.json["source"]["document"]["reading"] == "ocr"


def test_an_upload_over_the_document_limit_is_413_naming_the_setting(explainer, text_pdf):
    res = _upload(_client(explainer, RADPLAIN_MAX_DOCUMENT_BYTES="2048"), text_pdf)
    assert res.status_code == 413 and res.mimetype == "application/problem+json"


def test_an_upload_larger_than_the_old_5_mb_body_limit_reaches_the_reader(explainer):
    padded = b"%PDF-1.7\n" + b"0" * (6 * 1024 * 1024)  # 6 MB, corrupt: refused as such
    res = _upload(_client(explainer), padded)
    assert res.status_code == 400 and "not a readable PDF" in res.json["detail"]


def test_a_password_protected_upload_is_422(explainer, text_pdf):
    writer = PdfWriter(clone_from=io.BytesIO(text_pdf))
    writer.encrypt(user_password="secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    res = _upload(_client(explainer), out.getvalue())
    assert res.status_code == 422 and "password" in res.json["detail"]


def test_a_multipart_body_without_a_file_part_says_what_to_send(explainer):
    res = _checked(
        _client(explainer),
        "post",
        "/v1/explain",
        valid_request=False,
        data={"lang": "en"},
        content_type="multipart/form-data",
    )
    assert res.status_code == 400 and "'file' part" in res.json["detail"]


def test_an_uploaded_binary_that_is_no_document_is_refused(explainer):
    res = _upload(_client(explainer), bytes(range(256)) * 8, "x.bin")
    assert res.status_code == 400 and "binary" in res.json["detail"]
