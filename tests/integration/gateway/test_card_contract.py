"""The original service card as a client would write it: its Pydantic models verbatim, every route it
lists, every answer validated with the card's response models, both with and without a trailing slash.

The card (``/work/shared/seed/ai-media-generation-service.md``) names ``StyleConfig`` and
``CharacterReference`` without defining them; they are written here as a reader of the card would
(a style name plus the image settings of ImageGenerationRequest; an id, a name and a description).
Everything between the two ``--- card`` markers is copied from the card unchanged.
"""

from __future__ import annotations

from typing import List, Literal, Optional

import pytest
from pydantic import BaseModel

from tests.integration.gateway.conftest import SERVICE, Gateway, bearer

pytestmark = pytest.mark.kafka


# Not defined by the card (it only names them):
class StyleConfig(BaseModel):
    style: str = "default"
    width: int = 1024
    height: int = 1024
    steps: int = 30


class CharacterReference(BaseModel):
    characterId: str
    name: str
    description: str = ""


# --- card: ImageController -------------------------------------------------------------------
# POST /api/v1/images/generate
class ImageGenerationRequest(BaseModel):
    prompt: str
    negativePrompt: Optional[str] = None
    style: str = "default"
    width: int = 1024
    height: int = 1024
    steps: int = 30
    guidance: float = 7.5
    seed: Optional[int] = None

class ImageGenerationResponse(BaseModel):
    jobId: str
    status: Literal["queued", "processing", "completed", "failed"]

# POST /api/v1/images/batch-generate
class BatchGenerationRequest(BaseModel):
    scenes: List[SceneImageRequest]
    style: StyleConfig
    consistencyMode: bool = True  # Garder coherence visuelle

class SceneImageRequest(BaseModel):
    sceneId: str
    prompt: str
    characters: List[CharacterReference]

class BatchGenerationResponse(BaseModel):
    jobId: str
    totalImages: int
    status: str


# --- card: AudioController -------------------------------------------------------------------
# POST /api/v1/audio/narration
class NarrationRequest(BaseModel):
    text: str
    voice: str  # "fr-FR-Denise", "fr-FR-Henri", etc.
    speed: float = 1.0
    pitch: float = 1.0
    emotion: Optional[str] = None

class NarrationResponse(BaseModel):
    jobId: str
    estimatedDuration: float  # seconds

# POST /api/v1/audio/music
class MusicRequest(BaseModel):
    duration: float  # seconds
    style: str  # "ambient", "dramatic", "happy", etc.
    tempo: Optional[int] = None
    intensity: float = 0.5

class MusicResponse(BaseModel):
    jobId: str
    status: str


# --- card: StyleController -------------------------------------------------------------------
# GET /api/v1/styles
class StyleInfo(BaseModel):
    id: str
    name: str
    description: str
    previewUrl: str
    category: str  # "cartoon", "realistic", "artistic"
    isPremium: bool

# Styles disponibles
styles = [
    {"id": "cartoon", "name": "Cartoon", "category": "cartoon"},
    {"id": "realistic", "name": "Realiste", "category": "realistic"},
    {"id": "watercolor", "name": "Aquarelle", "category": "artistic"},
    {"id": "anime", "name": "Anime", "category": "cartoon"},
    {"id": "oil-painting", "name": "Peinture a l'huile", "category": "artistic"},
    {"id": "pixel-art", "name": "Pixel Art", "category": "artistic"},
]
# --- card ends --------------------------------------------------------------------------------

BatchGenerationRequest.model_rebuild()
SMALL = {"width": 64, "height": 64, "steps": 5}


def body(model: BaseModel) -> dict:
    return model.model_dump(mode="json")


def both(path: str) -> tuple[str, str]:
    return path, path + "/"


def answered(http, method: str, path: str, status: int, **kwargs) -> object:  # noqa: ANN001
    """The answer to ``path`` and to ``path/``: each ``status``, never a redirect."""
    answers = []
    for variant in both(path):
        answer = getattr(http, method)(variant, follow_redirects=False, **kwargs)
        assert answer.status_code == status, (variant, answer.status_code, answer.text)
        answers.append(answer)
    return answers


