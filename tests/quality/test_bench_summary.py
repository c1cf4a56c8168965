"""The `make bench` summary: figures from canned part results, no timing."""

from benchmarks import all as bench

SPEED = {
    "reports": 190,
    "items": 1066,
    "explain": {"radplain": 1200.0, "without_rads": 1380.0, "negspacy": 600.0, "medspacy": 300.0},
    "assert": {"radplain": 60000.0, "negspacy": 20000.0, "medspacy": 5000.0},
    "cli_s": 0.6,
    "python_s": 0.05,
}
SYNC = {
    "n": 500,
    "rounds": 3,
    "seconds": {"radplain, 4 workers": 12.0, "radplain, 1 worker": 14.0, "plain": 10.0},
}


def by_figure(results):
    return {r["figure"]: r for r in bench.rows(results)}


def test_each_ratio_is_ours_over_the_same_run_baseline_and_judged_against_its_goal():
    found = by_figure({"speed": SPEED, "sync": SYNC})
    assert found["explain rate vs negspacy, same 190 texts"]["ratio"] == "2.00x"
    assert found["explain rate vs negspacy, same 190 texts"]["result"] == "pass"  # >= 1,000/s
    assert found["explain rate vs medspaCy, same 190 texts"]["result"] == "-"  # no goal set
    assert found["RADS recognition, time with / without"]["ratio"] == "1.15x"
    assert found["assertions vs negspacy, same 1066 items"]["result"] == "pass"  # 3x >= 2x
    assert found["`radplain explain` one report, wall"]["result"] == "FAIL"  # 0.6 s > 0.5 s
    assert found["sync 500 reports, 4 workers, time"]["ratio"] == "1.20x"
    assert found["sync 500 reports, 4 workers, time"]["result"] == "pass"  # 1.2x <= 1.3x
    assert found["sync 500 reports, 1 worker, time"]["ratio"] == "1.40x"
    assert found["sync 500 reports, 1 worker, time"]["result"] == "-"  # the goal is for 4


def test_a_part_that_did_not_run_is_a_failed_row_not_a_missing_one():
    found = by_figure({"speed": SPEED, "http": None})
    assert found["http: not measured"]["result"] == "FAIL"


def test_the_http_figures_are_read_from_what_http_speed_prints():
    printed = (
        "  GET /healthz          296.7 req/s   p50   17.4 ms   p99  257.6 ms\n"
        "  POST /v1/explain       51.7 req/s   p50   69.9 ms   p99  985.4 ms\n"
    )
    found = {m["name"]: float(m["rps"]) for m in bench._HTTP_LINE.finditer(printed)}
    assert found == {"GET /healthz": 296.7, "POST /v1/explain": 51.7}


def test_the_table_has_one_line_per_figure_under_a_header():
    lines = bench.table(bench.rows({"speed": SPEED})).splitlines()
    assert lines[0].split() == ["figure", "value", "baseline", "ratio", "goal", "result"]
    assert len(lines) == 2 + len(bench.rows({"speed": SPEED}))


def test_the_machine_it_ran_on_is_named():
    text = "\n".join(bench.machine())
    for what in ("CPU:", "RAM:", "kernel", "Python:", "commit:", "load:"):
        assert what in text
