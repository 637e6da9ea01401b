"""Decoding and validation alone, with many examples and no broker: whatever the bytes, a
request message either becomes a valid request or a PermanentError that names what is wrong,
and the dead letter built for it always encodes and fits the dead-letter topic."""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media_stream.domain.errors import PermanentError
from media_stream.domain.records import to_record
from media_stream.kafka.messages import ConsumedMessage
from media_stream.runtime.dead_letters import dead_letter_messages
from media_stream.runtime.image_medium import ImageMedium
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.dead_letters import MAX_DEAD_LETTER_BYTES
from media_stream.serde.decoding import best_effort_ids, decode_request
from media_stream.serde.encoding import EventEncoder
from tests.fuzz.strategies import (
    IMAGE_REQUESTS,
    REQUEST_NAMES,
    TEXT,
    adversarial_requests,
    codec,
    good_image,
    mutated_bytes,
    schema_store,
    schema_values,
    unknown_union_branch,
)

EXAMPLES = int(os.environ.get("MEDIA_STREAM_FUZZ_EXAMPLES", "600"))
CODEC = codec()
ENCODER = EventEncoder(CODEC)
STORE = schema_store()
MEDIUM = ImageMedium(renderer=None, store=None, routes=None, encoder=ENCODER)  # type: ignore[arg-type]
ROUTES = AgentRoutes(
    requests="requests", dead_letters="dlq", job_status="status", job_failed="failed", control="control",
    dedupe="dedupe", progress="progress", request_types=IMAGE_REQUESTS, image_ready="ready",
    batch_completed="batch", character_registry="characters",
)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def consume(value: bytes | None, key: bytes | None = b"proj-1", headers: tuple = ()) -> ConsumedMessage:
    return ConsumedMessage("requests", 0, 42, key, value, headers)


def outcome(message: ConsumedMessage) -> tuple[str, Any]:
    """('request', request) or ('dead', [outgoing messages]); anything else raised is a bug."""
    try:
        request = decode_request(CODEC, message, IMAGE_REQUESTS)
        plan = MEDIUM.plan(request)
    except PermanentError as error:
        out = dead_letter_messages(ENCODER, ROUTES, message, error, best_effort_ids(CODEC, message), "00-" + "1" * 32 + "-" + "2" * 16 + "-01")
        for sent in out:
            assert len(sent.value or b"") + len(sent.key or b"") + sum(len(k) + len(v or b"") for k, v in sent.headers) <= MAX_DEAD_LETTER_BYTES
        letter = CODEC.decode(out[0].value).value
        assert letter["errorClass"] and letter["errorMessage"], "a dead letter always says why"
        return "dead", out
    assert plan.steps, "a valid request has work to do"
    return "request", request


@FUZZ
@given(st.data())
def test_any_schema_valid_request_is_accepted_or_refused_with_a_reason(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(REQUEST_NAMES))
    value = data.draw(schema_values(STORE.get(name)))
    key = data.draw(st.sampled_from((value.get("projectId", "p").encode("utf-8", "surrogatepass"), b"proj-1", None, b"\xff\xfe")))
    kind, result = outcome(consume(CODEC.encode(name, value), key=key))
    if kind == "request":
        assert name in IMAGE_REQUESTS and result.project_id == key.decode()


@FUZZ
@given(st.data())
def test_adversarial_values_are_refused_naming_the_field(data: st.DataObject) -> None:
    name, value = data.draw(adversarial_requests("job-1", "proj-1"))
    key = str(value["projectId"]).encode("utf-8")
    kind, result = outcome(consume(CODEC.encode(name, value), key=key))
    assert kind == "dead", f"accepted an adversarial {name}: {value}"


@FUZZ
@given(st.data())
def test_mutated_bytes_never_escape_as_anything_but_a_dead_letter_or_a_valid_request(data: st.DataObject) -> None:
    valid = CODEC.encode("ImageRequested", good_image("job-1", "proj-1"))
    mutation, value = data.draw(mutated_bytes(valid))
    kind, result = outcome(consume(value))
    if kind == "request":  # a flip can land on a byte that still decodes; then it passed validation
        result.validate()


