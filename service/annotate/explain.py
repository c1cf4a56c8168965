"""Report text -> Explanation document: sections, mentions, assertions, lay sentences.

``Explainer`` compiles the mapping data once; ``explain`` is then a pure function of
the analysed text and the language. Every lay sentence carries the source span it
explains and the ids of the mapping entries it was built from.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate

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
from .followup import (
    fleischner_follow_up,
    fleischner_gate,
    measurements,
    nodule_facts,
    smoking_risk,
    tirads_follow_up,
)
from .incidental import IncidentalRules
from .lexicon import Lexicon
from .phrase_context import PhraseVariants
from .phrases import PhraseMatcher
from .rads import RadsRecognizer
from .sections import EXPLAINED, SectionFinder, impression_of
from .sentences import items as split_items
from .sentences import sentences as split_sentences
from .source_text import AnalysedText
from .tokens import tokenize

URGENCY = ("routine", "soon", "urgent", "critical")
# RADS follow-up actions that ask for nothing beyond what the patient already does
_ROUTINE_ACTIONS = {"none", "routine_screening", None}
# lay sentences that say a part could not be explained: no "nothing to do" claim beside them
# entries whose own lay text says what usually happens next
_STATES_NEXT_STEP = ("critical.", "rads.", "incidental.", "fleischner.", "tirads.")
_UNEXPLAINED = {
    "template.item.unexplained",
    "template.item.partly_explained",
    "template.item.unreadable",
}
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


# Fleischner applies to lung nodules seen on CT; these decide whether a nodule is one
_LUNG = re.compile(r"lung|pulmonar|\blobe\b|lingula|chest|thora", re.IGNORECASE)
_CT = re.compile(r"\bCT\b|computed tomograph|\bCTA\b|PET/CT", re.IGNORECASE)
_NOT_LUNG = re.compile(
    r"thyroid|breast|liver|hepatic|renal|kidney|adrenal|skin|subcutaneous|scalp|vocal|"
    r"ti-?rads|parotid|lymph node",
    re.IGNORECASE,
)


_DENSITY_HINT = re.compile(r"dense|fatty|fibroglandular|density", re.IGNORECASE)


@dataclass
class _Run:
    """What one explanation accumulates as it walks the report."""

    text: str
    lang: str
    exam: str
    findings: list = field(default_factory=list)
    glossary: list = field(default_factory=list)
    phrases: list = field(default_factory=list)
    rads: list = field(default_factory=list)
    rads_excluded: list = field(default_factory=list)
    follow_up: list = field(default_factory=list)
    defined: set = field(default_factory=set)
    followed_sentences: set = field(default_factory=set)
    # sentence start -> the sizes in it when it can carry Fleischner follow-up, else []:
    # worked out once per sentence, not once per nodule mentioned in it
    nodule_sentences: dict = field(default_factory=dict)
    # OCR words read with too little confidence: no claim is made from a sentence holding one
    unreadable: list = field(default_factory=list)
    declined: int = 0
    patient: dict | None = None  # age and sex from a FHIR Patient, when the caller has one
    rads_systems: set = field(default_factory=set)  # systems with a current category anywhere
    incidental: list = field(default_factory=list)
    incidental_excluded: list = field(default_factory=list)
    incidental_inputs: dict | None = None  # report-wide inputs, read on first need
    incidental_done: set = field(default_factory=set)  # (finding id, sentence start)
    sections: list = field(default_factory=list)
    _index: dict = field(default_factory=dict, repr=False)  # see starting_in

    def starting_in(self, name: str, a: int, b: int) -> list:
        """The run's ``findings``, ``rads`` or ``phrases`` that start in [a, b), in their
        own order: a binary search over the starts (indexed again when the list has grown),
        not a scan of the whole list for every phrase, which is quadratic in a long report."""
        items = getattr(self, name)
        if a <= 0 and b >= len(self.text):
            return items
        index = self._index.get(name)
        if index is None or index[0] != len(items):
            order = sorted(range(len(items)), key=lambda i: items[i]["start"])
            index = self._index[name] = (len(items), [items[i]["start"] for i in order], order)
        _, starts, order = index
        return [items[i] for i in sorted(order[bisect_left(starts, a) : bisect_left(starts, b)])]

    def readable(self, start: int, end: int) -> bool:
        return not any(a < end and start < b for a, b in self.unreadable)

    @cached_property
    def fleischner_gate(self) -> str | None:
        return fleischner_gate(self.text)  # read only when a sized nodule needs it

    @cached_property
    def risk(self) -> str | None:
        return smoking_risk(self.text)


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
        self.variants = PhraseVariants(mappings.phrases)
        self._critical_by_id = {e["id"]: e for e in mappings.critical}
        self.rads = RadsRecognizer(
            mappings.rads_systems, mappings.rads, mappings.tirads, self.context
        )
        self._rads_by_key = {
            (e["system"], e.get("variant"), e["category"]): e for e in mappings.rads
        }
        self.density: Lexicon[dict] = Lexicon(
            [(lit, e, False) for e in mappings.density for lit in e["match"]]
        )
        self.incidental = IncidentalRules(mappings.incidental)
        self._actionable_phrases = {e["id"] for e in mappings.phrases if e.get("actionable")}
        self._query_rules = frozenset(e["id"] for e in mappings.context if e.get("query"))
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
        return gloss, crit, phrases, tokens

    # -- the document --------------------------------------------------------------
    def explain(self, source: AnalysedText, lang: str = "en", patient: dict | None = None) -> dict:
        """The Explanation of ``source``. ``patient``: optional {"age": years, "sex": ...}
        from a FHIR Patient; it wins over what the report text says."""
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

        run = _Run(
            text,
            lang,
            self._exam_text(text, sections),
            unreadable=source.unreadable(),
            patient=patient,
            sections=sections,
        )
        region_hits = [self.rads.find(text, a, b, run.exam) for a, b, _ in regions]
        run.rads_systems = {h.system for hits in region_hits for h in hits if h.current}
        items = []
        for (r_start, r_end, r_name), hits in zip(regions, region_hits, strict=True):
            starts = [h.start for h in hits]  # sorted: binary search, not a scan per item
            for item in split_items(text, r_start, r_end):
                in_item = hits[bisect_left(starts, item.start) : bisect_left(starts, item.end)]
                items.append(self._item(run, item, r_name, in_item))
        density = self._density(run)
        self._contextualise(run, items)
        self._label_actionable(run, items)
        if run.declined:
            notes.append("template.summary.unreadable")

        urgency = _max_urgency(
            [f["urgency"] for f in run.findings if f.get("urgency")]
            + [p["urgency"] for p in run.phrases if p.get("urgency")]
            + [r["urgency"] for r in run.rads]
        )
        for i, item in enumerate(items):
            item["priority"] = i + 1
        summary, summary_ids = self._summary(items, urgency, notes, lang, density)
        return {
            "text": text,
            "source": source.description(),
            "language": lang,
            "impression": imp,
            "sections": [
                {"name": s.name, "header": s.header, "start": s.start, "end": s.end}
                for s in sections
            ],
            "summary": summary,
            "summary_mapping_ids": summary_ids,
            "items": items,
            "findings": run.findings,
            "rads": run.rads,
            "rads_not_current": run.rads_excluded,
            "follow_up": run.follow_up,
            "incidental": run.incidental,
            "incidental_not_current": run.incidental_excluded,
            "breast_density": density,
            "glossary": run.glossary,
            "phrases": run.phrases,
            "urgency": urgency,
            "questions": self._questions(run, urgency, imp is None),
            "disclaimer": self._template("template.disclaimer", lang),
            "notes": [self._template(n, lang) for n in notes],
            "engine": {"name": "radplain", "version": __version__},
        }

    @staticmethod
    def _exam_text(text: str, sections) -> str:
        """The exam title and clinical context that say which RADS system a bare category is."""
        first_line = text.split("\n", 1)[0]
        parts = [first_line] + [
            text[s.start : s.end]
            for s in sections
            if s.name in ("exam", "technique", "indication", "history")
        ]
        return "\n".join(parts)

    def _item(self, run: _Run, span, section, rads_hits) -> dict:
        text, lang = run.text, run.lang
        lay: list[dict] = []
        item_glossary: list[_Mention] = []
        # what this item adds to the run starts here (items do not overlap)
        first_finding, first_rads = len(run.findings), len(run.rads)
        hit_starts = [h.start for h in rads_hits]  # sorted by start, as rads.find returns them
        for s_start, s_end in split_sentences(text, span.start, span.end):
            if not run.readable(s_start, s_end):
                # a misread word may be the finding, its negation or a number: say so instead
                run.declined += 1
                tid = "template.item.unreadable"
                lay.append(
                    {
                        "text": self._template(tid, lang),
                        "start": s_start,
                        "end": s_end,
                        "mapping_ids": [tid],
                    }
                )
                continue
            gloss, crit, phr, tokens = self._mentions(text, s_start, s_end)
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
                run.findings.append(finding)
                events.append((t.start, "finding", finding, t))
                follow = self._fleischner(run, finding, t, s_start, s_end)
                if follow:
                    events.append((t.end, "follow_up", follow, t))
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
                run.phrases.append(phrase)
                events.append((p.start, "phrase", phrase, p))
            if self.incidental.may_mention(tokens):
                for record in self._incidental(run, tokens, s_start, s_end):
                    events.append((record["end"], "incidental", record, None))
            in_sentence = slice(bisect_left(hit_starts, s_start), bisect_left(hit_starts, s_end))
            for hit in rads_hits[in_sentence]:
                record = self._rads_record(run, hit, s_start, s_end)
                if record is not None:
                    events.append((hit.start, "rads", record, hit))
            for g in gloss:
                run.glossary.append(self._glossary_entry(text, g, lang))
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
                elif kind in ("rads", "follow_up"):
                    lay.extend(obj["sentences"])
                elif kind == "incidental":
                    lay.extend(obj.pop("sentences"))
                else:
                    lay.extend(self._finding_sentences(obj, mention, lang, run.defined))
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
            unique = self._fallback(text, span, item_glossary, lang, run.defined)
        ids = list(dict.fromkeys(i for s in unique for i in s["mapping_ids"]))
        item_urgency = _max_urgency(
            [
                f["urgency"]
                for f in run.findings[first_finding:]
                if f.get("urgency") and span.start <= f["start"] < span.end
            ]
            + [r["urgency"] for r in run.rads[first_rads:] if span.start <= r["start"] < span.end]
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

    # -- RADS, density and guideline follow-up ------------------------------------------
    def _rads_entry(self, run: _Run, hit) -> dict | None:
        variant = hit.variant
        if variant is None and hit.system == "O-RADS":
            variant = "MRI" if re.search(r"\bMRI?\b|magnetic", run.exam, re.IGNORECASE) else "US"
        if variant is None and hit.system == "C-RADS":
            variant = "colonic" if hit.category.startswith("C") else "extracolonic"
        if variant is None and hit.system == "NI-RADS":
            variant = (
                "primary" if (hit.system, "primary", hit.category) in self._rads_by_key else "neck"
            )
        return self._rads_by_key.get((hit.system, variant, hit.category))

    def _rads_record(self, run: _Run, hit, s_start: int, s_end: int) -> dict | None:
        base = {
            "system": hit.system,
            "category": hit.category,
            "start": hit.start,
            "end": hit.end,
            "text": run.text[hit.start : hit.end],
            "variant": hit.variant,
            "modifiers": list(hit.modifiers),
            "laterality": hit.laterality,
            "lesion": hit.lesion,
            "points": hit.points,
            "recognised_by": hit.via,
        }
        if not hit.current:
            run.rads_excluded.append({**base, "reason": hit.why_not_current})
            return None
        entry = self._rads_entry(run, hit)
        if entry is None:
            run.rads_excluded.append({**base, "reason": "no mapping entry"})
            return None
        lang = run.lang
        follow = dict(entry["follow_up"])
        follow["basis"] = f"{entry['guideline']['name']} {entry['guideline']['version']}"
        sentences = [
            {
                "text": self._say(entry["lay"], lang),
                "start": hit.start,
                "end": hit.end,
                "mapping_ids": [entry["id"]],
            }
        ]
        if hit.system == "TI-RADS" and entry["follow_up"]["action"] != "none":
            sizes = measurements(run.text, s_start, s_end)
            size_cm = max((m.largest_cm for m in sizes), default=None)
            computed = tirads_follow_up(hit.category, size_cm, self.m.tirads, lang)
            follow = computed.as_dict()
            lead = "template.followup.tirads_lead"
            sentences.append(
                {
                    "text": self._template(lead, lang),
                    "start": hit.start,
                    "end": hit.end,
                    "mapping_ids": [lead],
                }
            )
            if computed.lay:
                sentences += [
                    {
                        "text": t,
                        "start": hit.start,
                        "end": hit.end,
                        "mapping_ids": computed.mapping_ids,
                    }
                    for t in computed.lay
                ]
            else:
                tid = "template.followup.size_unknown"
                sentences.append(
                    {
                        "text": self._template(tid, lang),
                        "start": hit.start,
                        "end": hit.end,
                        "mapping_ids": [tid],
                    }
                )
        record = {
            **base,
            "meaning": entry["meaning"],
            "likelihood": entry.get("likelihood"),
            "management": entry["management"],
            "follow_up": follow,
            "urgency": entry["urgency"],
            "guideline": entry["guideline"],
            "lay": self._say(entry["lay"], lang),
            "mapping_id": entry["id"],
            "review_status": entry["review"]["status"],
            "sentences": sentences,
        }
        run.rads.append({k: v for k, v in record.items() if k != "sentences"})
        return record

    def _fleischner(
        self, run: _Run, finding: dict, mention, s_start: int, s_end: int
    ) -> dict | None:
        """Fleischner follow-up for a present lung nodule with a size and no Lung-RADS category."""
        if (
            finding["assertion"] != PRESENT
            or finding["historical"]
            or "nodul" not in (finding["mapping_id"] or "")
            or run.fleischner_gate
            or self._has_lung_rads(run)
            or s_start in run.followed_sentences  # one recommendation per sentence
        ):
            return None
        sizes = run.nodule_sentences.get(s_start)
        if sizes is None:
            sizes = run.nodule_sentences[s_start] = self._nodule_sizes(run, s_start, s_end)
        if not sizes:
            return None
        sentence = run.text[s_start:s_end]
        nearest = min(sizes, key=lambda m: abs(m.start - mention.start))
        facts = nodule_facts(sentence, nearest)
        computed = fleischner_follow_up(
            facts, run.risk, self.m.fleischner, run.lang, self._templates
        )
        lead = "template.followup.fleischner_lead"
        texts = [(self._template(lead, run.lang), [lead])]
        texts += [(t, computed.mapping_ids) for t in computed.lay]
        if not facts.type_stated:
            texts.append(
                (
                    self._template("template.followup.type_unknown", run.lang),
                    ["template.followup.type_unknown"],
                )
            )
        sentences = [
            {"text": t, "start": mention.start, "end": mention.end, "mapping_ids": ids}
            for t, ids in texts
        ]
        record = {
            **computed.as_dict(),
            "start": mention.start,
            "end": mention.end,
            "finding": finding["text"],
            "mapping_ids": computed.mapping_ids,
        }
        run.follow_up.append(record)
        run.followed_sentences.add(s_start)
        return {"sentences": sentences}

    @staticmethod
    def _nodule_sizes(run: _Run, s_start: int, s_end: int) -> list:
        """The sizes in a sentence of a lung CT that Fleischner follow-up can apply to."""
        sentence = run.text[s_start:s_end]
        lung = _LUNG.search(sentence) or _LUNG.search(run.exam)
        if (
            not lung
            or not _CT.search(run.exam)
            or _NOT_LUNG.search(sentence)
            or _NOT_LUNG.search(run.exam)
        ):
            return []
        return list(measurements(run.text, s_start, s_end))

    # -- phrases read in context --------------------------------------------------------
    def _contextualise(self, run: _Run, items: list[dict]) -> None:
        """Reread each stock phrase that has context variants; the first that holds
        replaces the phrase's lay sentence and may raise the item's urgency."""
        by_span = {(p["id"], p["start"]): p for p in run.phrases if self.variants.of(p["id"])}
        if not by_span:
            return
        for index, item in enumerate(items):
            before = items[index - 1] if index else None
            changed = False
            for sentence in item["sentences"]:
                ids = sentence["mapping_ids"]
                variants = self.variants.of(ids[0]) if len(ids) == 1 else []
                phrase = by_span.get((ids[0], sentence["start"])) if variants else None
                if phrase is None:
                    continue
                for v in variants:
                    values = self._variant_holds(run, v, phrase, item, before)
                    if values is None:
                        continue
                    text = _capitalise(self._say(v.entry["lay"], run.lang).format(**values))
                    sentence["text"] = text
                    sentence["mapping_ids"] = [v.id, ids[0]]
                    phrase["lay"], phrase["context"] = text, v.id
                    if v.entry.get("urgency"):
                        phrase["urgency"] = _max_urgency(
                            [v.entry["urgency"], phrase.get("urgency", "routine")]
                        )
                        item["urgency"] = _max_urgency([item["urgency"], phrase["urgency"]])
                    changed = True
                    break
            if changed:
                seen, unique = set(), []
                for sentence in item["sentences"]:
                    if sentence["text"] not in seen:
                        seen.add(sentence["text"])
                        unique.append(sentence)
                item["sentences"] = unique
                item["lay"] = " ".join(x["text"] for x in unique)
                item["mapping_ids"] = list(
                    dict.fromkeys(i for x in unique for i in x["mapping_ids"])
                )

    def _variant_holds(self, run: _Run, v, phrase: dict, item: dict, before) -> dict | None:
        """The values the variant's lay text needs when its condition holds, else None.

        Scope ``item`` also takes in the item before when the phrase opens its own item
        and both are in one section: "3 cm pancreatic mass. Clinical correlation
        recommended." is often split into two items."""
        text = run.text
        p_start, p_end = phrase["start"], phrase["end"]
        if v.scope == "sentence":
            a, b = next(
                (
                    (x, y)
                    for x, y in split_sentences(text, item["start"], item["end"])
                    if x <= p_start < y
                ),
                (item["start"], item["end"]),
            )
        elif v.scope == "item":
            a, b = item["start"], item["end"]
            opens = text[a:p_start].strip(" \t\n0123456789.):-") == ""
            if before is not None and opens and before["section"] == item["section"]:
                a = before["start"]
        else:
            a, b = 0, len(text)
        values = {}
        if "{what}" in self._say(v.entry["lay"], run.lang):
            values["what"] = self._template("template.context.this_finding", run.lang)
            named = [
                f
                for f in run.starting_in("findings", a, b)
                if f["lay_term"] and f["assertion"] in (PRESENT, POSSIBLE) and not f["historical"]
            ]
            if named:
                values["what"] = min(named, key=lambda f: abs(f["start"] - p_start))["lay_term"]
        regions = [(a, b)] + [(s.start, s.end) for s in run.sections if s.name in v.sections]
        for pattern in v.patterns:
            for x, y in regions:
                m = pattern.search(text, x, y)
                if m:
                    return {**values, **{k: g for k, g in m.groupdict().items() if g}}
        if v.near is not None and self._near(run, v.near, a, b, p_start, p_end):
            return values
        if any(r["category"] in v.rads.get(r["system"], ()) for r in run.starting_in("rads", a, b)):
            return values
        if any(
            p is not phrase and p["meaning"] in v.meanings for p in run.starting_in("phrases", a, b)
        ):
            return values
        if v.findings and any(
            f["kind"] == "finding"
            and f["assertion"] == PRESENT
            and not f["historical"]
            and not (p_start <= f["start"] < p_end)
            for f in run.starting_in("findings", a, b)
        ):
            return values
        return None

    def _near(self, run: _Run, near, a: int, b: int, p_start: int, p_end: int) -> bool:
        """A ``near`` literal in text[a:b], outside the phrase, asserted present or possible
        (and not merely asked about: "rule out mass")."""
        text = run.text
        for s_start, s_end in split_sentences(text, a, b):
            tokens = tokenize(text, s_start, s_end)
            spans = [(tokens.starts[h.first], tokens.ends[h.last - 1]) for h in near.find(tokens)]
            spans = [(x, y) for x, y in spans if y <= p_start or x >= p_end]
            if not spans:
                continue
            for asserted in self.context.assert_spans(text, s_start, s_end, spans):
                if (
                    asserted.assertion in (PRESENT, POSSIBLE)
                    and not asserted.historical
                    and not self._query_rules.intersection(asserted.rules)
                ):
                    return True
        return False

    # -- actionable or not (the ACR's distinction) ----------------------------------------
    def _label_actionable(self, run: _Run, items: list[dict]) -> None:
        """``actionable`` on every finding and item: it needs a defined response (a follow-up
        interval, a referral, a biopsy, a call now); each item then says what usually happens
        next. Non-actionable means the report asks for nothing; it is never said of a part
        the engine could not explain."""
        flagged = [(f["start"], f["end"]) for f in run.follow_up if f["action"] != "none"]
        flagged += [(r["start"], r["end"]) for r in run.incidental if r["actionable"]]
        flagged.sort()
        flagged_starts = [a for a, _ in flagged]
        reach = list(accumulate((b for _, b in flagged), max))  # furthest end so far

        def overlaps_flagged(start: int, end: int) -> bool:
            """Does [start, end) overlap a flagged span? (Not a scan per finding: a report
            with thousands of findings and follow-ups would take quadratic time.)"""
            k = bisect_left(flagged_starts, end)  # the spans that start before ``end``
            return k > 0 and reach[k - 1] > start

        starts = [item["start"] for item in items]
        reasons: list[list[str]] = [[] for _ in items]

        def note(pos: int, why: str | None) -> None:
            k = bisect_right(starts, pos) - 1
            if k >= 0 and pos < items[k]["end"]:
                reasons[k].append(why)

        for f in run.findings:
            live = f["assertion"] in (PRESENT, POSSIBLE) and not f["historical"]
            f["actionable"] = live and (
                bool(f.get("urgency")) or overlaps_flagged(f["start"], f["end"])
            )
            if f["actionable"]:
                note(f["start"], f["mapping_id"] or f.get("critical_id"))
        for r in run.incidental:
            if r["actionable"]:
                note(r["start"], r["mapping_id"])
        for r in run.rads:
            if r["follow_up"].get("action") not in _ROUTINE_ACTIONS:
                note(r["start"], r["mapping_id"])
        for p in run.phrases:
            if p["id"] in self._actionable_phrases or p.get("context") in self._actionable_phrases:
                note(p["start"], p.get("context") or p["id"])
        for item, why in zip(items, reasons, strict=True):
            a, b = item["start"], item["end"]
            item["actionable"] = actionable = bool(why) or item["urgency"] != "routine"
            if not actionable and not _UNEXPLAINED.isdisjoint(item["mapping_ids"]):
                continue
            if actionable and self._says_next(item):
                continue  # its own sentences already say what comes next, more exactly
            tid = "template.next.actionable" if actionable else "template.next.routine"
            text = self._say(self._templates[tid], run.lang)
            ids = [tid] + [i for i in dict.fromkeys(why) if i]
            item["sentences"].append({"text": text, "start": a, "end": b, "mapping_ids": ids})
            item["lay"] = f"{item['lay']} {text}" if item["lay"] else text
            item["mapping_ids"] += [i for i in ids if i not in item["mapping_ids"]]

    def _says_next(self, item: dict) -> bool:
        """Does a sentence of this item already come from an entry whose lay text states
        the next step (a critical finding, a RADS category, a guideline recommendation,
        an actionable phrase)? Then the generic next-step sentence would only repeat it
        less exactly; for a critical finding it would even sound less pressing."""
        return any(
            i.startswith(_STATES_NEXT_STEP) or i in self._actionable_phrases
            for s in item["sentences"]
            for i in s["mapping_ids"]
        )

    # -- incidental findings (ACR / SRU white papers) ------------------------------------
    def _incidental(self, run: _Run, tokens, s_start: int, s_end: int) -> list[dict]:
        """A recommendation for each present, current incidental finding in the sentence;
        a negated, hypothetical, historical or someone else's mention gets none."""
        text, rules = run.text, self.incidental
        mentions = rules.find(tokens)
        if not mentions:
            return []
        asserted = self.context.assert_spans(
            text, s_start, s_end, [(m.start, m.end) for m in mentions]
        )
        out = []
        for i, (m, a) in enumerate(zip(mentions, asserted, strict=True)):
            finding = m.finding
            base = {
                "finding": finding["name"],
                "finding_id": finding["id"],
                "organ": finding["organ"],
                "text": text[m.start : m.end],
                "start": m.start,
                "end": m.end,
                "assertion": a.assertion,
                "historical": a.historical,
            }
            deferred = [x for x in finding.get("defer_to_rads", []) if x in run.rads_systems]
            if a.assertion not in (PRESENT, POSSIBLE) or a.historical:
                reason = "historical" if a.historical else a.assertion
            elif self._query_rules.intersection(a.rules):
                reason = "asked about, not seen"
            elif deferred:
                reason = f"managed by {deferred[0]}"
            elif not rules.applies_to_exam(finding, run.exam):
                reason = "the guideline is not for this exam"
            elif (finding["id"], s_start) in run.incidental_done:
                reason = "already explained in this sentence"
            else:
                reason = None
            if reason is not None:
                run.incidental_excluded.append({**base, "reason": reason})
                continue
            run.incidental_done.add((finding["id"], s_start))
            # the stretch of the sentence that belongs to this mention, not its neighbours
            seg_start = mentions[i - 1].end if i else s_start
            seg_end = mentions[i + 1].start if i + 1 < len(mentions) else s_end
            features = self._incidental_features(
                text, finding, tokens, s_start, s_end, seg_start, seg_end
            )
            if run.incidental_inputs is None:
                run.incidental_inputs = rules.report_inputs(text, run.patient)
            decision = rules.decide(
                finding, text, m, seg_start, seg_end, run.incidental_inputs, features
            )
            if self.incidental.sentence_inputs_names.intersection(decision.missing):
                decision = self._incidental_from_findings(run, m, decision, features)
            out.append(self._incidental_record(run, base, decision))
        return out

    def _incidental_features(self, text, finding, tokens, s_start, s_end, seg_start, seg_end):
        spans = [
            (name, a, b)
            for name, a, b in self.incidental.feature_spans(finding, tokens)
            if seg_start <= a and b <= seg_end
        ]
        if not spans:
            return set()
        asserted = self.context.assert_spans(text, s_start, s_end, [(a, b) for _, a, b in spans])
        return {
            name
            for (name, _, _), fa in zip(spans, asserted, strict=True)
            if fa.assertion in (PRESENT, POSSIBLE) and not fa.historical
        }

    def _incidental_from_findings(self, run: _Run, mention, decision, features):
        """An impression often names the finding without its size or attenuation; the
        FINDINGS section usually gives them. Use the first present mention of the same
        finding there when it leaves fewer inputs unstated."""
        text = run.text
        for sec in run.sections:
            if sec.name != "findings":
                continue
            for a, b in split_sentences(text, sec.start, sec.end):
                tokens = tokenize(text, a, b)
                if not self.incidental.may_mention(tokens):
                    continue
                same = [m for m in self.incidental.find(tokens) if m.finding is mention.finding]
                if not same:
                    continue
                spans = [(m.start, m.end) for m in same]
                for m, fa in zip(same, self.context.assert_spans(text, a, b, spans), strict=True):
                    if fa.assertion not in (PRESENT, POSSIBLE) or fa.historical:
                        continue
                    there = self._incidental_features(text, m.finding, tokens, a, b, a, b)
                    found = self.incidental.decide(
                        m.finding, text, m, a, b, run.incidental_inputs, features | there
                    )
                    if len(found.missing) < len(decision.missing) or (
                        found.decided and not decision.decided
                    ):
                        found.inputs["inputs_from"] = {"start": a, "end": b}
                        return found
                    return decision
        return decision

    def _incidental_record(self, run: _Run, base: dict, d) -> dict:
        lang, finding = run.lang, d.finding
        ids_in = d.inputs.pop("_ids", [])
        sentences = []
        span = {"start": base["start"], "end": base["end"]}
        defined_by_glossary = any(
            f["mapping_id"] and f["start"] < base["end"] and base["start"] < f["end"]
            for f in run.findings
        )
        if not defined_by_glossary:  # the glossary already says what the finding is
            sentences += self._definition(finding, span, lang, run.defined)
        if d.decided and not d.options:
            rule = d.rules[-1]
            texts = [(self._say(rule["lay"], lang), [rule["id"], finding["id"]] + ids_in)]
        elif d.decided:
            step = f"template.incidental.step.{d.action}"
            texts = [
                (
                    self._template("template.incidental.either_way", lang)
                    + " "
                    + self._template(step, lang),
                    ["template.incidental.either_way", step] + [r["id"] for r in d.rules] + ids_in,
                )
            ]
        elif d.action == "depends_on_inputs":
            names = [self._template(f"template.incidental.input.{n}", lang) for n in d.missing]
            tid = "template.incidental.depends"
            texts = [
                (
                    self._template(
                        tid,
                        lang,
                        inputs=_join(names, self._template("template.incidental.and", lang)),
                    ),
                    [tid]
                    + [f"template.incidental.input.{n}" for n in d.missing]
                    + [r["id"] for r in d.rules]
                    + ids_in,
                )
            ]
        else:
            tid = "template.incidental.no_rule"
            texts = [(self._template(tid, lang), [tid, finding["id"]])]
        sentences += [{**span, "text": t, "mapping_ids": ids} for t, ids in texts]
        record = {
            **base,
            "inputs": d.inputs,
            "missing_inputs": d.missing,
            "action": d.action,
            "interval": d.interval,
            "basis": finding["basis"],
            "mapping_id": d.rules[-1]["id"] if d.decided and d.rules else finding["id"],
            "mapping_ids": list(dict.fromkeys(i for _, ids in texts for i in ids)),
            "options": d.options,
            "actionable": d.actionable,
            "review_status": sorted(
                {r["review"]["status"] for r in d.rules} or {finding["review"]["status"]}
            ),
            "source": finding["source"],
        }
        run.incidental.append(dict(record))
        record["sentences"] = sentences
        return record

    def _has_lung_rads(self, run: _Run) -> bool:
        return any(r["system"] == "Lung-RADS" for r in run.rads)

    def _density(self, run: _Run) -> dict | None:
        if not self.m.density or not _DENSITY_HINT.search(run.text):
            return None
        tokens = tokenize(run.text)
        hits = self.density.find(tokens)
        if not hits:
            return None
        entry = hits[-1].values[0]  # the last statement wins (the final assessment)
        start, end = tokens.starts[hits[-1].first], tokens.ends[hits[-1].last - 1]
        if not run.readable(start, end):
            return None
        return {
            "category": entry["category"],
            "dense": entry["dense"],
            "start": start,
            "end": end,
            "text": run.text[start:end],
            "lay": self._say(entry["lay"], run.lang),
            "fda_statement": entry["fda_statement"],
            "mapping_id": entry["id"],
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

    def _summary(self, items, urgency, notes, lang, density=None) -> tuple[str, list[str]]:
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
        if density:
            parts.append(density["lay"])
            ids.append(density["mapping_id"])
        return " ".join(parts), list(dict.fromkeys(ids))

    def _questions(self, run: _Run, urgency, no_impression) -> list[dict]:
        findings, phrases, lang = run.findings, run.phrases, run.lang
        live = [f for f in findings if f["lay_term"] and not f["historical"]]
        rads = run.rads[0] if run.rads else None
        first = {
            "rads": {"lay_term": rads["system"], "mapping_id": rads["mapping_id"]}
            if rads
            else None,
            "possible_finding": next((f for f in live if f["assertion"] == POSSIBLE), None),
            "present_finding": next(
                (f for f in live if f["assertion"] == PRESENT and f["kind"] == "finding"), None
            ),
        }
        meanings = {p["meaning"] for p in phrases}
        holds = {
            "critical_or_urgent": urgency in ("urgent", "critical"),
            "rads": rads is not None,
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


def _join(parts: list[str], conjunction: str) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {conjunction} " + parts[-1]


def _max_urgency(levels: list[str]) -> str:
    return max(levels, key=URGENCY.index, default="routine")
