"""Word tokens with character offsets, the unit every matcher works on.

Hyphens, slashes and spaces all separate tokens, so "ground-glass", "ground glass" and
"ground/glass" match the same entry, and "L4-L5" is two tokens.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Runs of letters and digits ("L4", "T2", "12mm"), an apostrophe inside a word
# ("patient's"), and decimal numbers as one token ("2.5", "1,000").
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['’][^\W_]+)*")


class Token(NamedTuple):
    text: str
    start: int
    end: int
    norm: str  # lower case, for case-insensitive lookup


def tokenize(text: str, offset: int = 0) -> list[Token]:
    return [
        Token(m.group(), m.start() + offset, m.end() + offset, m.group().lower())
        for m in _TOKEN.finditer(text)
    ]


def literal_key(literal: str, *, case_sensitive: bool = False) -> tuple[str, ...]:
    """The token sequence a mapping literal matches, as the lexicon stores it."""
    toks = tokenize(literal)
    return tuple(t.text if case_sensitive else t.norm for t in toks)
