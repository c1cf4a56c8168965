from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def mappings():
    from service import mappings as m

    return m.default()


@pytest.fixture(scope="session")
def explainer(mappings):
    from service.annotate.explain import Explainer

    return Explainer(mappings)


@pytest.fixture(scope="session")
def explain(explainer):
    from service.annotate.source_text import from_plain

    def run(text: str, lang: str = "en") -> dict:
        return explainer.explain(from_plain(text), lang)

    return run


@pytest.fixture(scope="session")
def corpus():
    return yaml.safe_load((DATA / "corpus" / "reports.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def assertion_items():
    path = DATA / "assertions" / "radiology_assertions.jsonl"
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def fhir_example(name: str) -> dict:
    return json.loads((DATA / "fhir" / name).read_text(encoding="utf-8"))
