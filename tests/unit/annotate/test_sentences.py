from service.annotate.sentences import items, sentences


def _items(text):
    return [text[a:b] for a, b in items(text, 0, len(text))]


def _sentences(text):
    return [text[a:b] for a, b in sentences(text, 0, len(text))]


def test_numbered_items_on_lines():
    assert _items("1. No effusion.\n2. Stable nodule.") == ["No effusion.", "Stable nodule."]


def test_numbered_items_with_parentheses_and_no_periods():
    assert _items("1) Cardiomegaly\n2) No effusion") == ["Cardiomegaly", "No effusion"]


def test_inline_numbered_items():
    assert _items("1. No effusion. 2. Stable nodule. 3. Mild atelectasis") == [
        "No effusion.",
        "Stable nodule.",
        "Mild atelectasis",
    ]


def test_single_numbered_item_loses_its_marker():
    assert _items("1. No acute findings.") == ["No acute findings."]


def test_abbreviations_decimals_and_levels_do_not_split():
    text = (
        "Discussed with Dr. Lee at 14:32. Approx. 2.5 x 1.2 cm cyst at L4-L5 vs. "
        "hematoma, e.g. seroma. Next sentence."
    )
    assert _sentences(text) == [
        "Discussed with Dr. Lee at 14:32.",
        "Approx. 2.5 x 1.2 cm cyst at L4-L5 vs. hematoma, e.g. seroma.",
        "Next sentence.",
    ]


def test_dates_with_month_abbreviations_do_not_split():
    assert _sentences("Compared with Jan. 5, 2024 exam. Unchanged.") == [
        "Compared with Jan. 5, 2024 exam.",
        "Unchanged.",
    ]


def test_lines_without_periods_are_sentences_but_wrapped_lines_are_not():
    assert _sentences("Cardiomegaly\nNo effusion\nMild bibasilar\natelectasis") == [
        "Cardiomegaly",
        "No effusion",
        "Mild bibasilar\natelectasis",
    ]


def test_bullets():
    assert _items("- Mild spondylosis\n- No fracture") == ["Mild spondylosis", "No fracture"]
