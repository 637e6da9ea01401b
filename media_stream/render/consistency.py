"""Character consistency, measured: image-embedding cosine between a scene and its references.

The metric: embed the rendered scene and each of its characters' reference portraits with a
CLIP vision model (``sdxl.consistency_model``: a hub id or a folder holding a
``CLIPVisionModelWithProjection``), take the cosine of the L2-normalised embeddings, and average
it over the scene's references. A scene passes when its score is at or above the threshold
(``sdxl.consistency_threshold``); a storyboard's pass rate is the share of scored scenes that
pass. Scenes without references are not scored. The score is a proxy (CLIP embeds content and
style, not identity); it is for tracking regressions, not for rejecting images.
"""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np


class ImageEmbedder(Protocol):
    def embed(self, images: Sequence[bytes]) -> np.ndarray:
        """One L2-normalised row per image (encoded image bytes, e.g. PNG)."""
        ...


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / denominator) if denominator else 0.0


def scene_score(embedder: ImageEmbedder, scene: bytes, references: Sequence[bytes]) -> float | None:
    """Mean cosine between the scene and each reference; None when there is no reference."""
    if not references:
        return None
    rows = embedder.embed([scene, *references])
    return float(np.mean([cosine(rows[0], row) for row in rows[1:]]))


@dataclass(frozen=True)
class ConsistencyReport:
    scores: tuple[float, ...]
    threshold: float

    @property
    def passed(self) -> int:
        return sum(score >= self.threshold for score in self.scores)

    @property
    def pass_rate(self) -> float | None:
        return self.passed / len(self.scores) if self.scores else None

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.scores)) if self.scores else None


def consistency_report(
    embedder: ImageEmbedder, scenes: Sequence[tuple[bytes, Sequence[bytes]]], threshold: float
) -> ConsistencyReport:
    """Scores of the (scene, its references) pairs that have references, and their pass rate."""
    scores = [scene_score(embedder, scene, refs) for scene, refs in scenes]
    return ConsistencyReport(tuple(s for s in scores if s is not None), threshold)


class ClipImageEmbedder:
    """A CLIP vision model with projection; loads on first use; caches embeddings by content."""

    def __init__(
        self, model: str, device: str = "cpu", local_files_only: bool | None = None, cache_dir: str | None = None, cache_size: int = 256
    ) -> None:
        self.model = model
        self.device = device
        self.local_files_only = local_files_only
        self.cache_dir = cache_dir
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._encoder: Any = None
        self._processor: Any = None

    def load(self) -> None:
        if self._encoder is not None:
            return
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        from media_stream.render.sdxl_hub import hub_offline, load_or_explain, resolve_reference

        offline = hub_offline() if self.local_files_only is None else self.local_files_only
        source = resolve_reference("consistency model (sdxl.consistency_model)", self.model)
        kwargs: dict[str, Any] = {"local_files_only": offline}
        if self.cache_dir:
            kwargs["cache_dir"] = self.cache_dir
        encoder = load_or_explain(
            "consistency model (sdxl.consistency_model)",
            self.model,
            lambda: CLIPVisionModelWithProjection.from_pretrained(source, **kwargs),
        )
        try:
            processor = CLIPImageProcessor.from_pretrained(source, **kwargs)
        except Exception:  # a folder with the model only: CLIP's standard preprocessing at its size
            size = encoder.config.image_size
            processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
        self._encoder = encoder.to(self.device).eval()
        self._processor = processor

    def embed(self, images: Sequence[bytes]) -> np.ndarray:
        import torch
        from PIL import Image

        self.load()
        keys = [hashlib.sha256(data).hexdigest() for data in images]
        missing = [(k, d) for k, d in zip(keys, images) if k not in self._cache]
        if missing:
            pil = [Image.open(io.BytesIO(d)).convert("RGB") for _, d in missing]
            pixels = self._processor(images=pil, return_tensors="pt").pixel_values.to(self.device)
            with torch.no_grad():
                rows = self._encoder(pixel_values=pixels).image_embeds.float().cpu().numpy()
            rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
            for (key, _), row in zip(missing, rows):
                self._cache[key] = row
        out = np.stack([self._cache[k] for k in keys])
        for key in keys:
            self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out
