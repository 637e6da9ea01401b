"""Each POST publishes exactly one request event; Idempotency-Key replays; the read-only routes."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from media_stream.domain.audio_work import estimate_narration
from media_stream.domain.requests import ImageRequested, MusicRequested, NarrationRequested, StoryboardRequested
from media_stream.domain.styles import IMAGE_STYLES
from media_stream.domain.voices import VOICE_CATALOG
from tests.integration.gateway.conftest import SERVICE, USER, Gateway, bearer

pytestmark = pytest.mark.kafka


def test_each_post_publishes_exactly_one_event_of_its_type(gateway: Gateway) -> None:
    http, user = gateway.http, bearer(USER)
    image = http.post("/api/v1/images/generate", json={"projectId": "proj-g", "prompt": "a lighthouse", "width": 64, "height": 64, "seed": 7, "jobId": "job-light"}, headers=user)
    assert image.status_code == 202, image.text
    body = image.json()
    assert body["jobId"] == "job-light" and body["status"] == "queued" and body["topic"] == gateway.routes.requests
    assert body["eventsUrl"].endswith("/api/v1/jobs/job-light/events") and body["statusUrl"].endswith("/api/v1/images/status/job-light")
    board = http.post(
        "/api/v1/images/batch-generate",
        json={"projectId": "proj-g", "scenes": [{"sceneId": "s1", "prompt": "dawn", "characters": [{"characterId": "fox", "name": "Fox"}]}, {"sceneId": "s2", "prompt": "dusk"}], "styleConfig": {"style": "watercolor", "width": 64, "height": 64}},
        headers=user,
    )
    assert board.status_code == 202, board.text
    images = gateway.events_on(gateway.routes.requests)
    assert [type(e) for e in images] == [ImageRequested, StoryboardRequested]
    single, storyboard = images
    assert (single.job_id, single.project_id, single.prompt, single.width, single.seed) == ("job-light", "proj-g", "a lighthouse", 64, 7)
    assert storyboard.job_id == board.json()["jobId"] and [s.scene_id for s in storyboard.scenes] == ["s1", "s2"]
    assert storyboard.scenes[0].characters[0].name == "Fox" and storyboard.style_config.style == "watercolor"

    text = "Il était une fois un petit renard. Il marchait dans la neige, sous la lune."
    narration = http.post("/api/v1/audio/narration", json={"projectId": "proj-g", "text": text, "voice": "fr-FR-Henri"}, headers=user)
    assert narration.status_code == 202, narration.text
    music = http.post("/api/v1/audio/music", json={"projectId": "proj-g", "durationSeconds": 4, "style": "lullaby"}, headers=user)
    assert music.status_code == 202
    assert "estimatedDuration" not in music.json()
    audio = gateway.events_on(gateway.audio_routes.requests)
    assert [type(e) for e in audio] == [NarrationRequested, MusicRequested]
    spoken = audio[0]
    assert narration.json()["estimatedDuration"] == pytest.approx(estimate_narration(spoken), abs=1e-3)
    assert 2.0 < narration.json()["estimatedDuration"] < 15.0
    assert audio[1].duration_seconds == 4 and audio[1].style == "lullaby"


def test_an_idempotency_key_replays_the_first_answer_and_a_new_body_is_409(gateway: Gateway) -> None:
    http = gateway.http
    first_body = {"projectId": "proj-i", "prompt": "a red boat", "width": 64, "height": 64}
    headers = {**bearer(USER), "Idempotency-Key": "order-42"}
    first = http.post("/api/v1/images/generate", json=first_body, headers=headers)
    again = http.post("/api/v1/images/generate", json=first_body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["Idempotency-Replayed"] == "true"
    assert first.headers["Idempotency-Replayed"] == "false"
    conflict = http.post("/api/v1/images/generate", json={**first_body, "prompt": "a blue boat"}, headers=headers)
    assert conflict.status_code == 409 and conflict.json()["error"] == "idempotency_conflict"
    # The same key from another caller is another key; concurrent replays publish once.
    other = http.post("/api/v1/images/generate", json=first_body, headers={**bearer(SERVICE), "Idempotency-Key": "order-42"})
    assert other.status_code == 202 and other.json()["jobId"] != first.json()["jobId"]
    race_body = {"projectId": "proj-i", "text": "bonjour", "voice": "fr-FR-Denise"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: http.post("/api/v1/audio/narration", json=race_body, headers={**bearer(USER), "Idempotency-Key": "race"}), range(4)))
    assert {a.status_code for a in answers} == {202} and len({a.json()["jobId"] for a in answers}) == 1
    # A refused body is not remembered: the key stays free for a valid one.
    bad = http.post("/api/v1/audio/music", json={"projectId": "proj-i", "tempo": 1}, headers={**bearer(USER), "Idempotency-Key": "m1"})
    good = http.post("/api/v1/audio/music", json={"projectId": "proj-i", "tempo": 90}, headers={**bearer(USER), "Idempotency-Key": "m1"})
    assert (bad.status_code, good.status_code) == (422, 202)

    images = gateway.events_on(gateway.routes.requests)
    assert sorted(e.job_id for e in images) == sorted([first.json()["jobId"], other.json()["jobId"]])
    audio = gateway.events_on(gateway.audio_routes.requests)
    assert [type(e) for e in audio] == [NarrationRequested, MusicRequested] and audio[1].tempo == 90


def test_voices_styles_and_a_style_preview(gateway: Gateway) -> None:
    http, user = gateway.http, bearer(USER)
    voices = http.get("/api/v1/audio/voices", headers=user).json()
    assert [v["voiceId"] for v in voices] == list(VOICE_CATALOG)
    assert {k: voices[0][k] for k in ("voiceId", "language", "gender", "label")} == {"voiceId": "fr-FR-Denise", "language": "fr-FR", "gender": "female", "label": VOICE_CATALOG["fr-FR-Denise"].label}
    henri = next(v for v in voices if v["voiceId"] == "fr-FR-Henri")  # per backend: what speaks it, and whether it is distinct
    assert [(b["backend"], b["distinct"]) for b in henri["backends"]] == [("espeak", True), ("coqui", True)]
    assert henri["backends"][1]["spokenBy"].endswith("[Damien Black]")
    styles = http.get("/api/v1/styles/", headers=user).json()
    assert [s["styleId"] for s in styles] == list(IMAGE_STYLES)
    watercolor = http.get("/api/v1/styles/watercolor", headers=user)
    assert watercolor.status_code == 200 and watercolor.json()["promptTemplate"] == IMAGE_STYLES["watercolor"].prompt_template
    assert watercolor.json()["previewUrl"].endswith("/api/v1/styles/watercolor/preview")
    assert http.get("/api/v1/styles/nope", headers=user).status_code == 404
    assert http.get("/api/v1/styles/nope/preview", headers=user).status_code == 404
    preview = http.get("/api/v1/styles/watercolor/preview", headers=user)
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    assert preview.headers["X-Preview-Backend"] == "preview"
    assert Image.open(io.BytesIO(preview.content)).size == (512, 512)
    again = http.get("/api/v1/styles/watercolor/preview", headers=user)
    assert again.content == preview.content  # cached in storage, not rendered again
    assert any(p.suffix == ".png" and "style-previews" in str(p) for p in gateway.settings.storage.root.rglob("*"))


def test_status_of_an_unknown_job_is_404(gateway: Gateway) -> None:
    for path in ("/api/v1/images/status/job-none", "/api/v1/audio/status/job-none", "/api/v1/images/status/..bad"):
        answer = gateway.http.get(path, headers=bearer(USER))
        assert answer.status_code == 404 and answer.json()["error"] == "not_found"
    cancel = gateway.http.post("/api/v1/images/cancel/job-none", headers=bearer(SERVICE))
    assert cancel.status_code == 404 and "projectId" in cancel.json()["message"]
    assert gateway.events_on(gateway.routes.control) == []
