"""Catalog and quality-feedback records: assets with their lineage, and ratings of them.

An asset is one stored file at one render version: the image of a scene, a narration, a piece
of music. Its id, ``{jobId}:{part}:v{renderVersion}``, parses back because ':' never occurs in
an id. Pure: no Kafka, no storage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timezone

from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import validate_id
from media_stream.domain.requests import MusicRequested, NarrationRequested, StoryboardRequested

AUDIO_PART = "audio"
RATING_RANGE = (1, 5)
MAX_COMMENT_CHARS = 2000
QUALITY_TARGET = 4.0  # mean rating above 4/5
CONSISTENCY_TARGET = 0.9  # more than 90% of scored images at or above the threshold


def _now() -> datetime:
    return datetime.now(timezone.utc)


def asset_id(job_id: str, part: str, render_version: int) -> str:
    return f"{job_id}:{part}:v{render_version}"


@dataclass(frozen=True)
class AssetRef:
    job_id: str
    part: str
    render_version: int


def parse_asset_id(value: str) -> AssetRef:
    """``job:part:vN`` back into its parts; ValidationError naming assetId otherwise."""
    parts = value.split(":") if isinstance(value, str) else []
    if len(parts) != 3 or not parts[2].startswith("v") or not parts[2][1:].isdigit():
        raise ValidationError("assetId", f"{str(value)[:60]!r} is not an asset id", "{jobId}:{sceneId or 'audio'}:v{renderVersion}")
    validate_id("assetId", parts[0])
    validate_id("assetId", parts[1])
    version = int(parts[2][1:])
    if version < 1:
        raise ValidationError("assetId", "render version must be at least 1")
    return AssetRef(parts[0], parts[1], version)


def catalog_key(project_id: str, asset: str) -> str:
    return f"{project_id}/{asset}"


def rating_key(project_id: str, asset: str, rater_hash: str) -> str:
    return f"{project_id}/{asset}/{rater_hash}"


def hash_rater(rater_id: str, secret: bytes) -> str:
    """The keyed hash that is stored instead of the rater's id (HMAC-SHA256, hex)."""
    if not isinstance(rater_id, str) or not rater_id.strip():
        raise ValidationError("raterId", "must be a non-empty string")
    return hmac.new(secret, rater_id.encode(), hashlib.sha256).hexdigest()


def backend_of(model: str) -> str:
    """The backend named by a model string: its first word ('preview-0.1' -> 'preview',
    'espeak-ng 1.51:fr' -> 'espeak-ng', 'sdxl:stabilityai/...' -> 'sdxl')."""
    words = (model or "").split()
    head = words[0].split(":")[0].split("/")[0] if words else "unknown"
    return head if head.startswith("espeak") else head.split("-")[0]


@dataclass(frozen=True)
class AssetCataloged:
    project_id: str
    asset_id: str
    kind: str
    job_id: str
    request_id: str
    render_version: int
    part: str
    scene_index: int = 0
    backend: str = ""
    model: str = ""
    style: str | None = None
    seed: int | None = None
    prompt: str = ""
    negative_prompt: str = ""
    storage_key: str = ""
    url: str = ""
    sha256: str = ""
    consistency_score: float | None = None
    character_scores: dict[str, float] | None = None  # characterId -> consistency score
    storyboard: StoryboardRequested | None = None
    narration: NarrationRequested | None = None
    music: MusicRequested | None = None
    request_source: str | None = None
    replay_of: str | None = None
    created_at: datetime = field(default_factory=_now)
    cataloged_at: datetime = field(default_factory=_now)

    @property
    def request(self) -> StoryboardRequested | NarrationRequested | MusicRequested | None:
        """The request that renders this asset again (with its original render version)."""
        return self.storyboard or self.narration or self.music


@dataclass(frozen=True)
class AssetRated:
    project_id: str
    asset_id: str
    rating: int
    rater_id: str  # the keyed hash, never the id
    comment: str | None = None
    rated_at: datetime = field(default_factory=_now)

    def validate(self) -> AssetRated:
        validate_id("projectId", self.project_id)
        parse_asset_id(self.asset_id)
        low, high = RATING_RANGE
        if isinstance(self.rating, bool) or not isinstance(self.rating, int) or not low <= self.rating <= high:
            raise ValidationError("rating", f"{self.rating!r} is not an integer in {low}..{high}", f"{low}..{high}")
        if self.comment is not None and len(self.comment) > MAX_COMMENT_CHARS:
            raise ValidationError("comment", f"is {len(self.comment)} characters long", f"at most {MAX_COMMENT_CHARS}")
        return self


def scene_reproduction(request: StoryboardRequested, scene_index: int, seed: int) -> StoryboardRequested:
    """A one-scene storyboard that plans to exactly the work of scene ``scene_index``: the scene
    as requested, the same style settings, and the scene's effective seed as the base seed
    (a one-scene plan adds index 0)."""
    scene = request.scenes[scene_index]
    config = dataclasses.replace(request.style_config, seed=seed)
    return dataclasses.replace(request, scenes=(scene,), style_config=config)


def with_render_version(request: StoryboardRequested | NarrationRequested | MusicRequested, version: int):  # noqa: ANN201 - same type
    return dataclasses.replace(request, render_version=version)
