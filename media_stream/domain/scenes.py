"""From a validated storyboard to the exact work of each scene: prompts, seeds, sizes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from media_stream.domain.limits import MAX_SEED
from media_stream.domain.requests import Character, StoryboardRequested
from media_stream.domain.styles import IMAGE_STYLES, image_style


@dataclass(frozen=True)
class CharacterReference:
    """A character's reference image (PNG bytes from our storage) for IP-Adapter conditioning."""

    character_id: str
    image: bytes = field(repr=False)
    seed: int = 0
    scale: float = 0.6


@dataclass(frozen=True)
class SceneWork:
    """One image to render: everything a renderer needs, nothing about Kafka or storage.

    ``control_image`` is PNG bytes already read from our storage (never a URL): the renderer
    computes its canny edges and conditions on them with ``control_scale`` (None: the
    renderer's configured scale). ``references`` are the scene's characters' reference images.
    """

    scene_id: str
    scene_index: int
    prompt: str
    negative_prompt: str
    style: str
    width: int
    height: int
    steps: int
    guidance: float
    seed: int
    characters: tuple[Character, ...] = ()
    control_image: bytes | None = field(default=None, repr=False)
    control_scale: float | None = None
    references: tuple[CharacterReference, ...] = ()
    control_key: str | None = None  # where control_image comes from; the runtime reads it

    @property
    def ip_adapter_scale(self) -> float:
        """One scale per scene (the pipeline applies one per call): the mean of its references'."""
        if not self.references:
            return 0.0
        return round(sum(r.scale for r in self.references) / len(self.references), 4)

    @property
    def batch_key(self) -> tuple:
        """Scenes with equal batch keys may share one renderer call, whatever their project:
        same size, steps and guidance, the same conditioning kinds (ControlNet and its scale,
        the number of references and their scale) and the same style LoRA."""
        style = IMAGE_STYLES.get(self.style)
        lora = style.lora if style is not None else None
        return (
            self.width,
            self.height,
            self.steps,
            self.guidance,
            self.control_image is not None or self.control_key is not None,
            self.control_scale,
            len(self.references),
            self.ip_adapter_scale,
            self.style if lora else None,  # each LoRA style is its own adapter
        )


def derived_seed(*parts: str) -> int:
    """A stable seed from ids: a retry of the same request renders the same pixels; within
    0..MAX_SEED (2^53 - 1), like every seed of the contract."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") & MAX_SEED


def _character_clause(characters: tuple[Character, ...]) -> str:
    described = [f"{c.name} ({c.description})" if c.description else c.name for c in characters]
    return ", ".join(described)


def plan_scenes(request: StoryboardRequested) -> list[SceneWork]:
    """Scene work in scene order. Seeds: the request's seed plus the scene index, or, when absent,
    one derived from (projectId, requestId) so that it is chosen once and reported; the sum
    wraps within 0..MAX_SEED (2^53 - 1)."""
    cfg = request.style_config
    style = image_style(cfg.style)
    base_seed = cfg.seed if cfg.seed is not None else derived_seed(request.project_id, request.request_id)
    negative = ", ".join(p for p in (style.negative_prompt, cfg.negative_prompt) if p)
    work = []
    for index, scene in enumerate(request.scenes):
        parts = [scene.prompt]
        if scene.characters:
            parts.append(_character_clause(scene.characters))
        work.append(
            SceneWork(
                scene_id=scene.scene_id,
                scene_index=index,
                prompt=style.apply(", ".join(parts)),
                negative_prompt=negative,
                style=cfg.style,
                width=cfg.width,
                height=cfg.height,
                steps=cfg.steps,
                guidance=cfg.guidance,
                seed=(base_seed + index) % (MAX_SEED + 1),
                characters=scene.characters,
                control_scale=scene.control_scale,
                control_key=scene.control_image,
            )
        )
    return work
