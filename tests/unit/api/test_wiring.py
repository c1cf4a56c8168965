"""The store is opened once per process, however many requests arrive first together."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from service import config
from service.api import create_app, wiring


def test_concurrent_first_requests_open_one_store(explainer, tmp_path):
    # a gthread worker's first requests come together; each opening a Store ran the
    # migrations at once, and Alembic's module-global context failed one of them (a 500)
    app = create_app(config.load({"DATABASE_URL": f"sqlite:///{tmp_path}/w.sqlite3"}), explainer)
    start = threading.Barrier(8)

    def first_request(_):
        with app.app_context():
            start.wait()
            return wiring.store()  # an exception here fails the test through map()

    with ThreadPoolExecutor(8) as pool:
        opened = list(pool.map(first_request, range(8)))
    assert len({id(s) for s in opened}) == 1
