"""RADS categories, breast density and guideline follow-up inside the Explanation."""

MAMMO = """EXAM: MAMMO DIAGNOSTIC LEFT
FINDINGS: The breasts are heterogeneously dense, which may obscure small masses.
IMPRESSION:
Left breast: Suspicious irregular mass at 2 o'clock. BI-RADS 4B: Moderate suspicion for malignancy.
Right breast: BI-RADS 1: Negative.
"""


def test_each_breast_gets_its_category_laterality_meaning_and_lay_text(explain):
    doc = explain(MAMMO)
    got = [(r["system"], r["category"], r["laterality"]) for r in doc["rads"]]
    assert got == [("BI-RADS", "4B", "left"), ("BI-RADS", "1", "right")]
    four_b = doc["rads"][0]
    assert four_b["likelihood"] and four_b["management"] and four_b["guideline"]["year"]
    assert four_b["follow_up"]["action"] == "tissue_sampling"
    [item] = [i for i in doc["items"] if four_b["mapping_id"] in i["mapping_ids"]]
    assert four_b["lay"] in item["lay"] and item["start"] <= four_b["start"] < item["end"]


def test_suspicious_category_raises_urgency_and_adds_a_question(explain):
    doc = explain(MAMMO)
    assert doc["urgency"] == "urgent"
    assert any("BI-RADS" in q["text"] for q in doc["questions"])


def test_benign_category_alone_stays_routine(explain):
    doc = explain("EXAM: MAMMO SCREENING\nIMPRESSION: BI-RADS 2: Benign.")
    assert doc["urgency"] == "routine" and doc["rads"][0]["category"] == "2"


def test_breast_density_is_reported_with_the_versioned_fda_statement(explain):
    density = explain(MAMMO)["breast_density"]
    assert density["category"] == "c" and density["dense"] is True
    assert density["fda_statement"]["status"] == "unverified"
    assert density["fda_statement"]["version"]


def test_hedged_and_negated_categories_are_not_reported_as_current(explain):
    doc = explain("IMPRESSION: LR-3 vs LR-4 observation in segment 6. No LR-5 observation.")
    assert doc["rads"] == []
    reasons = {r["reason"] for r in doc["rads_not_current"]}
    assert reasons == {"hedged range", "absent"}


def test_tirads_points_are_a_level_and_size_decides_the_next_step(explain):
    doc = explain(
        "EXAM: US THYROID\nIMPRESSION: 1.8 cm solid hypoechoic nodule, ACR TI-RADS 5 points."
    )
    [tr] = doc["rads"]
    assert (tr["category"], tr["points"]) == ("TR4", 5)
    assert tr["follow_up"]["action"] == "fna" and tr["follow_up"]["inputs"]["size_cm"] == 1.8
    assert doc["follow_up"] == []  # a thyroid nodule is not a Fleischner lung nodule


def test_tirads_without_size_says_it_depends_on_size(explain):
    doc = explain("EXAM: US THYROID\nIMPRESSION: Solid nodule, TR4.")
    assert doc["rads"][0]["follow_up"]["depends_on"] == ["nodule size"]
    assert "does not give" in doc["items"][0]["lay"]


def test_fleischner_follow_up_with_unknown_risk_gives_both_options(explain):
    doc = explain(
        "EXAM: CT CHEST\nHISTORY: 60-year-old with cough.\nIMPRESSION: 10 mm solid nodule in "
        "the right upper lobe in a patient with multiple other nodules."
    )
    [fu] = doc["follow_up"]
    assert fu["basis"] == "Fleischner Society 2017"
    assert fu["inputs"]["size_mm"] == 10 and fu["inputs"]["multiplicity"] == "multiple"
    assert [o["risk"] for o in fu["options"]] == ["low", "high"]
    assert any("smoking" in d for d in fu["depends_on"])


def test_fleischner_uses_stated_smoking_history(explain):
    doc = explain(
        "EXAM: CT CHEST\nHISTORY: 70-year-old former smoker, 40 pack-years.\n"
        "IMPRESSION: 5 mm solid nodule in the left lower lobe."
    )
    [fu] = doc["follow_up"]
    assert (fu["action"], fu["interval"]) == ("optional_ct", "12 months")


def test_fleischner_is_not_applied_to_screening_or_known_cancer(explain):
    for text in (
        "EXAM: LDCT LUNG CANCER SCREENING\nIMPRESSION: 5 mm solid nodule. Lung-RADS 2.",
        "EXAM: CT CHEST\nHISTORY: Known colon cancer, restaging.\nIMPRESSION: 5 mm nodule in the "
        "right lower lobe.",
    ):
        assert explain(text)["follow_up"] == [], text


def test_absent_nodule_gets_no_follow_up(explain):
    doc = explain("EXAM: CT CHEST\nIMPRESSION: No pulmonary nodule larger than 4 mm.")
    assert doc["follow_up"] == []


def test_known_biopsy_proven_malignancy_and_post_procedure_wording(explain):
    doc = explain("EXAM: MAMMO DIAGNOSTIC\nIMPRESSION: Assessment: Known Biopsy-Proven Malignancy.")
    assert [(r["system"], r["category"]) for r in doc["rads"]] == [("BI-RADS", "6")]
    doc = explain(
        "EXAM: MAMMO\nIMPRESSION: Post-procedure mammogram for marker placement. "
        "Clip in expected position."
    )
    assert doc["rads"] == []
    assert "marker clip" in doc["items"][0]["lay"]


def test_rads_lay_text_reads_at_grade_6(mappings):
    import statistics

    import textstat

    grades = [textstat.flesch_kincaid_grade(e["lay"]["en"]) for e in mappings.rads]
    assert statistics.median(grades) <= 6.0 and max(grades) <= 8.0, max(grades)
