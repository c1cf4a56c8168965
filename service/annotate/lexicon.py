"""Whole-word, longest-match lookup of mapping literals over a token list.

Each literal is stored as its token sequence, so matching is independent of case (unless
the entry asks otherwise), hyphens, slashes and spacing. At each position the longest
literal wins and its tokens are consumed, so "pericardial effusion" beats "effusion" and
"no change" beats "no".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Generic, NamedTuple, TypeVar

from .tokens import Token, literal_key

V = TypeVar("V")


class Hit(NamedTuple, Generic[V]):
    first: int  # index of the first token
    last: int  # index one past the last token
    values: tuple[V, ...]


class Lexicon(Generic[V]):
    def __init__(self, literals: Iterable[tuple[str, V, bool]]):
        """``literals``: (surface form, value, case_sensitive) triples."""
        folded: dict[tuple[str, ...], list[V]] = defaultdict(list)
        exact: dict[tuple[str, ...], list[V]] = defaultdict(list)
        for literal, value, case_sensitive in literals:
            key = literal_key(literal, case_sensitive=case_sensitive)
            table = exact if case_sensitive else folded
            if key and value not in table[key]:
                table[key].append(value)
        self._folded = {k: tuple(v) for k, v in folded.items()}
        self._exact = {k: tuple(v) for k, v in exact.items()}
        # first token -> the literal lengths that start with it, longest first
        sizes: dict[tuple[bool, str], set[int]] = defaultdict(set)
        for key in self._folded:
            sizes[(False, key[0])].add(len(key))
        for key in self._exact:
            sizes[(True, key[0])].add(len(key))
        self._sizes = {k: sorted(v, reverse=True) for k, v in sizes.items()}

    def __len__(self) -> int:
        return len(self._folded) + len(self._exact)

    def find(self, tokens: list[Token], stop: frozenset[int] = frozenset()) -> list[Hit[V]]:
        """Greedy longest matches, left to right; no match covers a token in ``stop``."""
        hits: list[Hit[V]] = []
        n = len(tokens)
        i = 0
        sizes_of = self._sizes
        while i < n:
            tok = tokens[i]
            folded = sizes_of.get((False, tok.norm), ())
            exact = sizes_of.get((True, tok.text), ())
            if i in stop or not (folded or exact):
                i += 1
                continue
            limit = n - i
            if stop:
                limit = min(
                    limit,
                    next((k for k in range(1, limit + 1) if i + k - 1 in stop), limit + 1) - 1,
                )
            for size in (
                sorted({*folded, *exact}, reverse=True) if folded and exact else (folded or exact)
            ):
                if size > limit:
                    continue
                window = tokens[i : i + size]
                values = (folded and self._folded.get(tuple(t.norm for t in window))) or (
                    exact and self._exact.get(tuple(t.text for t in window))
                )
                if values:
                    hits.append(Hit(i, i + size, values))
                    i += size
                    break
            else:
                i += 1
        return hits
