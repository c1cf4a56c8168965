"""Find a report's sections and the impression within them.

A header counts at the start of a line when a colon or dash follows it, when it stands
alone on its line, or when it is written in capitals and text follows on the same line
("IMPRESSION No acute process"). Header words come from ``mappings/sections.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Sections whose text is explained to the patient, in report order.
EXPLAINED = ("impression", "addendum", "recommendation", "communication")


@dataclass(frozen=True)
class Section:
    name: str  # canonical name from mappings/sections.yaml
    header: str  # the header as written
    start: int  # first character of the content (after the header)
    end: int  # one past the last content character, trailing whitespace trimmed


class SectionFinder:
    def __init__(self, entries: list[dict]):
        self._canonical: dict[str, str] = {}
        for entry in entries:
            for header in entry["headers"]:
                self._canonical[self._key(header)] = entry["section"]
        words = sorted(self._canonical, key=len, reverse=True)
        alternatives = "|".join(r"[\s-]+".join(map(re.escape, w.split())) for w in words)
        self._pattern = re.compile(
            rf"^[ \t]*(?:[#*>_=]+[ \t]*)?(?P<header>{alternatives})"
            r"(?:[ \t]*\(s\))?[ \t]*\**[ \t]*"
            r"(?P<after>:|[-–—](?=[ \t])|(?=[ \t]*$)|(?=[ \t]+\S))",
            re.IGNORECASE | re.MULTILINE,
        )

    @staticmethod
    def _key(header: str) -> str:
        return " ".join(re.split(r"[\s-]+", header.lower().strip()))

    def find(self, text: str) -> list[Section]:
        heads = []
        for m in self._pattern.finditer(text):
            header = m.group("header")
            # Without a colon or dash, only a capitalised header alone on its line, or
            # an all-capitals header before text, counts: "Findings suggest ..." is prose.
            line_end = text.find("\n", m.end())
            rest = text[m.end() : line_end if line_end >= 0 else len(text)]
            name = self._canonical[self._key(header)]
            if not m.group("after") and name != "signature":
                alone = not rest.strip()
                if not (header.isupper() or (alone and header[:1].isupper())):
                    continue
                if not alone and not header.isupper():
                    continue
            heads.append((m.start(), m.end(), name, header))
        sections = []
        for i, (_, content_start, name, header) in enumerate(heads):
            end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
            start = content_start
            while start < end and text[start].isspace():
                start += 1
            stop = end
            while stop > start and text[stop - 1].isspace():
                stop -= 1
            sections.append(Section(name, header, start, stop))
        return sections


def impression_of(sections: list[Section]) -> Section | None:
    """The first non-empty impression section, if any."""
    return next((s for s in sections if s.name == "impression" and s.end > s.start), None)