def test_every_card_route_answers_the_card_models(gateway: Gateway) -> None:
    http, auth = gateway.http, bearer(SERVICE)

    # POST /images/generate
    request = ImageGenerationRequest(prompt="a fox in the snow", **SMALL)
    for answer in answered(http, "post", "/api/v1/images/generate", 202, json=body(request), headers=auth):
        generated = ImageGenerationResponse.model_validate(answer.json())
        assert generated.status == "queued"
        assert answer.json()["projectId"] == generated.jobId and answer.json()["projectFrom"] == "job"  # no project: its own
        assert answer.json()["totalImages"] == 1

    # GET /images/status/:jobId before any agent saw it: queued
    for answer in answered(http, "get", f"/api/v1/images/status/{generated.jobId}", 200, headers=auth):
        assert answer.json()["status"] == "queued" and answer.json()["jobId"] == generated.jobId

    # POST /images/batch-generate, the card's `style: StyleConfig`
    batch = BatchGenerationRequest(
        scenes=[
            SceneImageRequest(sceneId="a", prompt="Léa finds a fox", characters=[CharacterReference(characterId="lea", name="Léa", description="a girl")]),
            SceneImageRequest(sceneId="b", prompt="the fox asleep", characters=[]),
        ],
        style=StyleConfig(style="watercolor", **SMALL),
    )
    batches = [BatchGenerationResponse.model_validate(a.json()) for a in answered(http, "post", "/api/v1/images/batch-generate", 202, json=body(batch), headers=auth)]
    assert all(b.totalImages == 2 and b.status == "queued" for b in batches)

    # POST /images/cancel/:jobId (service-only), project known from the publication
    for answer in answered(http, "post", f"/api/v1/images/cancel/{batches[0].jobId}", 202, headers=auth):
        assert answer.json()["projectId"] == batches[0].jobId

    # POST /audio/narration, /audio/music (the card's `duration`)
    narration = NarrationRequest(text="Il était une fois un renard.", voice="fr-FR-Denise")
    for answer in answered(http, "post", "/api/v1/audio/narration", 202, json=body(narration), headers=auth):
        assert NarrationResponse.model_validate(answer.json()).estimatedDuration > 0
    music = MusicRequest(duration=4.0, style="ambient")
    musics = [MusicResponse.model_validate(a.json()) for a in answered(http, "post", "/api/v1/audio/music", 202, json=body(music), headers=auth)]

    # GET /audio/voices, /audio/status/:jobId
    (voices, _) = answered(http, "get", "/api/v1/audio/voices", 200, headers=auth)
    assert "fr-FR-Denise" in {v["voiceId"] for v in voices.json()}
    for answer in answered(http, "get", f"/api/v1/audio/status/{musics[0].jobId}", 200, headers=auth):
        assert answer.json()["status"] == "queued"

    # GET /styles, /styles/:styleId, /styles/:styleId/preview
    for answer in answered(http, "get", "/api/v1/styles", 200, headers=auth):
        infos = {s.id: s for s in map(StyleInfo.model_validate, answer.json())}
        for listed in styles:
            assert listed["id"] in infos and infos[listed["id"]].category == listed["category"]
    for answer in answered(http, "get", "/api/v1/styles/watercolor", 200, headers=auth):
        assert StyleInfo.model_validate(answer.json()).id == "watercolor"
    for answer in answered(http, "get", "/api/v1/styles/watercolor/preview", 200, headers=auth):
        assert answer.headers["content-type"] == "image/png" and answer.content.startswith(b"\x89PNG")

    # GET /models (the card's ModelController)
    for answer in answered(http, "get", "/api/v1/models", 200, headers=auth):
        assert answer.json()["agents"] == []

    # What was published: the card's names became the events' fields
    published = {getattr(e, "job_id", None): e for e in gateway.events_on(gateway.routes.requests)}
    storyboard = published[batches[0].jobId]
    assert storyboard.style_config.style == "watercolor" and storyboard.style_config.width == 64
    assert [s.scene_id for s in storyboard.scenes] == ["a", "b"] and storyboard.scenes[0].characters[0].character_id == "lea"
    assert storyboard.project_id == storyboard.job_id
    audio = {e.job_id: e for e in gateway.events_on(gateway.audio_routes.requests)}
    assert audio[musics[0].jobId].duration_seconds == 4.0


