"""The one text a report is analysed as, from plain text or a FHIR DiagnosticReport.

Every offset radplain outputs indexes into ``AnalysedText.text``, so all clean-up
(newlines, HTML to text, decoding) happens here, once, before anything is matched.
The DiagnosticReport arrives as plain JSON data (already structurally validated at the
FHIR boundary); this module only reads it.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

from ..errors import BadInput, UnsupportedMediaType

# Media types we can read text from. "application/xhtml" is not registered, but some
# EHRs send it for XHTML, so it is read like the real one.
_PLAIN = {"text/plain"}
_HTML = {"text/html", "application/xhtml+xml", "application/xhtml"}
# PDFs and images are read (text layer or OCR) by ``service.documents`` at the I/O edge and
# handed to ``from_report`` already as text; here they are only recognised.
_DOCUMENTS = {"application/pdf"}
_IMAGES = {"image/jpeg", "image/png", "image/webp", "image/tiff"}


@dataclass(frozen=True)
class Word:
    """One OCR word: where it is in the analysed text, and how sure the reader was (0-100)."""

    start: int
    end: int
    confidence: float


@dataclass(frozen=True)
class AnalysedText:
    text: str
    origin: str  # "text" or a FHIR path such as "presentedForm[0]", "text.div", "conclusion"
    conclusion: tuple[int, int] | None = None  # span of an appended DiagnosticReport.conclusion
    # set when the text was read from a document: how ({"media_type", "reading": "text_layer"
    # | "ocr" | "text_layer+ocr", "pages", ...}), every OCR word with its confidence, and the
    # confidence below which a word is too unsure to make a clinical claim from
    document: dict | None = None
    words: tuple[Word, ...] = ()
    min_confidence: float | None = None

    def unreadable(self) -> list[tuple[int, int]]:
        """Spans of the words read with less than ``min_confidence`` (none for typed text)."""
        if self.min_confidence is None:
            return []
        return [(w.start, w.end) for w in self.words if w.confidence < self.min_confidence]

    def description(self) -> dict:
        """The Explanation's ``source``: where the text came from and how it was read."""
        out: dict = {"origin": self.origin}
        if self.document is not None:
            low = [w for w in self.words if w.confidence < (self.min_confidence or 0)]
            confidences = [w.confidence for w in self.words]
            mean = round(sum(confidences) / len(confidences), 1) if confidences else None
            out["document"] = {
                "mean_confidence": mean,  # unless the reading recorded it (see from_explanation)
                **self.document,
                "min_confidence": self.min_confidence if self.words else None,
                "low_confidence": [
                    {
                        "text": self.text[w.start : w.end],
                        "start": w.start,
                        "end": w.end,
                        "confidence": w.confidence,
                    }
                    for w in low
                ],
            }
        return out


