"""Invalid requests produce clear errors that name the field and what is allowed."""

import math

import pytest

from media_stream.domain.errors import ValidationError
from media_stream.domain.requests import (
    CancelRequested,
    Character,
    ImageRequested,
    MusicRequested,
    NarrationRequested,
    Scene,
    StoryboardRequested,
    StyleConfig,
)


def image(**overrides):
    fields = dict(request_id="r-1", job_id="j-1", project_id="p-1", prompt="a fox in the snow")
    fields.update(overrides)
    return ImageRequested(**fields)


def storyboard(**overrides):
    fields = dict(
        request_id="r-1",
        job_id="j-1",
        project_id="p-1",
        scenes=(Scene("s1", "Léa in the rain", (Character("lea", "Léa", "yellow raincoat"),)),),
    )
    fields.update(overrides)
    return StoryboardRequested(**fields)


def test_valid_requests_pass():
    image().validate()
    storyboard().validate()
    NarrationRequested("r", "j", "p", text="Il était une fois", voice="fr-FR-Henri").validate()
    MusicRequested("r", "j", "p", duration_seconds=30, style="sad", tempo=90).validate()
    CancelRequested("r", "j", "p", reason="user asked").validate()


@pytest.mark.parametrize(
    "overrides, field, allowed",
    [
        ({"width": 1001}, "width", "multiple of 8"),
        ({"height": 4096}, "height", "2048"),
        ({"steps": 0}, "steps", "1..150"),
        ({"steps": 151}, "steps", "1..150"),
        ({"guidance": 30.5}, "guidance", "0.0..30.0"),
        ({"guidance": math.nan}, "guidance", "finite"),
        ({"style": "vaporwave"}, "style", "watercolor"),
        ({"prompt": ""}, "prompt", None),
        ({"prompt": "x" * 2001}, "prompt", "at most 2000"),
        ({"seed": -1}, "seed", "0.."),
        ({"project_id": "../etc"}, "projectId", "no '..'"),
        ({"job_id": "a/b"}, "jobId", "letters, digits"),
        ({"request_id": "r\x00"}, "requestId", None),
        ({"scene_id": "x" * 129}, "sceneId", "1..128"),
    ],
)
def test_image_errors_name_the_field(overrides, field, allowed):
    with pytest.raises(ValidationError) as info:
        image(**overrides).validate()
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:")
    if allowed:
        assert allowed in str(info.value)


def test_storyboard_errors_point_into_the_scene():
    with pytest.raises(ValidationError) as info:
        storyboard(scenes=(Scene("s1", "ok"), Scene("s1", "again"))).validate()
    assert info.value.field == "scenes[1].sceneId"

    bad_character = Scene("s1", "ok", (Character("fox", "Fox", reference_image="http://evil/x.png"),))
    with pytest.raises(ValidationError) as info:
        storyboard(scenes=(bad_character,)).validate()
    assert info.value.field == "scenes[0].characters[0].referenceImage"
    assert "not a URL" in str(info.value)

    with pytest.raises(ValidationError) as info:
        storyboard(style_config=StyleConfig(width=12)).validate()
    assert info.value.field == "styleConfig.width"

    with pytest.raises(ValidationError) as info:
        storyboard(scenes=()).validate()
    assert info.value.field == "scenes"


def test_unknown_voice_lists_the_valid_ones():
    with pytest.raises(ValidationError) as info:
        NarrationRequested("r", "j", "p", text="hello", voice="xx-XX-Nobody").validate()
    assert info.value.field == "voice"
    assert "fr-FR-Denise" in str(info.value) and "fr-FR-Henri" in str(info.value)


@pytest.mark.parametrize(
    "overrides, field",
    [({"duration_seconds": 0.5}, "durationSeconds"), ({"duration_seconds": 301}, "durationSeconds"),
     ({"style": "polka"}, "style"), ({"tempo": 500}, "tempo"), ({"intensity": 1.5}, "intensity")],
)
def test_music_limits(overrides, field):
    with pytest.raises(ValidationError) as info:
        MusicRequested("r", "j", "p", **overrides).validate()
    assert info.value.field == field


def test_narration_length_cap():
    with pytest.raises(ValidationError) as info:
        NarrationRequested("r", "j", "p", text="a" * 20_001).validate()
    assert info.value.field == "text"


def test_control_images_and_voice_clips_are_storage_keys_never_urls():
    with pytest.raises(ValidationError) as info:
        image(control_image="https://example.com/edges.png").validate()
    assert info.value.field == "controlImage" and "not a URL" in str(info.value)
    with pytest.raises(ValidationError) as info:
        storyboard(scenes=(Scene("s1", "ok", control_image="../../etc/passwd"),)).validate()
    assert info.value.field == "scenes[0].controlImage"
    with pytest.raises(ValidationError) as info:
        storyboard(scenes=(Scene("s1", "ok", control_image="uploads/p-1/edges.png", control_scale=3.0),)).validate()
    assert info.value.field == "scenes[0].controlScale" and "0.0..2.0" in str(info.value)
    storyboard(scenes=(Scene("s1", "ok", control_image="uploads/p-1/edges.png", control_scale=0.8),)).validate()
    narration = NarrationRequested("r-1", "j-1", "p-1", text="Bonjour.", reference_audio="s3://bucket/clip.wav")
    with pytest.raises(ValidationError) as info:
        narration.validate()
    assert info.value.field == "referenceAudio"
