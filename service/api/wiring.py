"""The app's long-lived collaborators, opened on first use: the stateless routes never
need a database or an EHR, so `radplain serve` starts without either."""

from __future__ import annotations

from flask import current_app

from ..pipeline import Pipeline
from ..store.db import Store


def store() -> Store:
    opened = current_app.extensions.get("radplain.store")
    if opened is None:
        opened = Store(current_app.extensions["radplain.settings"].database_url)
        current_app.extensions["radplain.store"] = opened
    return opened


def pipeline() -> Pipeline:
    """Raises FhirNotConfigured (problem+json 503 that names the setting) with no FHIR server."""
    built = current_app.extensions.get("radplain.pipeline")
    if built is None:
        built = Pipeline.from_settings(
            current_app.extensions["radplain.settings"],
            current_app.extensions["radplain.explainer"],
            store=store(),
        )
        current_app.extensions["radplain.pipeline"] = built
    return built
