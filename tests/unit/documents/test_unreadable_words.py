"""A key word made unreadable in a photo: the explanation declines it, and says so.

The finding word "effusion" is damaged in the image (speckled, or its lower part torn off);
OCR then reads something with low confidence, and no claim may be made from that sentence.
"""

import random

import pytest
from PIL import Image, ImageDraw, ImageFont

from benchmarks import renderings
from service import mappings
from service.annotate.explain import Explainer
from service.documents import Limits, read_document
from tests.unit.documents.conftest import REPORT, encoded

SIZE = 40
LINE = 3  # "1. Small right pleural effusion."
WORD = "effusion"


@pytest.fixture(scope="module")
def explainer():
    return Explainer(mappings.default())


def _photo_with_damaged_word(damage: str) -> bytes:
    font = ImageFont.truetype(str(renderings.FONT), SIZE)
    lines, step = REPORT.split("\n"), int(SIZE * 1.5)
    image = Image.new("L", (1400, 80 + step * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 40 + i * step), line, fill=0, font=font)
    line = lines[LINE]
    left = 40 + draw.textlength(line[: line.index(WORD)], font=font)
    box = (
        int(left),
        40 + LINE * step,
        int(left + draw.textlength(WORD, font=font)),
        40 + (LINE + 1) * step,
    )
    if damage == "speckled":
        rng, pixels = random.Random(1), image.load()
        for _ in range(int((box[2] - box[0]) * (box[3] - box[1]) * 0.35)):
            pixels[rng.randrange(box[0], box[2]), rng.randrange(box[1], box[3])] = rng.choice(
                [0, 255]
            )
    else:  # torn: the lower two thirds of the word are gone
        draw.rectangle((box[0], box[1] + step // 3, box[2], box[3]), fill=255)
    return encoded(image, "PNG")


@pytest.mark.parametrize("damage", ["speckled", "torn"])
def test_a_damaged_finding_word_makes_no_claim_and_the_patient_is_told(explainer, damage):
    read = read_document(_photo_with_damaged_word(damage), Limits())
    doc = explainer.explain(read)
    first, second = doc["items"][0], doc["items"][1]
    # the damaged word was read, below the threshold, and is listed as such
    low = doc["source"]["document"]["low_confidence"]
    assert low and all(w["confidence"] < Limits().min_confidence for w in low)
    assert any(first["start"] <= w["start"] < first["end"] for w in low)
    # no finding, category or number from that sentence: only the "could not read" note
    assert [s["mapping_ids"] for s in first["sentences"]] == [["template.item.unreadable"]]
    assert not [f for f in doc["findings"] if first["start"] <= f["start"] < first["end"]]
    assert "effusion" not in first["lay"].lower() and "fluid" not in first["lay"].lower()
    assert "template.summary.unreadable" in doc["summary_mapping_ids"]
    # the clearly read sentence is still explained, with its negation
    assert any(f["text"] == "pneumothorax" and f["assertion"] == "absent" for f in doc["findings"])
    assert second["sentences"][0]["mapping_ids"] != ["template.item.unreadable"]


def test_the_same_photo_undamaged_explains_the_finding(explainer):
    read = read_document(encoded(_clean(), "PNG"), Limits())
    doc = explainer.explain(read)
    assert any("effusion" in f["text"] for f in doc["findings"])
    assert doc["source"]["document"]["low_confidence"] == []


def _clean() -> Image.Image:
    from tests.unit.documents.conftest import image_of

    return image_of(size=SIZE)
