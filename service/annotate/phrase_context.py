"""Stock phrases whose meaning depends on what is around them.

"Clinical correlation recommended" on its own hands the result back to the ordering
doctor; next to a suspicious mass it asks for prompt follow-up. Such readings are
entries in ``mappings/phrases.yaml`` with ``variant_of`` (the phrases they reread) and
``when`` (what must be in the same sentence, item or report). This module compiles
them; the explainer checks them against what it found, using the shared assertion
rules for the literals, so a negated "no suspicious mass" never counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lexicon import Lexicon


@dataclass(frozen=True)
class Variant:
    entry: dict
    scope: str
    near: Lexicon | None
    rads: dict[str, frozenset[str]]
    meanings: frozenset[str]
    findings: bool
    patterns: tuple[re.Pattern, ...]
    sections: frozenset[str]

    @property
    def id(self) -> str:
        return self.entry["id"]


class PhraseVariants:
    def __init__(self, phrases: list[dict]):
        self._by_base: dict[str, list[Variant]] = {}
        for e in phrases:
            if "variant_of" not in e:
                continue
            when = e["when"]
            near = when.get("near")
            variant = Variant(
                entry=e,
                scope=when["scope"],
                near=Lexicon([(lit, lit, False) for lit in near]) if near else None,
                rads={k: frozenset(v) for k, v in when.get("near_rads", {}).items()},
                meanings=frozenset(when.get("near_meanings", [])),
                findings=bool(when.get("near_findings")),
                patterns=tuple(re.compile(p, re.IGNORECASE) for p in when.get("patterns", [])),
                sections=frozenset(when.get("also_sections", [])),
            )
            for base in e["variant_of"]:
                self._by_base.setdefault(base, []).append(variant)

    def of(self, phrase_id: str) -> list[Variant]:
        return self._by_base.get(phrase_id, [])

    def __bool__(self) -> bool:
        return bool(self._by_base)