def test_project_from_body_header_or_job_and_old_names_still_accepted(gateway: Gateway) -> None:
    http, auth = gateway.http, bearer(SERVICE)
    scene = {"sceneId": "s0", "prompt": "a fox", "characters": []}
    from_body = http.post("/api/v1/images/batch-generate", json={"projectId": "proj-body", "scenes": [scene], "style": {"style": "anime", **SMALL}}, headers=auth)
    from_header = http.post("/api/v1/images/batch-generate", json={"scenes": [scene], "styleConfig": {"style": "cartoon", **SMALL}}, headers={**auth, "X-Project-Id": "proj-header"})
    by_name = http.post("/api/v1/images/batch-generate", json={"scenes": [scene], "style": "pixel-art"}, headers=auth)
    old_music = http.post("/api/v1/audio/music", json={"projectId": "proj-m", "durationSeconds": 3.0, "style": "happy"}, headers=auth)
    bad_header = http.post("/api/v1/audio/music", json={"duration": 3.0, "style": "happy"}, headers={**auth, "X-Project-Id": "../etc"})
    assert [a.status_code for a in (from_body, from_header, by_name, old_music)] == [202] * 4, [a.text for a in (from_body, from_header, by_name, old_music)]
    assert (from_body.json()["projectId"], from_body.json()["projectFrom"]) == ("proj-body", "body")
    assert (from_header.json()["projectId"], from_header.json()["projectFrom"]) == ("proj-header", "header")
    assert (by_name.json()["projectId"], by_name.json()["projectFrom"]) == (by_name.json()["jobId"], "job")
    assert bad_header.status_code == 422 and bad_header.json()["field"] == "X-Project-Id"
    events = {e.job_id: e for e in gateway.events_on(gateway.routes.requests)}
    assert events[from_body.json()["jobId"]].style_config.style == "anime"
    assert events[from_header.json()["jobId"]].project_id == "proj-header" and events[from_header.json()["jobId"]].style_config.style == "cartoon"
    assert events[by_name.json()["jobId"]].style_config.style == "pixel-art"
    assert {e.job_id: e for e in gateway.events_on(gateway.audio_routes.requests)}[old_music.json()["jobId"]].duration_seconds == 3.0
    cancel = http.post("/api/v1/images/cancel/job-elsewhere", headers={**auth, "X-Project-Id": "proj-header"})
    assert cancel.status_code == 202 and cancel.json()["projectId"] == "proj-header", cancel.text


def test_seed_beyond_2_53_is_refused_naming_the_range(gateway: Gateway) -> None:
    answer = gateway.http.post("/api/v1/images/generate", json={"prompt": "a fox", "seed": 2**53, **SMALL}, headers=bearer(SERVICE))
    assert answer.status_code == 422 and answer.json()["field"] == "seed"
    assert str(2**53 - 1) in answer.json()["message"]
    fits = gateway.http.post("/api/v1/images/generate", json={"prompt": "a fox", "seed": 2**53 - 1, **SMALL}, headers=bearer(SERVICE))
    assert fits.status_code == 202, fits.text


def test_sse_says_when_no_agent_consumes_the_request_topic(served_gateway) -> None:  # noqa: ANN001 - the conftest fixture
    import time

    import httpx

    from tests.helpers.sse import sse_events

    gateway = served_gateway.gateway
    with httpx.Client(base_url=served_gateway.url, timeout=30) as http:
        posted = http.post("/api/v1/audio/music", json=body(MusicRequest(duration=2.0, style="happy")), headers=bearer(SERVICE))
        assert posted.status_code == 202, posted.text
        started = time.monotonic()
        with http.stream("GET", f"/api/v1/jobs/{posted.json()['jobId']}/events", headers=bearer(SERVICE)) as stream:
            name, data = next((n, d) for n, d in sse_events(stream.iter_lines()) if n != "comment")
        assert time.monotonic() - started < 10
    assert name == "notice" and data["listening"] is False and data["topic"] == gateway.audio_routes.requests
    assert f"no audio agent is consuming {gateway.audio_routes.requests}: start `media-stream worker audio`" in data["message"]
