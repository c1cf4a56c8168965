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


def npm_ci(folder: Path) -> None:
    """npm ci in a folder of test tools, when node_modules is missing or older than
    package-lock.json (the pinned versions are the lock's; nothing is fetched if current)."""
    import subprocess

    marker = folder / "node_modules" / ".package-lock.json"  # written by every npm install
    lock = folder / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci failed in {folder}:\n{result.stdout}\n{result.stderr}")
    marker.touch()  # newer than the lock from now on, whatever dates the checkout left


def fhir_example(name: str) -> dict:
    return json.loads((DATA / "fhir" / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def issuer(tmp_path_factory):
    """A stand-in for the hospital's authorization server: signs RS256 access tokens."""
    import time

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path_factory.mktemp("issuer") / "issuer.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    class Issuer:
        url, audience = "https://auth.hospital.example", "radplain"
        env = {
            "RADPLAIN_AUTH_ISSUER": url,
            "RADPLAIN_AUTH_AUDIENCE": audience,
            "RADPLAIN_AUTH_PUBLIC_KEY_FILE": str(pem),
        }

        def token(self, **claims) -> str:
            now = int(time.time())
            body = {"iss": self.url, "aud": self.audience, "sub": "t", "exp": now + 300, **claims}
            return jwt.encode(body, key, algorithm="RS256")

        def headers(self, **claims) -> dict:
            return {"Authorization": f"Bearer {self.token(**claims)}"}

    return Issuer()


@pytest.fixture()
def json_logs():
    """Every log record at DEBUG, formatted as production formats it, in a StringIO."""
    import io
    import logging

    from service import logs

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)  # setLevel, not assignment: it clears the level cache
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)
