"""The bounded load test (issue 9): gunicorn as deployed, the explain and read endpoints
each held under load by wrk for a fixed time, with no errors and no memory growth.

The work is benchmarks/load.py's, which a person runs with a longer hold
(``.venv/bin/python benchmarks/load.py 120``); this test runs its defaults, some 80 s in
all, and prints the table (``pytest -s``).
"""

from __future__ import annotations

import shutil

import pytest

from benchmarks import load


def test_explain_and_reads_under_sustained_load_answer_2xx_without_memory_growth(tmp_path):
    if shutil.which("wrk") is None:
        pytest.fail(load.WRK_MISSING)  # not a skip: CI installs it (.ci/run)
    result = load.run(tmp_path / "load")
    print(f"\n{result.table()}")
    assert result.problems() == []
    assert len(result.phases) == 6  # three endpoints, each warmed up and then held
