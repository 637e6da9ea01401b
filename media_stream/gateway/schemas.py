"""Request and response bodies of the REST contract (JSON, camelCase like the Avro events).

The original service card's models (``/work/shared/seed/ai-media-generation-service.md``) are the
contract: its field names are the primary ones (``style`` for a batch's StyleConfig, ``duration``
for music), today's names stay accepted as aliases (``styleConfig``, ``durationSeconds``), and
every response is a superset of the card's response model (``totalImages``, StyleInfo's ``id`` and
``name``). The card's requests carry no project: ``projectId`` in the body or the ``X-Project-Id``
header; without either the job is its own project (key = jobId), and the answer says which
(``projectId``, ``projectFrom``).

The bounds here are the events' own constants (``media_stream.domain.limits``, the id rule, the
style and voice catalogs), stated so that the OpenAPI document shows them; the event's own
``validate()`` (``media_stream.domain.requests``) runs on every body before it is published and
remains the authority (unique scene ids, blank prompts, '..' in ids, known styles and voices).
Either check answers 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from media_stream.domain import limits
from media_stream.domain.ids import ALLOWED_ID, MAX_ID_LENGTH
from media_stream.domain.styles import IMAGE_STYLES, MUSIC_STYLES, VOICES

# The same limits as the events (media_stream.domain.limits), stated in the OpenAPI document too.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$"
Id = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=MAX_ID_LENGTH, description=ALLOWED_ID)]
StorageKey = Annotated[str, Field(pattern=KEY_PATTERN, max_length=1024, description="A key in our own storage (not a URL).")]
Prompt = Annotated[str, Field(min_length=1, max_length=limits.MAX_PROMPT_CHARS)]
Side = Annotated[int, Field(ge=limits.MIN_IMAGE_SIDE, le=limits.MAX_IMAGE_SIDE, multiple_of=limits.IMAGE_SIDE_MULTIPLE)]
Steps = Annotated[int, Field(ge=limits.STEPS_RANGE[0], le=limits.STEPS_RANGE[1])]
Guidance = Annotated[float, Field(ge=limits.GUIDANCE_RANGE[0], le=limits.GUIDANCE_RANGE[1])]
Seed = Annotated[int, Field(ge=0, le=limits.MAX_SEED)]
ControlScale = Annotated[float, Field(ge=limits.CONTROL_SCALE_RANGE[0], le=limits.CONTROL_SCALE_RANGE[1])]
ImageStyleName = Annotated[str, Field(json_schema_extra={"enum": sorted(IMAGE_STYLES)})]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel)

    @field_validator("*", mode="before")
    @classmethod
    def _encodable(cls, value: Any) -> Any:
        """Lone surrogates parse as JSON but cannot be encoded as UTF-8 (Avro strings)."""
        if isinstance(value, str):
            value.encode("utf-8")  # UnicodeEncodeError is a ValueError: a 422 on this field
        return value

    def record(self) -> dict[str, Any]:
        """The body as an Avro-shaped dict (camelCase keys, unset optionals left out)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class Envelope(Body):
    project_id: Id | None = Field(
        default=None,
        description="The project; requests of one project are rendered in order. Unset: the X-Project-Id header, "
        "else the job is its own project (projectId = jobId: order and character identity hold within the request only).",
        examples=["proj-1"],
    )
    job_id: Id | None = Field(default=None, description="Unset: the gateway makes one.")
    request_id: Id | None = Field(default=None, description="Unset: the gateway makes one (dedupe key of the agents).")
    render_version: int = Field(default=1, ge=1, le=1_000_000, description="A new version renders again.")


class Character(Body):
    character_id: Id
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=limits.MAX_DESCRIPTION_CHARS)
    reference_image: StorageKey | None = None


class Scene(Body):
    scene_id: Id
    prompt: Prompt
    characters: list[Character] = Field(default_factory=list, max_length=limits.MAX_CHARACTERS_PER_SCENE)
    control_image: StorageKey | None = Field(default=None, description="Canny ControlNet guide.")
    control_scale: ControlScale | None = None


class StyleConfig(Body):
    style: ImageStyleName = "default"
    negative_prompt: str | None = Field(default=None, max_length=limits.MAX_PROMPT_CHARS)
    width: Side = 1024
    height: Side = 1024
    steps: Steps = 30
    guidance: Guidance = 7.5
    seed: Seed | None = None


class GenerateImage(Envelope):
    """One image (the event ImageRequested)."""

    prompt: Prompt
    negative_prompt: str | None = Field(default=None, max_length=limits.MAX_PROMPT_CHARS)
    style: ImageStyleName = "default"
    width: Side = 1024
    height: Side = 1024
    steps: Steps = 30
    guidance: Guidance = 7.5
    seed: Seed | None = None
    scene_id: Id | None = None
    control_image: StorageKey | None = None
    control_scale: ControlScale | None = None


