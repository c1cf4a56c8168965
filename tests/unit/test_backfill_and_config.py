import base64
import json

import pytest

from service import config
from service.backfill import backfill
from service.errors import BadInput, ConfigError


def _report(rid, status="final", text="IMPRESSION: No pneumothorax."):
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": status,
        "code": {"text": "CXR"},
        "subject": {"reference": "Patient/p"},
        "presentedForm": [
            {"contentType": "text/plain", "data": base64.b64encode(text.encode()).decode()}
        ],
    }


def test_backfill_writes_communications_and_loses_no_line(tmp_path, explainer):
    src = tmp_path / "in"
    src.mkdir()
    lines = [
        json.dumps(_report("a")),
        json.dumps(_report("b", "preliminary")),
        json.dumps({"resourceType": "Patient", "id": "p"}),
        "{not json",
        json.dumps(_report("c")),
    ]
    (src / "DiagnosticReport.ndjson").write_text("\n".join(lines) + "\n")
    result = backfill(src, tmp_path / "out", explainer)
    assert (
        result.read,
        result.written,
        result.not_releasable,
        result.not_reports,
        result.errors,
    ) == (5, 2, 1, 1, 1)
    comms = [
        json.loads(x) for x in (tmp_path / "out" / "Communication.ndjson").read_text().splitlines()
    ]
    assert [c["identifier"][0]["value"] for c in comms] == ["a-v1-patient", "c-v1-patient"]
    [error] = [json.loads(x) for x in (tmp_path / "out" / "errors.ndjson").read_text().splitlines()]
    assert error["line"] == 4


def test_backfill_without_input_files_says_so(tmp_path, explainer):
    with pytest.raises(BadInput, match="no .ndjson files"):
        backfill(tmp_path, tmp_path / "out", explainer)


def test_settings_defaults_and_errors_that_name_the_variable():
    settings = config.load({})
    assert settings.database_url.startswith("sqlite:///") and settings.page_size == 50
    with pytest.raises(ConfigError, match="RADPLAIN_PAGE_SIZE"):
        config.load({"RADPLAIN_PAGE_SIZE": "0"})
    with pytest.raises(ConfigError, match="RADPLAIN_SMART_KEY_FILE"):
        config.load({"RADPLAIN_SMART_CLIENT_ID": "radplain"})
    with pytest.raises(ConfigError, match="RADPLAIN_SMART_ALG"):
        config.load({"RADPLAIN_SMART_ALG": "HS256"})


def test_a_blanket_clinician_review_hold_is_refused_at_startup(tmp_path):
    import subprocess
    import sys

    env = {
        "RADPLAIN_HOLD_FOR_CLINICIAN_REVIEW": "true",
        "RADPLAIN_FHIR_BASE": "http://127.0.0.1:9/fhir",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
        "PATH": "/usr/bin:/bin",
    }
    res = subprocess.run(
        [sys.executable, "-m", "service", "release-due"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert res.returncode == 4
    assert "information blocking" in res.stderr and "legal basis" in res.stderr


def test_release_state_must_be_a_state_code():
    with pytest.raises(ConfigError, match="RADPLAIN_RELEASE_STATE"):
        config.load({"RADPLAIN_RELEASE_STATE": "Kentucky"})
    assert config.load({"RADPLAIN_RELEASE_STATE": "KY"}).release_state == "KY"
