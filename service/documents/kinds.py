"""What a byte string is, from its first bytes (never from a file name or a declared type)."""

from __future__ import annotations

PDF = "application/pdf"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/tiff")


def sniff(data: bytes) -> str | None:
    """The media type of a PDF or a supported image, or None for anything else."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    # the PDF header may follow a little junk (PDF 32000-1 readers accept it within 1 kB)
    if b"%PDF-" in data[:1024]:
        return PDF
    return None
