"""Report text -> Explanation document: sections, mentions, assertions, lay sentences.

``Explainer`` compiles the mapping data once; ``explain`` is then a pure function of
the analysed text and the language. Every lay sentence carries the source span it
explains and the ids of the mapping entries it was built from.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import __version__
from .assertions import (
    ABSENT,
    CONDITIONAL,
    HYPOTHETICAL,
    POSSIBLE,
    PRESENT,
    SOMEONE_ELSE,
    ContextRules,
)
from .lexicon import Lexicon
from .phrases import PhraseMatcher
from .sections import EXPLAINED, SectionFinder, impression_of
from .sentences import items as split_items
from .sentences import sentences as split_sentences
from .source_text import AnalysedText
from .tokens import tokenize

URGENCY = ("routine", "soon", "urgent", "critical")
_ASSERTED_KINDS = {"finding", "device", "procedure"}
# sections that never describe the patient's current findings
_NOT_EXPLAINED_WITHOUT_IMPRESSION = {
    "indication",
    "history",
    "comparison",
    "technique",
    "exam",
    "signature",
}
MAX_QUESTIONS, MIN_QUESTIONS = 4, 2


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    entry: dict
    layer: str  # glossary | critical | phrase


class Explainer:
    def __init__(self, mappings):
        self.m = mappings
        self.sections = SectionFinder(mappings.sections)
        self.context = ContextRules(mappings.context)
        self.glossary: Lexicon[dict] = Lexicon(
            [(lit, e, False) for e in mappings.glossary for lit in e["match"]]
            + [(lit, e, True) for e in mappings.glossary for lit in e.get("match_case", [])]
        )
        self.critical: Lexicon[dict] = Lexicon(
            [(lit, e, False) for e in mappings.critical for lit in e["match"]]
        )
        self.phrases = PhraseMatcher(mappings.phrases)
        self._critical_by_id = {e["id"]: e for e in mappings.critical}
        self._templates = {e["id"]: e["text"] for e in mappings.templates}
        self._certainty = {e["level"]: e for e in mappings.certainty}

    # -- text in the chosen language -------------------------------------------------
    @staticmethod
    def _say(text: dict, lang: str) -> str:
        return text.get(lang) or text["en"]

    def _template(self, tid: str, lang: str, **values) -> str:
        return self._say(self._templates[tid], lang).format(**values)

    # -- mentions ------------------------------------------------------------------
    def _mentions(self, text: str, start: int, end: int):
        tokens = tokenize(text, start, end)
        phrases = [
            _Mention(h.start, h.end, h.entry, "phrase") for h in self.phrases.find(text, start, end)
        ]
        gloss = [
            _Mention(tokens.starts[h.first], tokens.ends[h.last - 1], h.values[0], "glossary")
            for h in self.glossary.find(tokens)
        ]
        crit = [
            _Mention(tokens.starts[h.first], tokens.ends[h.last - 1], h.values[0], "critical")
            for h in self.critical.find(tokens)
        ]
        return gloss, crit, phrases

    # -- the document --------------------------------------------------------------
    def explain(self, source: AnalysedText, lang: str = "en") -> dict:
        text = source.text
        sections = self.sections.find(text)
        impression = impression_of(sections)
        notes: list[str] = []
        regions = [
            (s.start, s.end, s.name) for s in sections if s.name in EXPLAINED and s.end > s.start
        ]
        if impression is not None:
            # the appended DiagnosticReport.conclusion is found under its own header
            origin = (
                "conclusion"
                if source.conclusion == (impression.start, impression.end)
                else "section"
            )
            imp = {
                "text": text[impression.start : impression.end],
                "start": impression.start,
                "end": impression.end,
                "source": origin,
                "header": impression.header,
            }
        elif source.conclusion:
            a, b = source.conclusion
            imp = {"text": text[a:b], "start": a, "end": b, "source": "conclusion", "header": None}
            regions = [(a, b, "impression")] + [r for r in regions if not (a <= r[0] < b)]
            notes.append("template.summary.from_conclusion")
        else:
            imp = None
            body = [
                (s.start, s.end, s.name)
                for s in sections
                if s.name not in _NOT_EXPLAINED_WITHOUT_IMPRESSION and s.end > s.start
            ]
            regions = body or ([(0, len(text), "report")] if not sections else regions)
            if not regions and text.strip():
                regions = [(0, len(text), "report")]
            notes.append("template.summary.no_impression")

        items, findings, glossary, phrases = [], [], [], []
        defined: set[str] = set()
        for r_start, r_end, r_name in regions:
            for item in split_items(text, r_start, r_end):
                items.append(
                    self._item(text, item, r_name, lang, findings, glossary, phrases, defined)
                )

        urgency = _max_urgency(
            [f["urgency"] for f in findings if f.get("urgency")]
            + [p["urgency"] for p in phrases if p.get("urgency")]
        )
        for i, item in enumerate(items):
            item["priority"] = i + 1
        summary, summary_ids = self._summary(items, urgency, notes, lang)
        return {
            "text": text,
            "source": {"origin": source.origin},
            "language": lang,
            "impression": imp,
            "sections": [
                {"name": s.name, "header": s.header, "start": s.start, "end": s.end}
                for s in sections
            ],
            "summary": summary,
            "summary_mapping_ids": summary_ids,
            "items": items,
            "findings": findings,
            "rads": [],
            "glossary": glossary,
            "phrases": phrases,
            "urgency": urgency,
            "questions": self._questions(findings, phrases, urgency, imp is None, lang),
            "disclaimer": self._template("template.disclaimer", lang),
            "notes": [self._template(n, lang) for n in notes],
            "engine": {"name": "radplain", "version": __version__},
        }

    def _item(self, text, span, section, lang, findings, glossary, phrases, defined) -> dict:
        lay: list[dict] = []
        item_glossary: list[_Mention] = []
        for s_start, s_end in split_sentences(text, span.start, span.end):
            gloss, crit, phr = self._mentions(text, s_start, s_end)
            targets = [g for g in gloss if g.entry["kind"] in _ASSERTED_KINDS]
            # a critical mention attaches to the glossary finding it overlaps, else stands alone
            crit_of: dict[int, dict] = {}
            for c in crit:
                host = next(
                    (i for i, t in enumerate(targets) if t.start < c.end and c.start < t.end), None
                )
                if host is None:
                    targets.append(c)
                    crit_of[len(targets) - 1] = c.entry
                else:
                    crit_of.setdefault(host, c.entry)
            targets_sorted = sorted(range(len(targets)), key=lambda i: targets[i].start)
            asserted = self.context.assert_spans(
                text, s_start, s_end, [(targets[i].start, targets[i].end) for i in targets_sorted]
            )
            events = []
            for i, a in zip(targets_sorted, asserted, strict=True):
                t = targets[i]
                finding = self._finding(text, t, a, crit_of.get(i), section, lang)
                findings.append(finding)
                events.append((t.start, "finding", finding, t))
            for p in phr:
                phrase = {
                    "text": text[p.start : p.end],
                    "start": p.start,
                    "end": p.end,
                    "id": p.entry["id"],
                    "meaning": p.entry["meaning"],
                    "lay": self._say(p.entry["lay"], lang),
                }
                if p.entry.get("urgency"):
                    phrase["urgency"] = p.entry["urgency"]
                phrases.append(phrase)
                events.append((p.start, "phrase", phrase, p))
            for g in gloss:
                glossary.append(self._glossary_entry(text, g, lang))
            item_glossary += gloss
            for _, kind, obj, mention in sorted(events, key=lambda e: e[0]):
                if kind == "phrase":
                    lay.append(
                        {
                            "text": obj["lay"],
                            "start": obj["start"],
                            "end": obj["end"],
                            "mapping_ids": [obj["id"]],
                        }
                    )
                else:
                    lay.extend(self._finding_sentences(obj, mention, lang, defined))
        seen, unique, warned = set(), [], False
        for sentence in lay:
            # one "contact your care team" note per item is enough
            is_warning = any(i.startswith("critical.") for i in sentence["mapping_ids"])
            if sentence["text"] in seen or (is_warning and warned):
                continue
            warned = warned or is_warning
            seen.add(sentence["text"])
            unique.append(sentence)
        if not unique:
            unique = self._fallback(text, span, item_glossary, lang, defined)
        ids = list(dict.fromkeys(i for s in unique for i in s["mapping_ids"]))
        item_urgency = _max_urgency(
            [
                f["urgency"]
                for f in findings
                if f.get("urgency") and span.start <= f["start"] < span.end
            ]
        )
        return {
            "text": text[span.start : span.end],
            "start": span.start,
            "end": span.end,
            "section": section,
            "lay": " ".join(s["text"] for s in unique),
            "sentences": unique,
            "mapping_ids": ids,
            "urgency": item_urgency,
        }

    def _definition(self, entry, span, lang, defined) -> list[dict]:
        """The entry's lay definition, once per explanation, pointing at ``span``."""
        if entry["id"] in defined:
            return []
        defined.add(entry["id"])
        return [
            {
                "text": self._say(entry["lay"], lang),
                "start": span["start"],
                "end": span["end"],
                "mapping_ids": [entry["id"]],
            }
        ]

    def _fallback(self, text, span, gloss, lang, defined) -> list[dict]:
        """No finding or phrase to explain: define the item's terms, and say what is missing."""
        out = []
        for g in gloss:
            out += self._definition(g.entry, {"start": g.start, "end": g.end}, lang, defined)
        tid = "template.item.partly_explained" if out else "template.item.unexplained"
        out.append(
            {
                "text": self._template(tid, lang),
                "start": span.start,
                "end": span.end,
                "mapping_ids": [tid],
            }
        )
        return out

    def _finding(self, text, mention, a, critical, section, lang) -> dict:
        entry = mention.entry
        from_glossary = mention.layer == "glossary"
        finding = {
            "text": text[mention.start : mention.end],
            "start": mention.start,
            "end": mention.end,
            "assertion": a.assertion,
            "historical": a.historical,
            "certainty": a.certainty,
            "critical": False,
            "lay_term": None,
            "mapping_id": entry["id"] if from_glossary else None,
            "kind": entry.get("kind", "finding"),
            "section": section,
            "context_rules": list(a.rules),
        }
        if from_glossary:
            finding["lay_term"] = self._say(entry["lay_term"], lang)
        finding["stable"] = a.stable
        if critical is not None:
            finding["critical_id"] = critical["id"]
            # urgency only from what the report says is there now, or may be; one it calls
            # stable, improving or known is already in hand, so it asks for follow-up,
            # not a call now ("small stable pneumothorax not requiring a chest tube")
            live = a.assertion in (PRESENT, POSSIBLE) and not a.historical and not a.stable
            finding["critical"] = live
            if live:
                finding["urgency"] = critical["urgency"]
            elif a.assertion in (PRESENT, POSSIBLE) and not a.historical:
                finding["urgency"] = min(critical["urgency"], "soon", key=URGENCY.index)
        return finding

    def _finding_sentences(self, f, mention, lang, defined) -> list[dict]:
        entry = mention.entry
        term = f["text"]
        lay_term = f["lay_term"]
        a = f["assertion"]
        if f["kind"] == "procedure" and not f["historical"]:
            # "biopsy could be considered" is a suggestion, not a finding: define the
            # procedure, but never frame it as something the scan shows or might show
            return self._definition(entry, f, lang, defined)
        if a == POSSIBLE or (a == PRESENT and f["certainty"]):
            level = self._certainty[f["certainty"]]
            frame, frame_id = self._say(level["template"], lang), level["id"]
        else:
            tid = {
                ABSENT: "template.finding.absent_historical"
                if f["historical"]
                else "template.finding.absent",
                PRESENT: "template.finding.historical"
                if f["historical"]
                else "template.finding.present",
                HYPOTHETICAL: "template.finding.hypothetical",
                CONDITIONAL: "template.finding.conditional",
                SOMEONE_ELSE: "template.finding.someone_else",
            }[a]
            frame, frame_id = self._say(self._templates[tid], lang), tid
        if lay_term is None or _bare(lay_term) == _bare(term):
            # no glossary entry, or the plain name is the word itself: say it once
            frame, lay_term = frame.replace(" ({term})", ""), lay_term or term
        ids = [frame_id] + ([f["mapping_id"]] if f["mapping_id"] else [])
        out = [
            {
                "text": _capitalise(frame.format(lay_term=lay_term, term=term)),
                "start": f["start"],
                "end": f["end"],
                "mapping_ids": ids + f["context_rules"],
            }
        ]
        if mention.layer == "glossary" and a in (PRESENT, POSSIBLE, CONDITIONAL):
            out += self._definition(entry, f, lang, defined)
        if f["critical"]:
            crit = self._critical_by_id[f["critical_id"]]
            out.append(
                {
                    "text": self._say(crit["lay"], lang),
                    "start": f["start"],
                    "end": f["end"],
                    "mapping_ids": [crit["id"]],
                }
            )
        return out

    def _glossary_entry(self, text, g, lang) -> dict:
        e = g.entry
        return {
            "term": text[g.start : g.end],
            "start": g.start,
            "end": g.end,
            "id": e["id"],
            "kind": e["kind"],
            "lay_term": self._say(e["lay_term"], lang),
            "definition": self._say(e["lay"], lang),
            "source": e["source"],
            "review_status": e["review"]["status"],
        }

    def _summary(self, items, urgency, notes, lang) -> tuple[str, list[str]]:
        parts, ids = [], []
        if urgency != "routine":
            tid = f"template.urgency.{urgency}"
            parts.append(self._template(tid, lang))
            ids.append(tid)
        for note in notes:
            parts.append(self._template(note, lang))
            ids.append(note)
        if items:
            tid = "template.summary.points" if len(items) > 1 else "template.summary.point"
            parts.append(self._template(tid, lang, n=len(items)))
            ids.append(tid)
            first = items[0]["sentences"][0]
            if len(items) > 1:
                parts.append(self._template("template.summary.first", lang))
                ids.append("template.summary.first")
            parts.append(first["text"])
            ids += first["mapping_ids"]
        return " ".join(parts), list(dict.fromkeys(ids))

    def _questions(self, findings, phrases, urgency, no_impression, lang) -> list[dict]:
        live = [f for f in findings if f["lay_term"] and not f["historical"]]
        first = {
            "possible_finding": next((f for f in live if f["assertion"] == POSSIBLE), None),
            "present_finding": next(
                (f for f in live if f["assertion"] == PRESENT and f["kind"] == "finding"), None
            ),
        }
        meanings = {p["meaning"] for p in phrases}
        holds = {
            "critical_or_urgent": urgency in ("urgent", "critical"),
            "possible_finding": first["possible_finding"] is not None,
            "present_finding": first["present_finding"] is not None,
            "recommendation": "recommendation" in meanings,
            "hand_off": "hand_off" in meanings,
            "stable": "stable" in meanings,
            "incidental": "incidental" in meanings,
            "quality": "quality" in meanings,
            "no_acute": "no_acute" in meanings and urgency == "routine",
            "no_impression": no_impression,
        }
        chosen = []
        for q in self.m.questions:
            if len(chosen) >= MAX_QUESTIONS:
                break
            if q["when"] == "always" or not holds[q["when"]]:
                continue
            chosen.append(self._question(q, first.get(q["when"]), lang))
        for q in self.m.questions:
            if len(chosen) >= MIN_QUESTIONS:
                break
            if q["when"] == "always":
                chosen.append(self._question(q, None, lang))
        return chosen

    def _question(self, q, finding, lang) -> dict:
        lay_term = finding["lay_term"] if finding else ""
        ids = [q["id"]] + ([finding["mapping_id"]] if finding else [])
        return {"text": self._say(q["text"], lang).format(lay_term=lay_term), "mapping_ids": ids}


def _bare(s: str) -> str:
    """Lower case without a leading article: "a tear" and "Tear" name the same thing."""
    words = s.lower().split()
    return " ".join(words[1:] if words[:1] in (["a"], ["an"], ["the"]) else words)


def _capitalise(s: str) -> str:
    return s[:1].upper() + s[1:]


def _max_urgency(levels: list[str]) -> str:
    return max(levels, key=URGENCY.index, default="routine")