@pytest.mark.parametrize("field,branch", [("negativePrompt", 2), ("seed", 3), ("sceneId", 5), ("controlScale", 2)])
def test_an_unknown_union_branch_is_undecodable(field: str, branch: int) -> None:
    value = unknown_union_branch(STORE.get("ImageRequested"), good_image("job-1", "proj-1"), field, branch)
    kind, out = outcome(consume(value))
    assert kind == "dead"
    assert CODEC.decode(out[0].value).value["errorClass"] == "UndecodableMessage"


def test_an_oversized_message_still_makes_a_dead_letter_that_fits() -> None:
    huge = good_image("job-1", "proj-1") | {"prompt": "x" * 1_000_000}
    message = consume(CODEC.encode("ImageRequested", huge), key=b"k" * 200_000, headers=(("h", b"v" * 300_000),))
    kind, out = outcome(message)
    assert kind == "dead"
    letter = CODEC.decode(out[0].value).value
    assert "truncated" in letter["errorMessage"] and letter["errorClass"] == "ValidationError"
    assert letter["value"] == message.value[: len(letter["value"])]  # a prefix of the original bytes
    failed = CODEC.decode(out[1].value).value  # the job id was readable: a JobFailed follows
    assert failed["jobId"] == "job-1" and "prompt" in failed["reason"]


def test_a_good_request_is_accepted() -> None:
    kind, request = outcome(consume(CODEC.encode("ImageRequested", good_image("job-1", "proj-1"))))
    assert kind == "request" and request.job_id == "job-1"
    assert to_record(request)["prompt"] == "a lighthouse job-1"


AUDIO_REQUESTS = ("NarrationRequested", "MusicRequested")
AUDIO = None


def audio_medium():  # built on first use: AudioSettings reads the environment
    global AUDIO
    if AUDIO is None:
        from media_stream.config import AudioSettings
        from media_stream.runtime.audio_medium import AudioMedium

        AUDIO = AudioMedium(None, None, None, None, ENCODER, AudioSettings())  # type: ignore[arg-type]
    return AUDIO


NEAR_RANGE = st.one_of(st.floats(0.4, 2.1), st.sampled_from((math.nan, math.inf, -math.inf, 0.0, 300.0, 301.0)))


@st.composite
def audio_requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Audio requests that are mostly valid in their envelope, so the text and numbers reach planning."""
    from media_stream.domain.styles import MUSIC_STYLES, VOICES

    envelope = {"requestId": "req-1", "jobId": "job-1", "projectId": "proj-1", "createdAt": datetime(2026, 1, 1, tzinfo=timezone.utc), "renderVersion": 1}
    if draw(st.booleans()):
        text = draw(st.one_of(TEXT, st.text(max_size=300), st.sampled_from((" ", "\n\n", ".", "!!!", "a" * 20_001, "。" * 5000, "x " * 9000))))
        return "NarrationRequested", envelope | {
            "text": text, "voice": draw(st.sampled_from(sorted(VOICES)) | TEXT), "speed": draw(NEAR_RANGE), "pitch": draw(NEAR_RANGE),
            "emotion": draw(st.none() | TEXT), "referenceAudio": draw(st.none() | st.sampled_from(("voices/p/clip.wav", "../x.wav", "http://x/y.wav"))),
        }
    return "MusicRequested", envelope | {
        "durationSeconds": draw(NEAR_RANGE), "style": draw(st.sampled_from(sorted(MUSIC_STYLES)) | TEXT),
        "tempo": draw(st.none() | st.integers(-(2**31), 2**31 - 1) | st.integers(30, 230)), "intensity": draw(NEAR_RANGE),
    }


@FUZZ
@given(audio_requests())
def test_audio_requests_are_planned_or_refused_with_a_reason(drawn: tuple[str, dict[str, Any]]) -> None:
    name, value = drawn
    message = consume(CODEC.encode(name, value))
    try:
        request = decode_request(CODEC, message, AUDIO_REQUESTS)
        plan = audio_medium().plan(request)
    except PermanentError as error:
        assert str(error)
        return
    assert plan.steps
    if name == "NarrationRequested":
        work = plan.steps[0]
        assert work.chunks and all(chunk.text.strip() for chunk in work.chunks), "a narration to render has text in every chunk"
