"""Request events as typed values, each with the validation its contract demands."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from media_stream.domain import limits
from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import validate_id
from media_stream.domain.styles import MUSIC_STYLES, VOICES, check_known, image_style


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _in_range(name: str, value: float, bounds: tuple[float, float]) -> None:
    low, high = bounds
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(name, f"{value} is not a finite number", f"{low}..{high}")
    if not low <= value <= high:
        raise ValidationError(name, f"{value} is out of range", f"{low}..{high}")


def _text(name: str, value: str, max_chars: int, required: bool = True) -> None:
    if required and not value.strip():
        raise ValidationError(name, "must not be empty")
    if len(value) > max_chars:
        raise ValidationError(name, f"is {len(value)} characters long", f"at most {max_chars}")


def _image_side(name: str, value: int) -> None:
    allowed = f"a multiple of {limits.IMAGE_SIDE_MULTIPLE} in {limits.MIN_IMAGE_SIDE}..{limits.MAX_IMAGE_SIDE}"
    if not limits.MIN_IMAGE_SIDE <= value <= limits.MAX_IMAGE_SIDE or value % limits.IMAGE_SIDE_MULTIPLE:
        raise ValidationError(name, f"{value} is not a valid size", allowed)


def _seed(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= limits.MAX_SEED:
        raise ValidationError(name, f"{value} is out of range", f"0..{limits.MAX_SEED}")


@dataclass(frozen=True)
class RequestEnvelope:
    """Fields every request carries."""

    request_id: str
    job_id: str
    project_id: str
    created_at: datetime = field(default_factory=_now)
    render_version: int = 1

    def validate_envelope(self) -> None:
        validate_id("requestId", self.request_id)
        validate_id("jobId", self.job_id)
        validate_id("projectId", self.project_id)
        if not 1 <= self.render_version <= 1_000_000:
            raise ValidationError("renderVersion", f"{self.render_version} is out of range", "1..1000000")


@dataclass(frozen=True)
class Character:
    character_id: str
    name: str
    description: str = ""
    reference_image: str | None = None

    def validate(self, where: str) -> None:
        validate_id(f"{where}.characterId", self.character_id)
        _text(f"{where}.name", self.name, 200)
        _text(f"{where}.description", self.description, limits.MAX_DESCRIPTION_CHARS, required=False)
        if self.reference_image is not None:
            _storage_reference(f"{where}.referenceImage", self.reference_image)


def _storage_reference(name: str, key: str) -> None:
    """References name objects in our own storage; URLs and traversal are refused."""
    if "://" in key:
        raise ValidationError(name, "must be a storage key, not a URL", "a key in our own storage")
    for part in key.split("/"):
        validate_id(name, part)


@dataclass(frozen=True)
class Scene:
    scene_id: str
    prompt: str
    characters: tuple[Character, ...] = ()
    control_image: str | None = None  # a key in our own storage (ControlNet canny guide)
    control_scale: float | None = None

    def validate(self, where: str) -> None:
        validate_id(f"{where}.sceneId", self.scene_id)
        _text(f"{where}.prompt", self.prompt, limits.MAX_PROMPT_CHARS)
        if len(self.characters) > limits.MAX_CHARACTERS_PER_SCENE:
            raise ValidationError(f"{where}.characters", f"{len(self.characters)} characters", f"at most {limits.MAX_CHARACTERS_PER_SCENE}")
        for i, character in enumerate(self.characters):
            character.validate(f"{where}.characters[{i}]")
        _control(where, self.control_image, self.control_scale)


def _control(where: str, image: str | None, scale: float | None) -> None:
    prefix = f"{where}." if where else ""
    if image is not None:
        _storage_reference(f"{prefix}controlImage", image)
    if scale is not None:
        _in_range(f"{prefix}controlScale", scale, limits.CONTROL_SCALE_RANGE)


@dataclass(frozen=True)
class StyleConfig:
    style: str = "default"
    negative_prompt: str | None = None
    width: int = 1024
    height: int = 1024
    steps: int = 30
    guidance: float = 7.5
    seed: int | None = None

    def validate(self, where: str = "") -> None:
        image_style(self.style, f"{where}style")
        if self.negative_prompt is not None:
            _text(f"{where}negativePrompt", self.negative_prompt, limits.MAX_PROMPT_CHARS, required=False)
        _image_side(f"{where}width", self.width)
        _image_side(f"{where}height", self.height)
        _in_range(f"{where}steps", self.steps, limits.STEPS_RANGE)
        _in_range(f"{where}guidance", self.guidance, limits.GUIDANCE_RANGE)
        _seed(f"{where}seed", self.seed)


@dataclass(frozen=True)
class ImageRequested(RequestEnvelope):
    prompt: str = ""
    negative_prompt: str | None = None
    style: str = "default"
    width: int = 1024
    height: int = 1024
    steps: int = 30
    guidance: float = 7.5
    seed: int | None = None
    scene_id: str | None = None
    control_image: str | None = None
    control_scale: float | None = None

    def validate(self) -> None:
        self.validate_envelope()
        _text("prompt", self.prompt, limits.MAX_PROMPT_CHARS)
        self.style_config.validate()
        if self.scene_id is not None:
            validate_id("sceneId", self.scene_id)
        _control("", self.control_image, self.control_scale)

    @property
    def style_config(self) -> StyleConfig:
        return StyleConfig(self.style, self.negative_prompt, self.width, self.height, self.steps, self.guidance, self.seed)

    def as_storyboard(self) -> StoryboardRequested:
        """A single image is a one-scene storyboard: one code path renders both."""
        scene = Scene(self.scene_id or "image", self.prompt, control_image=self.control_image, control_scale=self.control_scale)
        return StoryboardRequested(
            self.request_id, self.job_id, self.project_id, self.created_at, self.render_version,
            scenes=(scene,), style_config=self.style_config, consistency_mode=False,
        )


@dataclass(frozen=True)
class StoryboardRequested(RequestEnvelope):
    scenes: tuple[Scene, ...] = ()
    style_config: StyleConfig = field(default_factory=StyleConfig)
    consistency_mode: bool = True

    def validate(self) -> None:
        self.validate_envelope()
        if not self.scenes:
            raise ValidationError("scenes", "must hold at least one scene")
        if len(self.scenes) > limits.MAX_SCENES:
            raise ValidationError("scenes", f"{len(self.scenes)} scenes", f"at most {limits.MAX_SCENES}")
        seen: set[str] = set()
        for i, scene in enumerate(self.scenes):
            scene.validate(f"scenes[{i}]")
            if scene.scene_id in seen:
                raise ValidationError(f"scenes[{i}].sceneId", f"{scene.scene_id!r} appears twice", "unique scene ids")
            seen.add(scene.scene_id)
        self.style_config.validate("styleConfig.")


@dataclass(frozen=True)
class NarrationRequested(RequestEnvelope):
    text: str = ""
    voice: str = "fr-FR-Denise"
    speed: float = 1.0
    pitch: float = 1.0
    emotion: str | None = None
    reference_audio: str | None = None  # a key in our own storage: a voice clip to clone (XTTS)

    def validate(self) -> None:
        self.validate_envelope()
        _text("text", self.text, limits.MAX_NARRATION_CHARS)
        if self.reference_audio is not None:
            _storage_reference("referenceAudio", self.reference_audio)
        check_known("voice", self.voice, VOICES)
        _in_range("speed", self.speed, limits.SPEED_RANGE)
        _in_range("pitch", self.pitch, limits.PITCH_RANGE)


@dataclass(frozen=True)
class MusicRequested(RequestEnvelope):
    duration_seconds: float = 30.0
    style: str = "ambient"
    tempo: int | None = None
    intensity: float = 0.5

    def validate(self) -> None:
        self.validate_envelope()
        _in_range("durationSeconds", self.duration_seconds, limits.MUSIC_DURATION_RANGE)
        check_known("style", self.style, MUSIC_STYLES)
        if self.tempo is not None:
            _in_range("tempo", self.tempo, limits.TEMPO_RANGE)
        _in_range("intensity", self.intensity, limits.INTENSITY_RANGE)


@dataclass(frozen=True)
class CancelRequested:
    request_id: str
    job_id: str
    project_id: str
    reason: str = ""
    created_at: datetime = field(default_factory=_now)

    def validate(self) -> None:
        validate_id("requestId", self.request_id)
        validate_id("jobId", self.job_id)
        validate_id("projectId", self.project_id)
        _text("reason", self.reason, 1000, required=False)


REQUEST_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (ImageRequested, StoryboardRequested, NarrationRequested, MusicRequested, CancelRequested)
}
