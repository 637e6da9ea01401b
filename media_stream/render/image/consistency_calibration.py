"""Calibrating the consistency threshold from labelled pairs (``bench calibrate-consistency``).

Until labelled storyboards exist, ``sdxl.consistency_threshold`` is a guess. Labels are a JSON
Lines file, one pair per line: ``{"scene": "scene.png", "reference": "ref.png", "same": true,
"region": [x0, x1]}`` - a rendered scene, a character's reference, whether the scene shows
that character (a person's judgement), and optionally the character's columns as fractions
of the width (default: the whole image). Each pair is scored as the agent scores it (the
region cropped, the reference cropped to its subject, the configured encoder), and the
threshold is the score that best separates the two labels: the one maximising Youden's J
(true-positive rate minus false-positive rate), ties to the higher threshold.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence


@dataclass(frozen=True)
class Calibration:
    threshold: float | None
    true_positive_rate: float | None
    false_positive_rate: float | None
    positives: int
    negatives: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold, "truePositiveRate": self.true_positive_rate,
            "falsePositiveRate": self.false_positive_rate, "positives": self.positives, "negatives": self.negatives,
        }  # fmt: skip


def best_threshold(scores: Sequence[float], same: Sequence[bool]) -> Calibration:
    """The threshold (a score: pairs at or above it pass) maximising TPR - FPR."""
    positives, negatives = sum(same), len(same) - sum(same)
    if not positives or not negatives:
        return Calibration(None, None, None, positives, negatives)
    best: tuple[float, float, float, float] | None = None  # (J, threshold, tpr, fpr)
    for candidate in sorted(set(scores)):
        tpr = sum(s >= candidate and y for s, y in zip(scores, same)) / positives
        fpr = sum(s >= candidate and not y for s, y in zip(scores, same)) / negatives
        if best is None or tpr - fpr >= best[0]:
            best = (tpr - fpr, candidate, tpr, fpr)
    assert best is not None
    return Calibration(round(best[1], 6), best[2], best[3], positives, negatives)


def score_pairs(embedder: Any, labels: Path) -> tuple[list[float], list[bool]]:
    from PIL import Image

    from media_stream.render.image.character_regions import Region, crop, crop_to_subject
    from media_stream.render.image.consistency import cosine
    from media_stream.render.image.sdxl_finish import encode_png

    scores, same = [], []
    for number, line in enumerate(labels.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        pair = json.loads(line)
        base = labels.parent
        scene = Image.open(io.BytesIO((base / pair["scene"]).read_bytes())).convert("RGB")
        x0, x1 = pair.get("region", [0.0, 1.0])
        region = Region(round(x0 * scene.width), max(round(x1 * scene.width), round(x0 * scene.width) + 1), 0, scene.height, scene.width, scene.height)
        reference = crop_to_subject((base / pair["reference"]).read_bytes())
        rows = embedder.embed([encode_png(crop(scene, region)), reference])
        scores.append(cosine(rows[0], rows[1]))
        same.append(bool(pair["same"]))
    return scores, same
