"""Records, keys and scene planning: the pure parts the runtime builds on."""

import pytest

from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import storage_key
from media_stream.domain.records import from_record, to_record
from media_stream.domain.requests import Character, ImageRequested, Scene, StoryboardRequested, StyleConfig
from media_stream.domain.scenes import plan_scenes


def make_storyboard(seed=None):
    lea = Character("lea", "Léa", "yellow raincoat")
    fox = Character("fox", "the fox", "blue scarf")
    return StoryboardRequested(
        "r-1", "j-1", "p-1",
        scenes=(Scene("s1", "in the rain", (lea, fox)), Scene("s2", "at the market", (lea,))),
        style_config=StyleConfig(style="watercolor", negative_prompt="dogs", width=512, height=384, seed=seed),
    )


def test_record_round_trip_uses_avro_field_names():
    request = make_storyboard(seed=7)
    record = to_record(request)
    assert record["styleConfig"]["negativePrompt"] == "dogs"
    assert record["scenes"][0]["characters"][1]["characterId"] == "fox"
    assert from_record(StoryboardRequested, record) == request


def test_storage_key_is_deterministic_and_refuses_traversal():
    assert storage_key("images", "p-1", "j-1", "s1", 2, "png") == "images/p-1/j-1/s1/2.png"
    for bad in ("..", "a/b", "", "x\n"):
        with pytest.raises(ValidationError):
            storage_key("images", bad, "j-1", "s1", 1, "png")
    with pytest.raises(ValidationError):
        storage_key("images", "p", "j", "s", 0, "png")


def test_scenes_merge_style_characters_and_seeds():
    work = plan_scenes(make_storyboard(seed=100))
    assert [w.scene_id for w in work] == ["s1", "s2"]
    assert [w.seed for w in work] == [100, 101]
    assert "Léa (yellow raincoat)" in work[0].prompt and "the fox (blue scarf)" in work[0].prompt
    assert "watercolor painting" in work[0].prompt
    assert work[0].negative_prompt.endswith("dogs") and "photo" in work[0].negative_prompt
    assert work[0].batch_key == work[1].batch_key


def test_absent_seed_is_chosen_once_and_stable():
    first, again = plan_scenes(make_storyboard()), plan_scenes(make_storyboard())
    assert first[0].seed == again[0].seed
    other = plan_scenes(StoryboardRequested("r-2", "j-1", "p-1", scenes=make_storyboard().scenes))
    assert other[0].seed != first[0].seed


def test_single_image_is_a_one_scene_storyboard():
    board = ImageRequested("r", "j", "p", prompt="a fox", style="cartoon", width=256, height=256, seed=3).as_storyboard()
    (work,) = plan_scenes(board)
    assert (work.scene_id, work.seed, work.width) == ("image", 3, 256)
