"""Word tokens with character offsets, the unit every matcher works on.

Hyphens, slashes and spaces all separate tokens, so "ground-glass", "ground glass" and
"ground/glass" match the same entry, and "L4-L5" is two tokens. Tokens are kept as
parallel lists (text, lower case, start, end): building them with C-level list
operations is several times faster than one object per token, and tokenizing is the
hottest step of the engine.
"""

from __future__ import annotations

import re
from bisect import bisect_left

# Runs of letters and digits ("L4", "T2", "12mm"), an apostrophe inside a word
# ("patient's"), and decimal numbers as one token ("2.5", "1,000").
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+|(?<=\d)[.,]\d+)*")


class Tokens:
    """The tokens of text[start:end]: their lower case and text, with offsets on demand.

    Offsets index into the whole ``text``. Trigger lookup needs only the lower-case
    words, so the original spellings and the offsets are computed the first time they
    are asked for. For ASCII text (nearly every report) lower-casing the text first and
    tokenizing that gives the same tokens; other text is lowered token by token.
    """

    __slots__ = ("text", "start", "end", "norms", "_texts", "_starts", "_ends")

    def __init__(self, text: str, start: int, end: int, norms: list[str] | None = None):
        self.text, self.start, self.end = text, start, end
        self._texts: list[str] | None = None
        if norms is None:
            if text.isascii():  # lower the slice, not the text: many Tokens share one text
                norms = _TOKEN.findall(text[start:end].lower())
            else:
                self._texts = _TOKEN.findall(text, start, end)
                norms = [t.lower() for t in self._texts]
        self.norms: list[str] = norms
        self._starts: list[int] | None = None
        self._ends: list[int] | None = None

    @classmethod
    def around(
        cls, text: str, start: int, end: int, span: tuple[int, int]
    ) -> tuple[Tokens, int, int]:
        """Tokens of text[start:end] and the token range of ``span``, in one pass."""
        if not text.isascii():
            tokens = cls(text, start, end)
            first = tokens.count_before(span[0])
            return tokens, first, first + tokens.count_between(span[0], span[1])
        low = text[start:end].lower()  # the slice: lowering all the text per call is quadratic
        a, b = span[0] - start, span[1] - start
        before = _TOKEN.findall(low, 0, a)
        inside = _TOKEN.findall(low, a, b)
        first = len(before)
        norms = before + inside + _TOKEN.findall(low, b)
        return cls(text, start, end, norms), first, first + len(inside)

    def __len__(self) -> int:
        return len(self.norms)

    @property
    def texts(self) -> list[str]:
        if self._texts is None:
            self._texts = _TOKEN.findall(self.text, self.start, self.end)
        return self._texts

    def _spans(self) -> None:
        spans = [m.span() for m in _TOKEN.finditer(self.text, self.start, self.end)]
        self._starts = [a for a, _ in spans]
        self._ends = [b for _, b in spans]

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._spans()
        return self._starts

    @property
    def ends(self) -> list[int]:
        if self._ends is None:
            self._spans()
        return self._ends

    def count_before(self, pos: int) -> int:
        """How many tokens start before character ``pos`` (the index of the token at pos).

        A binary search of the token starts: counting by tokenizing text[start:pos] again
        for every mention costs time quadratic in the text when a sentence is long."""
        if pos > self.end:
            return len(_TOKEN.findall(self.text, self.start, pos))
        return bisect_left(self.starts, pos)

    def count_between(self, start: int, end: int) -> int:
        return len(_TOKEN.findall(self.text, max(self.start, start), min(self.end, end)))


def tokenize(text: str, start: int = 0, end: int | None = None) -> Tokens:
    """The tokens of text[start:end]; offsets index into ``text``."""
    return Tokens(text, start, len(text) if end is None else end)


def literal_key(literal: str, *, case_sensitive: bool = False) -> tuple[str, ...]:
    """The token sequence a mapping literal matches, as the lexicon stores it."""
    toks = tokenize(literal)
    return tuple(toks.texts if case_sensitive else toks.norms)
