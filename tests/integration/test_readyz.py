"""/readyz against the real parts: PostgreSQL and the FHIR test server."""

from __future__ import annotations

from service import config
from service.api import create_app


def _readyz(explainer, **env):
    app = create_app(config.load(env), explainer=explainer)
    return app.test_client().get("/readyz")


def test_ready_with_postgres_and_fhir(explainer, pg_url, fhir_server):
    response = _readyz(explainer, DATABASE_URL=pg_url, RADPLAIN_FHIR_BASE=fhir_server.base)
    assert response.status_code == 200, response.json
    assert response.json["checks"] == {"database": "ok", "fhir": "ok"}


def test_unreachable_postgres_is_named_without_leaking_the_password(explainer, fhir_server):
    url = "postgresql+psycopg://radplain:s3cret-pw@127.0.0.1:1/nowhere"
    response = _readyz(explainer, DATABASE_URL=url, RADPLAIN_FHIR_BASE=fhir_server.base)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["checks"]["fhir"] == "ok"
    assert "check DATABASE_URL" in response.json["detail"]
    assert "s3cret-pw" not in response.get_data(as_text=True)