def normalise(text: str) -> str:
    """Newlines to \\n, no BOM, no NULs or other control characters but tab and newline."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", text)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def from_plain(text: str) -> AnalysedText:
    return AnalysedText(normalise(text), "text")


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes to text: a BOM wins, then the declared charset, then UTF-8, then Windows-1252."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding)
    if charset:
        try:
            return data.decode(charset)
        except LookupError as exc:
            raise BadInput(f"unknown charset {charset!r} in the attachment's contentType") from exc
        except UnicodeDecodeError as exc:
            raise BadInput(
                f"the attachment is not valid {charset} text: {exc.reason} at byte {exc.start}"
            ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Legacy RIS exports are often Windows-1252; it maps every byte, so nothing is lost
        # silently. Binary junk is caught by the control-character check below.
        return data.decode("cp1252", errors="replace")


class _HtmlToText(HTMLParser):
    """HTML to text that keeps lines and paragraphs, and drops scripts and styles."""

    _BLOCK = {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "table",
        "ul",
        "ol",
        "section",
        "article",
        "header",
        "footer",
        "blockquote",
        "hr",
    }
    _SKIP = {"script", "style", "head", "title", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _HtmlToText()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in normalise(text).split("\n")]
    # at most one blank line in a row, none at the ends
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _content_type(attachment: dict) -> tuple[str, str | None]:
    raw = attachment.get("contentType") or "text/plain"
    media, _, params = raw.partition(";")
    match = re.search(r"charset\s*=\s*\"?([\w.:-]+)", params, re.I)
    return media.strip().lower(), match.group(1) if match else None


def is_document(attachment: dict) -> bool:
    """A PDF or image attachment, read at the I/O edge (``service.documents``)."""
    return _content_type(attachment)[0] in _DOCUMENTS | _IMAGES


def _attachment_text(attachment: dict, where: str) -> str | None:
    media, charset = _content_type(attachment)
    if media in _DOCUMENTS | _IMAGES:
        return None
    if media not in _PLAIN | _HTML:
        raise UnsupportedMediaType(
            f"{where} has contentType {media!r}; radplain reads text/plain, text/html, "
            "application/xhtml+xml, application/pdf and images (JPEG, PNG, WebP, TIFF)"
        )
    if "data" not in attachment:
        return None  # a url-only attachment is fetched at the FHIR boundary
    try:
        raw = base64.b64decode(attachment["data"], validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadInput(f"{where}.data is not valid base64") from exc
    text = decode_bytes(raw, charset)
    if _looks_binary(text):
        raise BadInput(f"{where}.data is declared {media} but holds binary data")
    return html_to_text(text) if media in _HTML else normalise(text)


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    bad = sum(
        1
        for ch in sample
        if ch == "\x00" or ch == "\ufffd" or ("\x00" < ch < "\x20" and ch not in "\t\n\r\x0c")
    )
    return bool(sample) and bad / len(sample) > 0.05


def text_form(report: dict) -> bool:
    """Does the report carry a readable text/plain or HTML presentedForm? (Then no document
    attachment needs reading: the dictated text wins over its PDF rendering.)"""
    forms = report.get("presentedForm") or []
    return any(
        (t := _attachment_text(a, f"presentedForm[{i}]")) and t.strip() for i, a in enumerate(forms)
    )


def from_report(report: dict, documents: Mapping[int, AnalysedText] | None = None) -> AnalysedText:
    """The text of a DiagnosticReport: presentedForm, else narrative, else conclusion.

    ``documents`` holds the PDF or image attachments already read at the I/O edge, by
    their presentedForm index; they come after text/plain and HTML forms.

    When the body has text but the report also carries a separate ``conclusion`` that
    the body does not contain, the conclusion is appended under a CONCLUSION header so
    that the impression finder sees it and offsets still index into one text.
    """
    body, origin, read = None, None, None
    forms = report.get("presentedForm") or []
    # text/plain first: it is what the radiologist dictated; HTML is a rendering of it
    ordered = sorted(enumerate(forms), key=lambda p: _content_type(p[1])[0] not in _PLAIN)
    for index, attachment in ordered:
        text = _attachment_text(attachment, f"presentedForm[{index}]")
        if text and text.strip():
            body, origin = text, f"presentedForm[{index}]"
            break
    if body is None:
        for index, doc in sorted((documents or {}).items()):
            if doc.text.strip():
                # the reader returns stripped text, so word offsets stay valid below
                body, origin, read = doc.text, f"presentedForm[{index}]", doc
                break
    if body is None:
        div = (report.get("text") or {}).get("div")
        if div and html_to_text(div).strip():
            body, origin = html_to_text(div), "text.div"
    conclusion = normalise(report.get("conclusion") or "").strip()
    if body is None:
        if conclusion:
            return AnalysedText(conclusion, "conclusion", (0, len(conclusion)))
        raise BadInput("DiagnosticReport has no presentedForm, conclusion or text to explain")
    body = body.strip()
    extra = {}
    if read is not None:
        extra = {"document": read.document, "words": read.words}
        extra["min_confidence"] = read.min_confidence
    if conclusion and conclusion not in body:
        head = body + "\n\nCONCLUSION:\n"
        span = (len(head), len(head) + len(conclusion))
        return AnalysedText(head + conclusion, origin, span, **extra)
    return AnalysedText(body, origin, **extra)


def from_explanation(doc: dict) -> AnalysedText:
    """The analysed text an Explanation was made from, to explain it again (in another
    language): the same text, so every offset stays valid."""
    imp = doc.get("impression")
    conclusion = (imp["start"], imp["end"]) if imp and imp["source"] == "conclusion" else None
    read = doc["source"].get("document")
    if not read:
        return AnalysedText(doc["text"], doc["source"]["origin"], conclusion)
    # read by OCR: the words too unsure to explain stay unexplained in every language
    low = tuple(Word(w["start"], w["end"], w["confidence"]) for w in read["low_confidence"])
    kept = {k: v for k, v in read.items() if k not in ("low_confidence", "min_confidence")}
    return AnalysedText(
        doc["text"], doc["source"]["origin"], conclusion, kept, low, read.get("min_confidence")
    )
