"""Asset ids, rater hashing, backends, the one-scene reproduction and the fold (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from media_stream.catalog.fold import catalog_entry, entry_key
from media_stream.domain.assets import AssetRated, backend_of, hash_rater, parse_asset_id, scene_reproduction
from media_stream.domain.errors import ValidationError
from media_stream.domain.outcomes import AudioReady, ImageReady
from media_stream.domain.requests import Character, MusicRequested, NarrationRequested, Scene, StoryboardRequested, StyleConfig
from media_stream.domain.scenes import plan_scenes
from media_stream.storage.memory import MemoryStore


def test_asset_ids_parse_back_and_bad_ones_name_the_field() -> None:
    ref = parse_asset_id("job-1:s0:v12")
    assert (ref.job_id, ref.part, ref.render_version) == ("job-1", "s0", 12)
    for bad in ("job-1:s0", "job-1:s0:12", "job/1:s0:v1", "a:b:v0", "a:b:vx", ""):
        with pytest.raises(ValidationError) as raised:
            parse_asset_id(bad)
        assert raised.value.field == "assetId"


def test_rater_hash_is_keyed_and_stable() -> None:
    one, again, other_key = hash_rater("alice", b"k1"), hash_rater("alice", b"k1"), hash_rater("alice", b"k2")
    assert one == again and one != other_key and "alice" not in one and len(one) == 64
    with pytest.raises(ValidationError):
        hash_rater(" ", b"k1")


@pytest.mark.parametrize("rating", [0, 6, 3.5, True])
def test_ratings_outside_one_to_five_are_refused(rating: object) -> None:
    with pytest.raises(ValidationError) as raised:
        AssetRated("p", "j:s0:v1", rating, "h").validate()  # type: ignore[arg-type]
    assert raised.value.field == "rating"


@pytest.mark.parametrize(
    ("model", "backend"),
    [("preview/embedded-v1 (not a diffusion model)", "preview"), ("espeak-ng 1.52.0:fr+f3", "espeak-ng"), ("procedural-v1", "procedural"),
     ("coqui:tts_models/fr/css10/vits", "coqui"), ("musicgen:facebook/musicgen-medium", "musicgen"), ("", "unknown")],
)  # fmt: skip
def test_backend_is_the_first_word_of_the_model(model: str, backend: str) -> None:
    assert backend_of(model) == backend


def test_one_scene_reproduction_plans_to_the_same_work() -> None:
    lea = Character("lea", "Léa", "a girl")
    request = StoryboardRequested(
        "req", "job", "proj", scenes=(Scene("s0", "a fox"), Scene("s1", "Léa and the fox", (lea,)), Scene("s2", "night")),
        style_config=StyleConfig(style="watercolor", negative_prompt="blurry", width=64, height=64, steps=3),
    )  # fmt: skip
    original = plan_scenes(request)
    for index, work in enumerate(original):
        again = plan_scenes(scene_reproduction(request, index, work.seed))
        assert len(again) == 1
        assert dataclasses.replace(again[0], scene_index=index) == work  # everything the renderer sees, but the index
        scene_reproduction(request, index, work.seed).validate()


def test_fold_of_an_image_and_of_audio() -> None:
    source = StoryboardRequested("req", "job", "proj", render_version=3, scenes=(Scene("s1", "fox"),), style_config=StyleConfig(style="noir", seed=9))
    image = ImageReady("job", "proj", "req", 3, scene_id="s1", scene_index=4, storage_key="images/proj/job/s1/3.png", seed=9, prompt="fox, noir",
                       model="sdxl:base", sha256="ab", consistency_score=0.9, character_scores={"fox": 0.85, "lea": 0.95},
                       source_request=source, request_source="t/0/5", replay_of="t/0/1")  # fmt: skip
    entry = catalog_entry(image)
    assert entry.character_scores == {"fox": 0.85, "lea": 0.95}
    assert entry_key(entry) == "proj/job:s1:v3" and entry.kind == "image" and entry.style == "noir" and entry.backend == "sdxl"
    assert (entry.seed, entry.scene_index, entry.consistency_score, entry.replay_of, entry.request) == (9, 4, 0.9, "t/0/1", source)
    assert catalog_entry(image, entry.cataloged_at) == entry  # a pure function of the outcome
    narration = NarrationRequested("req-n", "job-n", "proj", text="Bonjour.")
    heard = catalog_entry(AudioReady("job-n", "proj", "req-n", 1, kind="narration", model="espeak-ng 1.52.0:fr", narration_request=narration))
    assert (heard.asset_id, heard.kind, heard.prompt, heard.style, heard.request) == ("job-n:audio:v1", "narration", "Bonjour.", None, narration)
    music = MusicRequested("req-m", "job-m", "proj", style="epic")
    played = catalog_entry(AudioReady("job-m", "proj", "req-m", 2, kind="music", model="procedural-v1", music_request=music))
    assert (played.asset_id, played.style, played.backend, played.request) == ("job-m:audio:v2", "epic", "procedural", music)


def test_memory_store_lists_by_prefix_and_deletes() -> None:
    store = MemoryStore()
    for key in ("images/p1/j/s0/1.png", "images/p10/j/s0/1.png", "music/p1/j/audio/1.mp3"):
        store.put(key, b"x", "application/octet-stream", {})
    assert store.list("images/p1/") == ["images/p1/j/s0/1.png"]
    store.delete("images/p1/j/s0/1.png")
    store.delete("images/p1/j/s0/1.png")  # already gone: nothing happens
    assert store.list("images/") == ["images/p10/j/s0/1.png"] and not store.exists("images/p1/j/s0/1.png")


@pytest.mark.parametrize("record", ["AssetCataloged", "AssetRated", "ImageReady", "AudioReady"])
def test_dataclasses_match_their_schemas(record: str) -> None:
    from media_stream.domain import assets, outcomes
    from media_stream.domain.records import from_record, to_record
    from media_stream.serde.codec import EventCodec
    from media_stream.config import Settings
    from tests.helpers.samples import SAMPLES

    cls = getattr(assets, record, None) or getattr(outcomes, record)
    value = from_record(cls, SAMPLES[record])
    assert to_record(value) == SAMPLES[record]  # every Avro field has its attribute, nested requests included
    codec = EventCodec.from_settings(Settings())
    assert from_record(cls, codec.decode(codec.encode(record, to_record(value))).value) == value
