"""The app's one Store, opened on first use: the stateless routes never need a database."""

from __future__ import annotations

from flask import current_app

from ..store.db import Store


def store() -> Store:
    opened = current_app.extensions.get("radplain.store")
    if opened is None:
        opened = Store(current_app.extensions["radplain.settings"].database_url)
        current_app.extensions["radplain.store"] = opened
    return opened
