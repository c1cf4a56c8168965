"""The FHIR boundary on generated JSON (hypothesis): validating a DiagnosticReport, reading
its text and parsing Subscription notifications never fail with anything but the
project's own errors (a 4xx problem over HTTP), whatever shape the JSON has.
Derandomized: the same examples every run."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.annotate.source_text import from_report
from service.errors import BadInput
from service.fhir import notifications
from service.fhir.report import validate_report

BASE = "https://ehr.example/fhir"
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "id",
    "status",
    "code",
    "subject",
    "presentedForm",
    "conclusion",
    "text",
    "meta",
    "category",
    "entry",
    "notificationEvent",
    "focus",
    "reference",
    "resource",
    "contentType",
    "data",
    "div",
    "url",
    "resourceType",
]
KINDS = ["DiagnosticReport", "Bundle", "SubscriptionStatus", "Patient", "", None, 7]
fhir_like = st.recursive(
    st.one_of(
        scalars,
        st.sampled_from(KINDS),
        st.sampled_from(
            [
                f"{BASE}/DiagnosticReport/1",
                "DiagnosticReport/2",
                "http://169.254.169.254/x",
                "..",
                "text/plain",
                "text/html",
                "aGVsbG8=",
                "<div>IMPRESSION: no effusion</div>",
                "final",
            ]
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5),
    ),
    max_leaves=25,
)
resources = st.one_of(
    json_values,
    fhir_like,
    st.builds(
        lambda kind, rest: {**rest, "resourceType": kind},
        st.sampled_from(["DiagnosticReport", "Bundle"]),
        st.dictionaries(st.sampled_from(FIELDS), fhir_like, max_size=5),
    ),
)


@SETTINGS
@given(data=resources)
def test_validate_report_accepts_or_raises_bad_input(data):
    try:
        report = validate_report(data)
    except BadInput:
        return
    assert report is data
    try:
        source = from_report(report)
    except BadInput:
        return
    assert isinstance(source.text, str)


@SETTINGS
@given(data=resources)
def test_notification_json_of_any_shape_is_parsed_or_refused_with_bad_input(data):
    try:
        note = notifications.parse(json.dumps(data).encode(), BASE)
    except BadInput:
        return
    for rid in note.report_ids:
        assert rid and "/" not in rid and set(rid) != {"."}


@SETTINGS
@given(body=st.binary(max_size=200))
def test_notification_bytes_are_parsed_or_refused_with_bad_input(body):
    try:
        note = notifications.parse(body, BASE)
    except BadInput:
        return
    assert note.resync or all(note.report_ids)
