"""Four `radplain worker` processes on real PostgreSQL share 500 reports from the FHIR
test server: every report version's Communication is written exactly once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from test_pipeline import LOINC_RAD, _communications, _post, _report

ROOT = Path(__file__).resolve().parents[2]


def test_four_workers_on_postgres_write_each_communication_exactly_once(fresh_fhir, pg_url):
    for i in range(500):
        _post(fresh_fhir, _report(i, "final", LOINC_RAD))
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "RADPLAIN_FHIR_BASE": fresh_fhir.base,
        "RADPLAIN_SYNC_INTERVAL": "1",
    }
    radplain = str(Path(sys.executable).parent / "radplain")
    procs = [
        subprocess.Popen(
            [radplain, "worker", "--until-idle", "--name", f"w{n}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err[-2000:] for _, err in outputs]

    written = Counter()
    for out, _ in outputs:
        m = re.search(r"worker (w\d): (\d+) processed", out)
        found = re.search(r"(\d+) written", out)
        written[m.group(1)] = int(found.group(1)) if found else 0
    print(f"\nwritten per worker: {dict(written)}")
    assert sum(written.values()) == 500  # no report written twice, none missed
    assert sum(1 for n in written.values() if n) >= 2  # the work was shared

    keys = [c["identifier"][0]["value"] for c in _communications(fresh_fhir)]
    assert len(keys) == len(set(keys)) == 500


def test_claims_are_exclusive_expire_with_their_lease_and_are_given_back(pg_url):
    from datetime import timedelta

    from service.store.db import Store

    a, b = Store(pg_url), Store(pg_url)
    assert a.enqueue([(f"r{i}", "1") for i in range(6)]) == 6
    assert a.enqueue([("r0", "1")]) == 0  # enqueued once, however often discovered
    mine = a.claim("a", 4, timedelta(minutes=5))
    theirs = b.claim("b", 4, timedelta(minutes=5))
    assert len(mine) == 4 and len(theirs) == 2 and not set(mine) & set(theirs)
    assert b.claim("b", 4, timedelta(minutes=5)) == []  # nothing left to take
    a.finish(*mine[0])
    assert len(b.claim("b", 10, timedelta(0))) == 5  # "a" and "b" went silent: lease expired
    assert b.unclaim("b") == 5  # shutdown: everything unfinished goes back
    assert a.pending_work() == 5
