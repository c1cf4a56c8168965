"""Whole-word, longest-match lookup of mapping literals over a token list.

Each literal is stored as its token sequence in a trie, so matching is independent of
case (unless the entry asks otherwise), hyphens, slashes and spacing, and costs one dict
step per token. At each position the longest literal wins and its tokens are consumed,
so "pericardial effusion" beats "effusion" and "no change" beats "no".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, NamedTuple, TypeVar

from .tokens import Tokens, literal_key

V = TypeVar("V")
_END = ""  # the key under which a trie node keeps its values; no token is empty


class Hit(NamedTuple, Generic[V]):
    first: int  # index of the first token
    last: int  # index one past the last token
    values: tuple[V, ...]


def _insert(trie: dict, key: tuple[str, ...], value) -> None:
    node = trie
    for word in key:
        node = node.setdefault(word, {})
    values = node.setdefault(_END, [])
    if value not in values:
        values.append(value)


def _freeze(node: dict, combine) -> None:
    for word, child in node.items():
        if word == _END:
            node[_END] = combine(tuple(child))
        else:
            _freeze(child, combine)


def _longest(trie: dict, words: list[str], i: int, limit: int) -> tuple[int, tuple]:
    """(size, values) of the longest literal starting at words[i], within ``limit`` words."""
    node, best, size = trie, (0, ()), 0
    while size < limit:
        node = node.get(words[i + size])
        if node is None:
            break
        size += 1
        values = node.get(_END)
        if values:
            best = (size, values)
    return best


class Lexicon(Generic[V]):
    def __init__(self, literals: Iterable[tuple[str, V, bool]], combine=tuple):
        """``literals``: (surface form, value, case_sensitive) triples.

        ``combine`` turns the tuple of values that share a literal into what a hit
        carries; callers use it to precompute what they need per literal, once.
        """
        self._folded: dict = {}
        self._exact: dict = {}
        for literal, value, case_sensitive in literals:
            key = literal_key(literal, case_sensitive=case_sensitive)
            if key:
                _insert(self._exact if case_sensitive else self._folded, key, value)
        _freeze(self._folded, combine)
        _freeze(self._exact, combine)

    def __len__(self) -> int:
        def count(node):
            return (_END in node) + sum(count(c) for w, c in node.items() if w != _END)

        return count(self._folded) + count(self._exact)

    def find(self, tokens: Tokens, stop: frozenset[int] = frozenset()) -> list[Hit[V]]:
        """Greedy longest matches, left to right; no match covers a token in ``stop``."""
        norms = tokens.norms
        folded, exact = self._folded, self._exact
        texts = tokens.texts if exact else norms  # original spellings only when needed
        # only positions whose word can start a literal are worth a look
        if exact:
            starts = [i for i, w in enumerate(norms) if w in folded or texts[i] in exact]
        else:
            starts = [i for i, w in enumerate(norms) if w in folded]
        hits: list[Hit[V]] = []
        n = len(norms)
        reached = 0
        for i in starts:
            if i < reached or i in stop:
                continue
            limit = n - i
            if stop:
                limit = next((k for k in range(limit) if i + k in stop), limit)
            # the longest literal in the folded trie (inlined: this is the hot loop)
            node, size, values, k = folded, 0, (), 0
            while k < limit:
                node = node.get(norms[i + k])
                if node is None:
                    break
                k += 1
                if _END in node:
                    size, values = k, node[_END]
            if exact:
                size_exact, values_exact = _longest(exact, texts, i, limit)
                if size_exact > size:
                    size, values = size_exact, values_exact
            if size:
                hits.append(Hit(i, i + size, values))
                reached = i + size
        return hits
