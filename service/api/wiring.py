"""The app's long-lived collaborators, opened on first use: the stateless routes never
need a database or an EHR, so `radplain serve` starts without either.

Opening is serialised: a gthread worker's first requests arrive together, and each would
otherwise open its own Store and run the migrations at the same time as the others, which
Alembic does not survive in one process (its ``context`` proxy is a module global; one
of them fails with a KeyError, a 500).
"""

from __future__ import annotations

import threading

from flask import current_app

from ..pipeline import Pipeline
from ..store.db import Store

_opening = threading.RLock()  # re-entrant: pipeline() opens the store while holding it


def store() -> Store:
    opened = current_app.extensions.get("radplain.store")
    if opened is None:
        with _opening:
            opened = current_app.extensions.get("radplain.store")
            if opened is None:
                opened = Store(current_app.extensions["radplain.settings"].database_url)
                current_app.extensions["radplain.store"] = opened
    return opened


def pipeline() -> Pipeline:
    """Raises FhirNotConfigured (problem+json 503 that names the setting) with no FHIR server."""
    built = current_app.extensions.get("radplain.pipeline")
    if built is None:
        with _opening:
            built = current_app.extensions.get("radplain.pipeline")
            if built is None:
                built = Pipeline.from_settings(
                    current_app.extensions["radplain.settings"],
                    current_app.extensions["radplain.explainer"],
                    store=store(),
                )
                current_app.extensions["radplain.pipeline"] = built
    return built
