"""The loader refuses malformed clinical data and says which file and entry to fix."""

import shutil
from pathlib import Path

import pytest
import yaml

from service import mappings
from service.errors import MappingError

REAL = mappings.MAPPINGS_DIR


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(REAL, tmp_path / "mappings")
    return tmp_path / "mappings"


def _edit(path: Path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_shipped_mappings_load(mappings):
    assert len(mappings.glossary) >= 400
    assert len(mappings.phrases) >= 60
    assert mappings.critical and mappings.context and mappings.templates


def test_unknown_key_is_rejected_with_file_and_entry(tree):
    _edit(tree / "critical.yaml", lambda d: d[0].update(colour="red"))
    with pytest.raises(MappingError, match=r"critical\.yaml: critical\.\w+: .*colour"):
        mappings.load_kind("critical", tree)


def test_missing_citation_is_rejected(tree):
    _edit(tree / "phrases.yaml", lambda d: d[1].pop("source"))
    with pytest.raises(MappingError, match=r"phrases\.yaml: phrase\.\w+: .*'source' is a required"):
        mappings.load_kind("phrases", tree)


def test_missing_review_status_is_rejected(tree):
    _edit(tree / "critical.yaml", lambda d: d[0]["review"].pop("status"))
    with pytest.raises(MappingError, match="status"):
        mappings.load_kind("critical", tree)


def test_duplicate_id_across_files_is_rejected(tree):
    files = sorted((tree / "glossary").glob("*.yaml"))
    first_id = yaml.safe_load(files[0].read_text())[0]["id"]
    _edit(files[1], lambda d: d[0].update(id=first_id))
    with pytest.raises(MappingError, match=f"{first_id}: duplicate id"):
        mappings.load_kind("glossary", tree)


def test_surface_form_claimed_by_two_entries_is_rejected(tree):
    path = tree / "critical.yaml"
    data = yaml.safe_load(path.read_text())
    stolen = data[0]["match"][0]
    _edit(path, lambda d: d[1]["match"].append(stolen.upper()))
    with pytest.raises(MappingError, match="already matches; keep it in one entry"):
        mappings.load_kind("critical", tree)


def test_context_pseudo_trigger_cannot_have_a_direction(tree):
    def change(d):
        next(e for e in d if e["category"] == "pseudo")["direction"] = "forward"

    _edit(tree / "context.yaml", change)
    with pytest.raises(MappingError, match="context.yaml"):
        mappings.load_kind("context", tree)


def test_every_entry_has_a_source_url_and_review_status(mappings):
    for kind in ("glossary", "phrases", "critical", "context", "certainty"):
        for entry in getattr(mappings, kind):
            assert entry["source"]["url"].startswith("http"), entry["id"]
            assert entry["review"]["status"] in {"draft", "reviewed", "unverified"}, entry["id"]


def test_reviewed_entries_name_their_reviewer_and_date(mappings):
    for entry in mappings.by_id().values():
        review = entry.get("review", {})
        if review.get("status") == "reviewed":
            assert review["by"] and review["date"], entry["id"]


def test_glossary_finding_terms_read_in_both_frames(mappings):
    # lay_term must fit "The scan shows ___." and "no sign of ___.": no sentence punctuation
    for entry in mappings.glossary:
        term = entry["lay_term"]["en"]
        assert not term.endswith((".", "!", "?")) and len(term.split()) <= 12, entry["id"]


_PREFIXES = {
    "non",
    "un",
    "partially",
    "radio",
    "peri",
    "para",
    "intra",
    "extra",
    "sub",
    "supra",
    "infra",
    "retro",
    "pre",
    "post",
}


def test_descriptors_never_swallow_a_finding(mappings):
    """'solid nodule' as a descriptor would hide the nodule from negation and follow-up."""
    from service.annotate.tokens import literal_key

    findings = {
        literal_key(x)
        for e in mappings.glossary
        if e["kind"] in ("finding", "device")
        for x in e["match"]
    }
    for entry in mappings.glossary:
        if entry["kind"] not in ("descriptor", "location"):
            continue
        for literal in entry["match"]:
            key = literal_key(literal)
            tails = [key[i:] for i in range(1, len(key))]
            if key[0] in _PREFIXES:
                continue  # "non obstructing" is no obstruction; "peri prosthetic" is a place
            assert not any(t in findings for t in tails), (entry["id"], literal)
