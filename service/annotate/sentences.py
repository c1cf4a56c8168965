"""Split a span of report text into impression items and sentences.

Radiology text defeats naive splitters: "Dr. Lee", "approx. 2.5 cm", "1.2 x 0.8 cm",
"L4-L5", "vs.", dates, times, and numbered lists with no periods. An item is a numbered
or bulleted entry when the text is a list, else a sentence.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Span(NamedTuple):
    start: int
    end: int


# Words after which a period does not end a sentence (compared in lower case).
_ABBREVIATIONS = frozenset(
    [
        "dr",
        "drs",
        "mr",
        "mrs",
        "ms",
        "prof",
        "vs",
        "approx",
        "appr",
        "apprx",
        "e.g",
        "i.e",
        "etc",
        "fig",
        "figs",
        "no",
        "nos",
        "st",
        "jr",
        "sr",
        "ca",
        "cf",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "a.m",
        "p.m",
        "am",
        "pm",
        "hx",
        "dx",
        "sx",
        "rx",
        "tx",
        "fx",
        "s/p",
        "pt",
        "pts",
        "lt",
        "rt",
        "bilat",
        "est",
        "incl",
        "max",
        "min",
    ]
)

# A list marker at the start of a line: "1.", "1)", "(1)", "#1", "-", "*", "•".
_MARKER = re.compile(r"^[ \t]*(?:\(?\d{1,2}[.)](?!\d)|#\d{1,2}\b|[-*•·])[ \t]+", re.MULTILINE)
# An inline numbered list: "1. No effusion. 2. Stable nodule." needs "1." at the start.
_INLINE_NUMBER = re.compile(r"(?:(?<=^)|(?<=[.;:]\s)|(?<=[.;:]))\s*(\d{1,2})[.)]\s+(?=[A-Za-z])")

# (?<![.!?]): a run of punctuation is tried from its first character only; tried from each
# of its characters, "....." without a space after it costs time quadratic in its length
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]+[\"')\]]*(?=\s)|\n[ \t]*\n")
_NEXT_NON_SPACE = re.compile(r"\S")


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and (text[start].isspace() or text[start] in "-*•·"):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def _marker_items(text: str, start: int, end: int) -> list[Span] | None:
    region = text[start:end]
    marks = [m for m in _MARKER.finditer(region)]
    if len(marks) >= 2:
        bounds = [start + m.start() for m in marks]
        if bounds[0] > start and text[start : bounds[0]].strip():
            bounds.insert(0, start)
        bounds.append(end)
        items = []
        for a, b in zip(bounds, bounds[1:], strict=False):
            m = _MARKER.match(text, a)
            content_start = m.end() if m and m.start() == a else a
            span = _trim(text, content_start, b)
            if span:
                items.append(span)
        return items
    inline = list(_INLINE_NUMBER.finditer(region))
    numbers = [int(m.group(1)) for m in inline]
    if len(inline) >= 2 and numbers == list(range(1, len(numbers) + 1)):
        bounds = [start + m.start() for m in inline] + [end]
        items = []
        for m, b in zip(inline, bounds[1:], strict=False):
            span = _trim(text, start + m.end(), b)
            if span:
                items.append(span)
        return items
    return None


def _is_boundary(text: str, dot_start: int, after: int) -> bool:
    """Is the punctuation at text[dot_start] the end of a sentence?"""
    if text[dot_start] == "\n":
        return True
    word = re.search(r"([\w./]+)$", text[max(0, dot_start - 12) : dot_start])
    prev = word.group(1).lower() if word else ""
    if prev in _ABBREVIATIONS or prev.rstrip(".") in _ABBREVIATIONS:
        # "no." only abbreviates before a number; "approx." etc. never end a sentence here
        nxt = text[after : after + 3].lstrip()
        if prev != "no" or nxt[:1].isdigit():
            return False
    if len(prev) == 1 and prev.isalpha() and text[dot_start] == ".":
        return False  # an initial: "J. Smith", "e. coli"
    nxt = _NEXT_NON_SPACE.search(text, after)  # not text[after:]: a copy per sentence end
    return not nxt or not nxt.group().islower()


_WORD_OR_NEWLINE = re.compile(r"\n|\S+")
_NOT_BLANK = re.compile(r"[^ \t]")
_WRAPPING_WORDS = frozenset(["and", "or", "of", "the", "with", "to", "a", "in"])


def _line_breaks(text: str, start: int, end: int) -> list[int]:
    """Line breaks that end a sentence although no period does: lists without periods.

    One pass over the words, remembering the last one: slicing the text before and after
    every line break instead costs time quadratic in the number of lines."""
    cuts, last_word = [], None
    for m in _WORD_OR_NEWLINE.finditer(text, start, end):
        if m.group() != "\n":
            last_word = m.group()
            continue
        after = _NOT_BLANK.search(text, m.end(), end)
        if last_word is None or after is None:
            continue  # nothing before it, or only spaces after it
        if last_word[-1] in ",;:-(" or last_word.lower() in _WRAPPING_WORDS:
            continue  # a wrapped line
        if after.group().isupper() or after.group().isdigit():
            cuts.append(m.start())
    return cuts


_ANY_BREAK = re.compile(r"[.!?\n]")


def has_break(text: str, start: int = 0, end: int | None = None) -> bool:
    """Could text[start:end] hold more than one sentence? (A final period does not count.)"""
    return _ANY_BREAK.search(text, start, (len(text) if end is None else end) - 1) is not None


def sentences(text: str, start: int, end: int) -> list[Span]:
    if not has_break(text, start, end):
        one = _trim(text, start, end)  # no possible break inside: one sentence
        return [one] if one else []
    cuts = set(_line_breaks(text, start, end))
    for m in _SENTENCE_END.finditer(text, start, end):
        if _is_boundary(text, m.start(), m.end()):
            cuts.add(m.end())
    out, a = [], start
    for cut in sorted(cuts) + [end]:
        span = _trim(text, a, cut)
        if span:
            out.append(span)
        a = cut
    return out


def items(text: str, start: int, end: int) -> list[Span]:
    """Numbered or bulleted entries when the span is a list, else its sentences."""
    listed = _marker_items(text, start, end)
    if listed:
        return listed
    lone = _MARKER.match(text, start)  # "1. No acute findings." with no item 2
    return sentences(text, lone.end() if lone else start, end)
