"""The CLI contract: exit codes, one-line errors, JSON shapes (design.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]


def run(*args, stdin: bytes | None = None):
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )


def test_explain_example_as_json_has_the_contract():
    res = run("explain", "--format", "json", "examples/chest-xray.txt")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["impression"]["text"].startswith("1. Right lower lobe opacity")
    assert [f["assertion"] for f in doc["findings"] if f["text"] == "pneumothorax"] == ["absent"]


def test_explain_reads_a_fhir_report_from_stdin():
    data = (DATA / "fhir" / "html-base64.json").read_bytes()
    res = run("explain", "--format", "json", "-", stdin=data)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["source"]["origin"] == "presentedForm[0]"


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_explain_other_formats(fmt):
    res = run("explain", "--format", fmt, "examples/chest-xray.txt")
    assert res.returncode == 0
    assert b"does not replace your doctor" in b" ".join(res.stdout.split())


@pytest.mark.parametrize(
    "args,stdin,message",
    [
        (["explain", "no/such/file.txt"], None, b"no such file"),
        (["explain", "-"], b"{not json", b"not valid JSON"),
        (
            ["explain", str(DATA / "fhir" / "wrong-type.json")],
            None,
            b"expected resourceType DiagnosticReport, got 'Patient'",
        ),
        (
            ["explain", str(DATA / "fhir" / "no-text.json")],
            None,
            b"no presentedForm, conclusion or text",
        ),
        (["explain", str(DATA / "fhir" / "invalid-structure.json")], None, b"not valid FHIR R4"),
        (["explain", "-"], b"\x00\x01\x02binary", b"binary"),
        (["explain", "-"], b"   ", b"empty"),
        (["assertions", "-"], b'{"text": "No effusion.", "start": 3, "end": 99}\n', b"start"),
        (["assertions", "-"], b"not json\n", b":1: not valid JSON"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args, stdin, message):
    res = run(*args, stdin=stdin)
    assert res.returncode == 2
    assert message in res.stderr
    assert res.stderr.count(b"\n") == 1 and res.stdout == b""


def test_huge_input_is_refused():
    res = run("explain", "-", stdin=b"a" * (5 * 1024 * 1024 + 10))
    assert res.returncode == 2 and b"larger than" in res.stderr


def test_assertions_keeps_order_and_adds_the_labels():
    lines = [
        {"text": "No pneumothorax.", "start": 3, "end": 15},
        {"text": "History of stroke.", "start": 11, "end": 17},
        {"text": "Pneumonia cannot be excluded.", "start": 0, "end": 9},
    ]
    res = run("assertions", "-", stdin="\n".join(json.dumps(x) for x in lines).encode())
    assert res.returncode == 0, res.stderr
    out = [json.loads(x) for x in res.stdout.decode().splitlines()]
    assert [(o["assertion"], o["historical"]) for o in out] == [
        ("absent", False),
        ("present", True),
        ("possible", False),
    ]
    assert [o["text"] for o in out] == [x["text"] for x in lines]


def test_check_mappings():
    res = run("check-mappings")
    assert res.returncode == 0 and res.stdout.startswith(b"mappings OK")