class BatchGenerate(Envelope):
    """A storyboard (the event StoryboardRequested): scenes rendered in order, one style.

    ``style`` is the card's StyleConfig (``styleConfig`` is accepted too); a bare string names the
    style with every other setting at its default."""

    scenes: list[Scene] = Field(min_length=1, max_length=limits.MAX_SCENES)
    style: StyleConfig = Field(
        default_factory=StyleConfig,
        validation_alias=AliasChoices("style", "styleConfig", "style_config"),
        description="The card's StyleConfig (alias: styleConfig); a string: just the style's name.",
    )
    consistency_mode: bool = True

    @field_validator("style", mode="before")
    @classmethod
    def _style_by_name(cls, value: Any) -> Any:
        return {"style": value} if isinstance(value, str) else value

    def record(self) -> dict[str, Any]:
        record = super().record()
        record["styleConfig"] = record.pop("style")
        return record


class Narration(Envelope):
    text: str = Field(min_length=1, max_length=limits.MAX_NARRATION_CHARS)
    voice: str = Field(default="fr-FR-Denise", json_schema_extra={"enum": sorted(VOICES)})
    speed: float = Field(default=1.0, ge=limits.SPEED_RANGE[0], le=limits.SPEED_RANGE[1])
    pitch: float = Field(default=1.0, ge=limits.PITCH_RANGE[0], le=limits.PITCH_RANGE[1])
    emotion: str | None = Field(default=None, max_length=100)
    reference_audio: StorageKey | None = Field(default=None, description="A voice clip to clone (XTTS).")


class Music(Envelope):
    duration: float = Field(
        default=30.0,
        ge=limits.MUSIC_DURATION_RANGE[0],
        le=limits.MUSIC_DURATION_RANGE[1],
        validation_alias=AliasChoices("duration", "durationSeconds", "duration_seconds"),
        description="Seconds of music (the card's name; alias: durationSeconds).",
    )
    style: str = Field(default="ambient", json_schema_extra={"enum": sorted(MUSIC_STYLES)})
    tempo: int | None = Field(default=None, ge=limits.TEMPO_RANGE[0], le=limits.TEMPO_RANGE[1])
    intensity: float = Field(default=0.5, ge=limits.INTENSITY_RANGE[0], le=limits.INTENSITY_RANGE[1])

    def record(self) -> dict[str, Any]:
        record = super().record()
        record["durationSeconds"] = record.pop("duration")
        return record


class Cancel(Body):
    project_id: Id | None = Field(default=None, description="Unset: looked up in the job-status view.")
    reason: str = Field(default="", max_length=1000)


# -- responses ----------------------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, serialize_by_alias=True)


class JobAccepted(Out):
    """The card's ImageGenerationResponse, BatchGenerationResponse, NarrationResponse and
    MusicResponse in one: jobId, status, totalImages (a batch), estimatedDuration (a narration)."""

    job_id: str
    project_id: str
    project_from: Literal["body", "header", "job"] = Field(description="Where projectId came from: the body, X-Project-Id, or the jobId itself.")
    request_id: str
    render_version: int
    status: Literal["queued"] = "queued"
    topic: str
    status_url: str
    events_url: str
    estimated_duration: float | None = Field(default=None, description="Narration: seconds of audio expected.")
    total_images: int | None = Field(default=None, description="A batch or one image: how many images the job makes.")


class CancelAccepted(Out):
    job_id: str
    project_id: str
    status: Literal["cancel_requested"] = "cancel_requested"
    topic: str


class JobStatus(Out):
    job_id: str
    project_id: str
    request_id: str | None
    status: str
    progress: float | None
    error: str | None
    render_version: int
    updated_at_ms: int
    updated_at: str = Field(description="RFC 3339, UTC (Z).")


class VoiceBackendOut(Out):
    backend: str  # espeak | coqui
    spoken_by: str  # the eSpeak voice, or the Coqui model [speaker]
    distinct: bool  # False: it sounds like ``same_as`` on this backend (its outcome lists voice in notApplied)
    same_as: str | None = None


class VoiceOut(Out):
    voice_id: str
    language: str
    gender: str
    label: str
    backends: list[VoiceBackendOut] = []


class StyleOut(Out):
    """The card's StyleInfo (id, name, description, previewUrl, category, isPremium) and more."""

    id: str
    name: str
    style_id: str
    label: str
    description: str
    category: str
    is_premium: bool
    prompt_template: str
    negative_prompt: str
    default_steps: int
    default_guidance: float
    preview_url: str


class BackendOut(Out):
    role: str
    backend: str
    model: str
    device: str
    dtype: str
    memory_bytes: int | None


class AgentOut(Out):
    agent_id: str
    medium: str
    host: str
    version: str
    announced_at_ms: int
    backends: list[BackendOut]


class ModelsOut(Out):
    agents: list[AgentOut]


class ErrorOut(BaseModel):
    error: str
    message: str
    field: str | None = None
