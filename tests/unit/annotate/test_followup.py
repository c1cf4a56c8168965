"""Every Fleischner 2017 and ACR TI-RADS threshold, at its exact boundary."""

import pytest

from service import mappings
from service.annotate.followup import (
    Measurement,
    NoduleFacts,
    fleischner_follow_up,
    fleischner_gate,
    measurements,
    nodule_facts,
    smoking_risk,
    tirads_follow_up,
    tirads_level,
)

FLEISCHNER = mappings.load_kind("fleischner")
TIRADS = mappings.load_kind("tirads")
TEMPLATES = {e["id"]: e["text"] for e in mappings.load_kind("templates")}


def _solid(size_mm, multiplicity="single"):
    return NoduleFacts(size_mm, "solid", multiplicity, True)


@pytest.mark.parametrize(
    "size,risk,action,interval",
    [
        (5, "low", "none", None),
        (5, "high", "optional_ct", "12 months"),
        (6, "low", "ct", "6-12 months"),
        (6, "high", "ct", "6-12 months"),
        (8, "low", "ct", "6-12 months"),
        (8, "high", "ct", "6-12 months"),
        (9, "low", "ct_pet_or_sampling", "3 months"),
        (9, "high", "ct_pet_or_sampling", "3 months"),
    ],
)
def test_single_solid_nodule_bands(size, risk, action, interval):
    got = fleischner_follow_up(_solid(size), risk, FLEISCHNER)
    assert (got.action, got.interval) == (action, interval)


@pytest.mark.parametrize(
    "size,risk,action,interval",
    [
        (5, "low", "none", None),
        (5, "high", "optional_ct", "12 months"),
        (6, "low", "ct", "3-6 months"),
        (8, "high", "ct", "3-6 months"),
        (9, "low", "ct", "3-6 months"),
    ],
)
def test_multiple_solid_nodule_bands(size, risk, action, interval):
    got = fleischner_follow_up(_solid(size, "multiple"), risk, FLEISCHNER)
    assert (got.action, got.interval) == (action, interval)


@pytest.mark.parametrize(
    "kind,multiplicity,size,action,interval",
    [
        ("ground_glass", "single", 5, "none", None),
        ("ground_glass", "single", 6, "ct", "6-12 months"),
        ("part_solid", "single", 5, "none", None),
        ("part_solid", "single", 6, "ct", "3-6 months"),
        ("subsolid", "multiple", 5, "ct", "3-6 months"),
        ("subsolid", "multiple", 6, "ct", "3-6 months"),
    ],
)
def test_subsolid_nodule_bands(kind, multiplicity, size, action, interval):
    got = fleischner_follow_up(NoduleFacts(size, kind, multiplicity, True), None, FLEISCHNER)
    assert (got.action, got.interval) == (action, interval)


@pytest.mark.parametrize(
    "dims,expected",
    [
        ((5.4,), 5),
        ((5.5,), 6),
        ((8.4,), 8),
        ((8.5,), 9),
        ((7, 4), 6),  # mean 5.5 rounds up to 6
        ((6, 5), 6),  # mean 5.5
        ((6, 4), 5),
        ((9, 8, 20), 9),  # the craniocaudal third number is not averaged in
    ],
)
def test_fleischner_size_is_the_rounded_mean_of_long_and_short_axes(dims, expected):
    assert Measurement(dims, 0, 0).fleischner_mm == expected


def test_unknown_risk_gives_both_options_and_says_what_it_depends_on():
    got = fleischner_follow_up(_solid(7), None, FLEISCHNER, templates=TEMPLATES)
    assert got.action == "depends_on_risk"
    assert [o["risk"] for o in got.options] == ["low", "high"]
    assert any("smoking" in d for d in got.depends_on)
    assert got.interval is None


def test_unknown_risk_with_the_same_answer_for_both_needs_no_split():
    got = fleischner_follow_up(_solid(9), None, FLEISCHNER, templates=TEMPLATES)
    assert got.action == "ct_pet_or_sampling" and len(got.options) == 1


def test_unstated_nodule_type_is_named_as_an_assumption():
    facts = nodule_facts("4 mm nodule in the right upper lobe.", measurements("4 mm")[0])
    assert facts.nodule_type == "solid" and not facts.type_stated
    got = fleischner_follow_up(facts, "low", FLEISCHNER)
    assert any("nodule type" in d for d in got.depends_on)


def test_nodule_facts_read_type_multiplicity_and_size():
    text = "Multiple ground-glass nodules, the largest 7 x 5 mm."
    facts = nodule_facts(text, measurements(text)[0])
    assert (facts.nodule_type, facts.multiplicity, facts.size_mm) == ("subsolid", "multiple", 6)
    text = "Part-solid nodule measuring 1.2 x 1.0 cm."
    facts = nodule_facts(text, measurements(text)[0])
    assert (facts.nodule_type, facts.multiplicity, facts.size_mm) == ("part_solid", "single", 11)


@pytest.mark.parametrize(
    "report,gate",
    [
        ("EXAM: LDCT lung cancer screening. 5 mm nodule.", "lung cancer screening"),
        ("HISTORY: 30-year-old with cough. 5 mm nodule.", "younger than 35"),
        ("HISTORY: Known breast cancer, restaging. 5 mm nodule.", "cancer"),
        ("HISTORY: Renal transplant recipient. 5 mm nodule.", "immunosuppressed"),
        ("HISTORY: 60-year-old with cough. 5 mm nodule.", None),
    ],
)
def test_fleischner_applicability_gates(report, gate):
    got = fleischner_gate(report)
    assert (got is None) if gate is None else (gate in got)


def test_smoking_history_sets_the_risk():
    assert smoking_risk("60 pack-year smoker") == "high"
    assert smoking_risk("Never smoker.") == "low"
    assert smoking_risk("Cough for 3 weeks.") is None


@pytest.mark.parametrize(
    "points,level",
    [
        (0, "TR1"),
        (1, None),
        (2, "TR2"),
        (3, "TR3"),
        (4, "TR4"),
        (6, "TR4"),
        (7, "TR5"),
        (12, "TR5"),
    ],
)
def test_tirads_points_to_level(points, level):
    assert tirads_level(points, TIRADS) == level


@pytest.mark.parametrize(
    "level,size_cm,action",
    [
        ("TR1", 4.0, "none"),
        ("TR2", 4.0, "none"),
        ("TR3", 1.4, "none"),
        ("TR3", 1.5, "ultrasound_follow_up"),
        ("TR3", 2.4, "ultrasound_follow_up"),
        ("TR3", 2.5, "fna"),
        ("TR4", 0.9, "none"),
        ("TR4", 1.0, "ultrasound_follow_up"),
        ("TR4", 1.4, "ultrasound_follow_up"),
        ("TR4", 1.5, "fna"),
        ("TR5", 0.4, "none"),
        ("TR5", 0.5, "ultrasound_follow_up"),
        ("TR5", 0.9, "ultrasound_follow_up"),
        ("TR5", 1.0, "fna"),
    ],
)
def test_tirads_size_thresholds_are_inclusive(level, size_cm, action):
    assert tirads_follow_up(level, size_cm, TIRADS).action == action


def test_tirads_without_a_size_says_it_depends_on_size():
    got = tirads_follow_up("TR4", None, TIRADS)
    assert got.action == "depends_on_size" and got.depends_on == ["nodule size"]


def test_measurements_read_mm_and_cm():
    assert [m.dims_mm for m in measurements("1.2 x 0.8 x 3 cm and 7 mm")] == [
        (12.0, 8.0, 30.0),
        (7.0,),
    ]
