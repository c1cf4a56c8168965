"""Behaviour of the assertion engine on the constructions that matter most.

The labelled set in tests/data/assertions/ measures accuracy; these tests pin down the
rules one at a time so a regression names the construction it broke.
"""

import pytest


def _assert(explainer, text, target, occurrence=0):
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(target, start + 1)
    return explainer.context.assert_one(text, start, start + len(target))


@pytest.mark.parametrize(
    "text,target,expected",
    [
        ("No pneumothorax.", "pneumothorax", "absent"),
        ("No focal consolidation, pleural effusion or pneumothorax.", "pneumothorax", "absent"),
        ("Pneumothorax is not seen.", "Pneumothorax", "absent"),
        ("There is no evidence of pulmonary embolism.", "pulmonary embolism", "absent"),
        ("Negative for deep venous thrombosis.", "deep venous thrombosis", "absent"),
        ("Without evidence of fracture.", "fracture", "absent"),
        ("Pneumonia has resolved.", "Pneumonia", "absent"),
        ("Interval removal of the chest tube.", "chest tube", "absent"),
        ("No new or enlarging nodules.", "nodules", "absent"),
    ],
)
def test_negations_are_absent(explainer, text, target, expected):
    assert _assert(explainer, text, target).assertion == expected


@pytest.mark.parametrize(
    "text,target",
    [
        ("No significant change in the right lower lobe nodule.", "nodule"),
        ("No interval change in the small pericardial effusion.", "pericardial effusion"),
        ("Not only cardiomegaly but also edema.", "cardiomegaly"),
        ("No effusion, but there is mild atelectasis.", "atelectasis"),
        ("Mild cardiomegaly without pulmonary edema.", "cardiomegaly"),
        ("No pneumothorax; small left pleural effusion.", "pleural effusion"),
        ("No effusion. Stable 4 mm nodule.", "nodule"),
        ("Findings consistent with pneumonia.", "pneumonia"),
    ],
)
def test_pseudo_triggers_and_scope_ends_leave_findings_present(explainer, text, target):
    assert _assert(explainer, text, target).assertion == "present"


@pytest.mark.parametrize(
    "text,target,certainty",
    [
        ("Malignancy cannot be excluded.", "Malignancy", "possible"),
        ("Atelectasis versus pneumonia.", "Atelectasis", "possible"),
        ("Atelectasis versus pneumonia.", "pneumonia", "possible"),
        ("Opacity in the left base, likely atelectasis.", "atelectasis", "likely"),
        ("Pneumonia is unlikely.", "Pneumonia", "unlikely"),
        ("Findings suspicious for malignancy.", "malignancy", "possible"),
        ("Possible small effusion.", "effusion", "possible"),
    ],
)
def test_hedges_are_possible_with_their_certainty(explainer, text, target, certainty):
    got = _assert(explainer, text, target)
    assert (got.assertion, got.certainty) == ("possible", certainty)


def test_likely_reads_forward_when_a_finding_follows(explainer):
    assert (
        _assert(explainer, "Opacity in the left base, likely atelectasis.", "Opacity").assertion
        == "present"
    )


def test_nearest_trigger_wins_within_a_dimension(explainer):
    text = "Possible small effusion without pneumothorax."
    assert _assert(explainer, text, "pneumothorax").assertion == "absent"
    assert _assert(explainer, text, "effusion").assertion == "possible"


def test_hypothetical_conditional_and_family(explainer):
    assert (
        _assert(
            explainer, "If symptoms persist, MRI could exclude occult fracture.", "fracture"
        ).assertion
        == "hypothetical"
    )
    assert (
        _assert(explainer, "The inguinal hernia enlarges with Valsalva.", "hernia").assertion
        == "conditional"
    )
    assert (
        _assert(explainer, "Family history of breast cancer.", "breast cancer").assertion
        == "associated_with_someone_else"
    )


def test_history_is_a_separate_flag(explainer):
    got = _assert(explainer, "History of stroke.", "stroke")
    assert (got.assertion, got.historical) == ("present", True)
    got = _assert(explainer, "Status post cholecystectomy.", "cholecystectomy")
    assert (got.assertion, got.historical) == ("present", True)
    got = _assert(explainer, "Small right pleural effusion.", "pleural effusion")
    assert got.historical is False


def test_no_inside_other_words_does_not_negate(explainer):
    assert (
        _assert(explainer, "Nonobstructing nodule is known to be benign.", "nodule").assertion
        == "present"
    )
