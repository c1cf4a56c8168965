"""Properties of the engine on generated text (hypothesis): it never fails on text it is
given except with BadInput, every offset it returns lies inside the analysed text and
quotes it exactly, and the same input always gives the same output.

Texts are drawn two ways: arbitrary Unicode (control characters, surrogate-free planes,
combining marks, RTL), and report-like text assembled from the words the engine reacts
to (section headers, hedges, negations, RADS categories, numbers, list markers) with
arbitrary junk between them, so the matching paths are exercised, not only the misses.
Derandomized: the same examples every run.
"""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from service.annotate import sentences
from service.annotate.source_text import decode_bytes, from_plain, from_report, normalise
from service.errors import BadInput

EXAMPLES = 150
ENGINE_EXAMPLES = 500  # the whole engine: what patients read comes from here
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

WORDS = [
    "IMPRESSION:",
    "IMPRESSION",
    "FINDINGS:",
    "HISTORY:",
    "INDICATION:",
    "COMPARISON:",
    "CONCLUSION:",
    "ADDENDUM:",
    "Impression",
    "1.",
    "2)",
    "3.",
    "-",
    "*",
    "•",
    "no",
    "No",
    "without",
    "negative for",
    "cannot be excluded",
    "may represent",
    "likely",
    "consistent with",
    "suspicious for",
    "unlikely",
    "rule out",
    "history of",
    "mother had",
    "if",
    "stable",
    "unchanged",
    "recommend",
    "follow-up",
    "in 6 months",
    "pneumothorax",
    "pneumonia",
    "nodule",
    "mass",
    "atelectasis",
    "effusion",
    "fracture",
    "hemorrhage",
    "appendicitis",
    "cyst",
    "adrenal",
    "renal",
    "liver",
    "lesion",
    "BI-RADS 4A",
    "BI-RADS",
    "Lung-RADS 4B",
    "TI-RADS TR4",
    "LI-RADS LR-5",
    "PI-RADS 3",
    "Bosniak IIF",
    "O-RADS 4",
    "category",
    "5 mm",
    "1.2 cm",
    "3.4 x 2.1 cm",
    "10 HU",
    "right",
    "left",
    "upper lobe",
    "Dr.",
    "Smith",
    "communicated to",
    "at 10:42",
    "clinical correlation recommended",
    "no acute findings",
    "no acute cardiopulmonary process",
    ".",
    ",",
    ";",
    ":",
    "(",
    ")",
    "\n",
    "\n\n",
    "  ",
    "\t",
]
report_like = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=80).map(
    " ".join
)
any_text = st.text(max_size=400)
texts = st.one_of(report_like, any_text)


def _spans(node, text: str, path: str = ""):
    """Every object with start/end in the output, with the field that quotes the text."""
    if isinstance(node, dict):
        if isinstance(node.get("start"), int) and isinstance(node.get("end"), int):
            yield path, node
        for key, value in node.items():
            yield from _spans(value, text, f"{path}.{key}")
    elif isinstance(node, list):
        for value in node:
            yield from _spans(value, text, f"{path}[]")


def assert_offsets_valid(doc: dict) -> int:
    text = doc["text"]
    count = 0
    for path, span in _spans(doc, text):
        start, end = span["start"], span["end"]
        assert 0 <= start <= end <= len(text), (path, start, end, len(text))
        quoted = text[start:end]
        # items[].sentences[].text is the lay sentence; everything else quotes the report
        if isinstance(span.get("text"), str) and not path.endswith("sentences[]"):
            assert span["text"] == quoted, (path, span["text"], quoted)
        if isinstance(span.get("term"), str):
            assert span["term"] == quoted, (path, span["term"], quoted)
        count += 1
    return count


@settings(SETTINGS, max_examples=ENGINE_EXAMPLES)
@given(text=texts, lang=st.sampled_from(["en", "es"]))
def test_explain_never_crashes_keeps_offsets_inside_the_text_and_is_deterministic(
    explainer, text, lang
):
    try:
        doc = explainer.explain(from_plain(text), lang)
    except BadInput:
        event("BadInput")
        return
    event(f"findings: {'some' if doc['findings'] else 'none'}")
    assert doc["text"] == normalise(text) or doc["text"] == normalise(text).strip()
    assert_offsets_valid(doc)
    assert explainer.explain(from_plain(text), lang) == doc


@SETTINGS
@given(text=texts)
def test_sections_lie_inside_the_text_in_order(explainer, text):
    text = normalise(text)
    found = explainer.sections.find(text)
    previous_end = 0
    for section in found:
        assert previous_end <= section.start <= section.end <= len(text)
        assert not text[section.start : section.end][:1].isspace()
        previous_end = section.end


@SETTINGS
@given(text=texts, data=st.data())
def test_sentences_and_items_are_trimmed_spans_inside_their_range(text, data):
    text = normalise(text)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    for split in (sentences.sentences, sentences.items):
        spans = split(text, start, end)
        for span in spans:
            assert start <= span.start < span.end <= end, (split.__name__, span)
            assert text[span.start : span.end].strip(), (split.__name__, span)
        assert spans == split(text, start, end)


@SETTINGS
@given(text=any_text)
def test_from_plain_leaves_no_control_characters_but_tab_and_newline(text):
    out = from_plain(text).text
    assert "\r" not in out
    assert all(ch in "\t\n" or not (ch < " " or ch == "\x7f") for ch in out)


CHARSETS = [
    None,
    "utf-8",
    "UTF-8",
    "latin-1",
    "cp1252",
    "utf-16",
    "ascii",
    "shift_jis",
    "iso-8859-6",
    "koi8-r",
    "nonsense-charset",
    "utf-32",
]


@SETTINGS
@given(data=st.binary(max_size=600), charset=st.sampled_from(CHARSETS))
def test_decoding_any_bytes_in_any_declared_charset_gives_text_or_bad_input(data, charset):
    try:
        out = decode_bytes(data, charset)
    except BadInput:
        return
    assert isinstance(out, str)


media_types = st.sampled_from(
    [
        "text/plain",
        "text/html",
        "text/plain; charset=utf-16",
        "text/plain;charset=latin-1",
        "application/xhtml+xml",
        "text/plain; charset=bogus",
        "application/octet-stream",
        "TEXT/PLAIN",
        None,
    ]
)
attachment = st.fixed_dictionaries(
    {},
    optional={
        "contentType": media_types,
        "data": st.one_of(
            st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()),
            report_like.map(lambda t: base64.b64encode(t.encode()).decode()),
            st.text(max_size=20),
        ),
    },
)
reports = st.fixed_dictionaries(
    {"resourceType": st.just("DiagnosticReport")},
    optional={
        "presentedForm": st.lists(attachment, max_size=3),
        "conclusion": texts,
        "text": st.fixed_dictionaries(
            {"div": st.one_of(texts, texts.map(lambda t: f"<div>{t}</div>"))}
        ),
    },
)


@settings(SETTINGS, max_examples=ENGINE_EXAMPLES)
@given(report=reports, lang=st.sampled_from(["en", "es"]))
def test_reports_explain_or_fail_with_bad_input_and_offsets_stay_valid(explainer, report, lang):
    try:
        source = from_report(report)
        doc = explainer.explain(source, lang)
    except BadInput:
        event("BadInput")
        return
    event(f"explained from {source.origin.split('[')[0]}")
    assert doc["text"] == source.text
    assert_offsets_valid(doc)
    assert explainer.explain(from_report(report), lang) == doc
