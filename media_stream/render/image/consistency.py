"""Character consistency, measured: image-embedding cosine between a character's region of a
scene and the character's reference.

The metric: crop the rendered scene to each character's region (``character_regions``: the
same region its IP-Adapter mask covered; the whole image for a one-character scene), embed the
crop and the character's reference (cropped to its subject) with an image encoder from
transformers (``sdxl.consistency_model``: DINOv2 by default, or a CLIP vision model; a hub id in
the local cache or a folder), and take the cosine of the L2-normalised embeddings. Each
character gets its own score (``ImageReady.characterScores``); ``consistencyScore`` is their
mean. A character passes when its score is at or above ``sdxl.consistency_threshold``.

The threshold is UNCALIBRATED (0.8 was chosen by hand, for CLIP) until labelled storyboards
exist: ``media-stream bench calibrate-consistency LABELS.jsonl`` scores labelled
(scene region, reference, same character or not) pairs and prints the threshold that best
separates them (``consistency_calibration``). The score is a proxy (an encoder embeds content
and style, not identity); it is for tracking regressions, not for rejecting images.

Scoring is on whenever the encoder's weights are present: they are only ever read locally
(``load_embedder``), so a default model that is not in the cache turns scoring off, with a
warning, instead of downloading.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np

log = logging.getLogger(__name__)


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


def load_embedder(settings: Any, device: str) -> ImageEmbedder | None:
    """The configured consistency encoder, loaded; None when scoring is off or its weights are
    not on this machine (a hub id missing from the cache). A configured folder that does not
    exist is a ConfigurationError."""
    if not settings.enabled(settings.consistency_model):
        return None
    from media_stream.domain.errors import ConfigurationError
    from media_stream.render.image.sdxl_loading import is_local_reference

    model = settings.consistency_model.strip()
    embedder = ImageEncoderEmbedder(
        model, device=device, local_files_only=True, cache_dir=str(settings.cache_dir) if settings.cache_dir else None
    )
    try:
        embedder.load()
    except ConfigurationError as exc:
        if is_local_reference(model):
            raise
        log.warning("consistency scoring off: %s is not on this machine (%s)", model, exc)
        return None
    log.info("consistency scoring on: %s (%s)", model, embedder.kind)
    return embedder


IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class ImageEncoderEmbedder:
    """An image encoder from transformers: a CLIP vision model (``image_embeds`` with a
    projection, else ``pooler_output``) or DINOv2 and the like (``pooler_output``: the CLS token).
    Loads on first use; caches embeddings by content; safe to call from several threads."""

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
        self._lock = threading.Lock()
        self.kind = "unloaded"

    def load(self) -> None:
        if self._encoder is not None:
            return
        from transformers import AutoConfig, AutoImageProcessor, AutoModel, CLIPImageProcessor, CLIPVisionModelWithProjection

        from media_stream.render.image.sdxl_hub import hub_offline, load_or_explain, resolve_reference

        what = "consistency model (sdxl.consistency_model)"
        offline = hub_offline() if self.local_files_only is None else self.local_files_only
        source = resolve_reference(what, self.model)
        kwargs: dict[str, Any] = {"local_files_only": offline}
        if self.cache_dir:
            kwargs["cache_dir"] = self.cache_dir
        config = load_or_explain(what, self.model, lambda: AutoConfig.from_pretrained(source, **kwargs))
        projected = "CLIPVisionModelWithProjection" in (getattr(config, "architectures", None) or [])
        model_class = CLIPVisionModelWithProjection if projected else AutoModel
        encoder = load_or_explain(what, self.model, lambda: model_class.from_pretrained(source, **kwargs))
        try:
            processor = AutoImageProcessor.from_pretrained(source, **kwargs)
        except Exception:  # a folder with the model only: resize, centre crop, normalise at its size
            size = getattr(encoder.config, "image_size", 224)
            clip = "clip" in config.model_type
            processor = CLIPImageProcessor(
                size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                **({} if clip else {"image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD}),
            )  # fmt: skip
        self._encoder = encoder.to(self.device).eval()
        self._processor = processor
        self.kind = f"{config.model_type}{' (projected)' if projected else ''}"

    def embed(self, images: Sequence[bytes]) -> np.ndarray:
        import torch
        from PIL import Image

        self.load()
        with self._lock:
            return self._embed(images)

    def _embed(self, images: Sequence[bytes]) -> np.ndarray:
        import torch
        from PIL import Image

        keys = [hashlib.sha256(data).hexdigest() for data in images]
        missing = [(k, d) for k, d in zip(keys, images) if k not in self._cache]
        if missing:
            pil = [Image.open(io.BytesIO(d)).convert("RGB") for _, d in missing]
            pixels = self._processor(images=pil, return_tensors="pt").pixel_values.to(self.device)
            with torch.no_grad():
                output = self._encoder(pixel_values=pixels)
                embeds = getattr(output, "image_embeds", None)
                rows = (embeds if embeds is not None else output.pooler_output).float().cpu().numpy()
            rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
            for (key, _), row in zip(missing, rows):
                self._cache[key] = row
        out = np.stack([self._cache[k] for k in keys])
        for key in keys:
            self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out
