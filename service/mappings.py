"""Load the reviewed clinical data in ``mappings/`` and refuse anything malformed.

Every file is checked against its JSON Schema in ``mappings/schema/``; ids must be
unique across all files of a kind, and a surface form may belong to one entry only,
because an ambiguous match would make a lay sentence untraceable. Errors name the file
and the entry so a reviewer can fix the data without reading code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import yaml

from . import __version__
from .annotate.tokens import literal_key
from .errors import MappingError

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"

# kind -> the files (or folder of files) that hold it, relative to mappings/
KINDS = {
    "glossary": "glossary",
    "phrases": "phrases.yaml",
    "critical": "critical.yaml",
    "context": "context.yaml",
    "certainty": "certainty.yaml",
    "sections": "sections.yaml",
    "templates": "templates.yaml",
    "questions": "questions.yaml",
    "rads": "rads",
    "rads_systems": "rads_systems.yaml",
    "density": "density.yaml",
    "fleischner": "fleischner.yaml",
    "tirads": "tirads.yaml",
    "incidental": "incidental",
    "release_bases": "release/bases.yaml",
    "state_laws": "release/state_laws.yaml",
    "release_policy": "release/policy.yaml",
    "ui": "ui.yaml",
}

try:  # libyaml is several times faster; the pure-Python loader gives the same result
    _YamlLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader


@dataclass(frozen=True)
class Mappings:
    """All mapping data, as plain lists of dicts, keyed by kind."""

    glossary: list[dict]
    phrases: list[dict]
    critical: list[dict]
    context: list[dict]
    certainty: list[dict]
    sections: list[dict]
    templates: list[dict]
    questions: list[dict]
    rads: list[dict]
    rads_systems: list[dict]
    density: list[dict]
    fleischner: list[dict]
    tirads: list[dict]
    incidental: list[dict]
    release_bases: list[dict]
    state_laws: list[dict]
    release_policy: list[dict]
    ui: list[dict]

    def by_id(self) -> dict[str, dict]:
        return {e["id"]: e for kind in KINDS for e in getattr(self, kind)}


def _registry(schema_dir: Path):
    from referencing import Registry, Resource  # only when validating: the cache skips it

    resources = []
    for path in schema_dir.glob("*.schema.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.name, Resource.from_contents(schema)))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def _files(root: Path, rel: str) -> list[Path]:
    target = root / rel
    if target.is_dir():
        return sorted(target.glob("*.yaml"))
    return [target] if target.exists() else []


def _entry_name(entry: object, index: int) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        return entry["id"]
    return f"entry #{index + 1}"


def load_kind(kind: str, root: Path = MAPPINGS_DIR) -> list[dict]:
    from jsonschema import Draft202012Validator

    schema_dir = root / "schema"
    schema_path = schema_dir / f"{kind}.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, registry=_registry(schema_dir))
    files = _files(root, KINDS[kind])
    if not files:
        raise MappingError(f"{root / KINDS[kind]}: no {kind} mapping file found")
    entries: list[dict] = []
    seen_ids: dict[str, Path] = {}
    for path in files:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)  # noqa: S506 (a SafeLoader)
        except yaml.YAMLError as exc:
            raise MappingError(f"{path}: not valid YAML: {exc}") from exc
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            err = errors[0]
            where = list(err.absolute_path)
            name = (
                _entry_name(data[where[0]], where[0])
                if where and isinstance(data, list)
                else "file"
            )
            field = ".".join(str(p) for p in where[1:]) or "(entry)"
            raise MappingError(f"{path.relative_to(root)}: {name}: {field}: {err.message}")
        for entry in data:
            if entry["id"] in seen_ids:
                raise MappingError(
                    f"{path.relative_to(root)}: {entry['id']}: duplicate id "
                    f"(also in {seen_ids[entry['id']].relative_to(root)})"
                )
            seen_ids[entry["id"]] = path
            entries.append(entry)
    _check_unique_literals(kind, entries, root)
    if kind == "incidental":
        _check_incidental_rules(entries)
    return entries


def _check_incidental_rules(entries: list[dict]) -> None:
    """Every rule names a finding that exists, and reads only features that finding defines."""
    findings = {e["id"]: e for e in entries if e["kind"] == "finding"}
    for rule in (e for e in entries if e["kind"] == "rule"):
        finding = findings.get(rule["finding"])
        if finding is None:
            raise MappingError(
                f"incidental: {rule['id']}: finding {rule['finding']!r} is not defined"
            )
        if not rule["id"].startswith(rule["finding"] + "."):
            raise MappingError(
                f"incidental: {rule['id']}: a rule's id starts with its finding's id"
            )
        unknown = set(rule["when"].get("features", {})) - set(finding.get("features", {}))
        if unknown:
            raise MappingError(
                f"incidental: {rule['id']}: reads features {sorted(unknown)} that "
                f"{finding['id']} does not define"
            )


def _check_unique_literals(kind: str, entries: list[dict], root: Path) -> None:
    owner: dict[tuple, str] = {}
    for entry in entries:
        keys = [literal_key(x) for x in entry.get("match", [])]
        keys += [
            ("case",) + literal_key(x, case_sensitive=True) for x in entry.get("match_case", [])
        ]
        for key in keys:
            if not key or key == ("case",):
                raise MappingError(f"{kind}: {entry['id']}: a match literal has no words in it")
            if key in owner and owner[key] != entry["id"]:
                raise MappingError(
                    f"{kind}: {entry['id']}: matches {' '.join(key)!r}, which "
                    f"{owner[key]} already matches; keep it in one entry"
                )
            owner[key] = entry["id"]


def load(root: Path = MAPPINGS_DIR) -> Mappings:
    return Mappings(**{kind: load_kind(kind, root) for kind in KINDS})


def _digest(root: Path) -> str:
    h = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".yaml", ".json"):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def _cache_dir() -> Path:
    base = os.environ.get("RADPLAIN_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "radplain" if base else Path.home() / ".cache" / "radplain"


def load_cached(root: Path = MAPPINGS_DIR) -> Mappings:
    """``load``, skipping schema validation when these exact files were validated before.

    Validation costs ~0.3 s, most of a one-report CLI run. The cache is keyed by a hash
    of every mapping and schema file's content, so any edit is validated again; it is
    plain JSON (never pickle), and a cache that cannot be read or written is ignored.
    """
    path = _cache_dir() / f"mappings-{_digest(root)}.json"
    try:
        return Mappings(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        pass
    loaded = load(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, delete=False, encoding="utf-8"
        ) as fh:
            json.dump(asdict(loaded), fh, ensure_ascii=False)
        os.replace(fh.name, path)
    except OSError:
        pass
    return loaded


@cache
def default() -> Mappings:
    """The shipped mappings, validated (or known valid), once per process."""
    return load_cached()
