"""Character consistency across scenes, requests and agent restarts (CharacterReferences over an
in-memory registry and a filesystem store), rendered with the tiny SDXL + IP-Adapter."""

from __future__ import annotations

import numpy as np
import pytest

from media_stream.domain.errors import PermanentError
from media_stream.domain.requests import Character, Scene, StoryboardRequested, StyleConfig
from media_stream.domain.scenes import plan_scenes
from media_stream.render.image.character_regions import crop_to_subject
from media_stream.runtime.character_references import CharacterReferences, attach_references, reference_key
from media_stream.state.characters import InMemoryCharacterRegistry
from media_stream.storage.filesystem import FilesystemStore
from tests.unit.render.helpers import pixels, png

LEA = Character("lea", "Léa", "a girl in a yellow raincoat")
FOX = Character("fox", "the fox", "a small orange fox with a blue scarf")


class CountingRenderer:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_batch_size = inner.max_batch_size
        self.rendered: list[str] = []
        self.works = []

    def load(self) -> None:
        self.inner.load()

    def render(self, batch, hooks=None):
        self.rendered += [w.scene_id for w in batch]
        self.works += list(batch)
        return self.inner.render(batch, hooks)


def references(registry, store, renderer):
    return CharacterReferences(registry, store, renderer, portrait_width=64, portrait_height=64, portrait_steps=2)


def storyboard(request_id, scenes, consistency=True):
    return StoryboardRequested(
        request_id, f"job-{request_id}", "p1", scenes=scenes,
        style_config=StyleConfig(style="watercolor", width=64, height=64, steps=3, seed=42), consistency_mode=consistency,
    )


def test_first_appearance_renders_a_portrait_then_every_call_reuses_it(sdxl, tmp_path):
    registry, store, renderer = InMemoryCharacterRegistry(), FilesystemStore(tmp_path), CountingRenderer(sdxl)
    refs = references(registry, store, renderer)
    first = refs.ensure("p1", [LEA, FOX, LEA], "watercolor", True)
    assert [r.character_id for r in first] == ["lea", "fox"]
    assert renderer.rendered == ["reference-lea", "reference-fox"] and refs.portraits_rendered == 2
    assert store.exists(reference_key("p1", "lea")) and reference_key("p1", "lea") == "characters/p1/lea/reference/1.png"
    identity = registry.get("p1", "lea")
    assert identity.reference_key == reference_key("p1", "lea") and identity.source == "rendered"
    identity_fox = registry.get("p1", "fox")

    again = refs.ensure("p1", [FOX], "anime", True)  # a later request, another style: the same fox, in anime
    assert renderer.rendered == ["reference-lea", "reference-fox", "reference-fox-anime"]
    assert again[0].image != first[1].image and again[0].seed == first[1].seed
    assert registry.get("p1", "fox") == identity_fox  # the identity is unchanged
    assert store.exists("characters/p1/fox/reference-anime/1.png")
    restyled = renderer.works[-1]
    assert "anime" in restyled.prompt or restyled.style == "anime"
    assert [r.image for r in restyled.references] == [first[1].image]  # conditioned on the first portrait
    # what conditions scenes is the portrait cropped to the character
    assert first[0].image == crop_to_subject(store.get(reference_key("p1", "lea")))
    assert refs.ensure("p1", [FOX], "anime", True) == again  # rendered once per style
    assert len(renderer.rendered) == 3

    restarted = references(registry, store, renderer)  # an agent restart: new object, same state
    assert restarted.ensure("p1", [LEA], "watercolor", True)[0].image == first[0].image
    assert restarted.portraits_rendered == 0 and len(renderer.rendered) == 3

    other_project = refs.ensure("p2", [LEA], "watercolor", True)
    assert len(renderer.rendered) == 4 and registry.get("p2", "lea").reference_key.startswith("characters/p2/")
    assert other_project[0].seed != first[0].seed


def test_a_portrait_stored_before_a_crash_is_reused_even_if_unregistered(sdxl, tmp_path):
    store, renderer = FilesystemStore(tmp_path), CountingRenderer(sdxl)
    references(InMemoryCharacterRegistry(), store, renderer).ensure("p1", [LEA], "watercolor", True)
    lost_registry = InMemoryCharacterRegistry()
    refs = references(lost_registry, store, renderer)
    refs.ensure("p1", [LEA], "watercolor", True)
    assert renderer.rendered == ["reference-lea"] and lost_registry.get("p1", "lea") is not None


def test_consistency_off_means_no_references_and_no_render(sdxl, tmp_path):
    renderer = CountingRenderer(sdxl)
    refs = references(InMemoryCharacterRegistry(), FilesystemStore(tmp_path), renderer)
    assert refs.ensure("p1", [LEA, FOX], "watercolor", False) == ()
    assert renderer.rendered == []


def test_a_provided_reference_image_is_used_as_is(sdxl, tmp_path):
    store, renderer = FilesystemStore(tmp_path), CountingRenderer(sdxl)
    store.put("uploads/p1/lea.png", png(colour=(250, 200, 0)), "image/png", {})
    refs = references(InMemoryCharacterRegistry(), store, renderer)
    (ref,) = refs.ensure("p1", [Character("lea", "Léa", reference_image="uploads/p1/lea.png")], "watercolor", True)
    assert ref.image == store.get("uploads/p1/lea.png") and renderer.rendered == []
    assert refs.registry.get("p1", "lea").source == "provided"
    with pytest.raises(PermanentError, match="uploads/p1/missing.png"):
        refs.ensure("p1", [Character("owl", "Owl", reference_image="uploads/p1/missing.png")], "watercolor", True)


def test_scenes_of_two_requests_are_conditioned_on_the_same_reference(sdxl, tmp_path):
    registry, store, renderer = InMemoryCharacterRegistry(), FilesystemStore(tmp_path), CountingRenderer(sdxl)
    refs = references(registry, store, renderer)
    board = storyboard("r1", (Scene("s1", "walking in the rain", (LEA,)), Scene("s2", "by the river", (LEA, FOX)), Scene("s3", "an empty road")))
    works = attach_references(plan_scenes(board), refs.ensure("p1", [LEA, FOX], board.style_config.style, True))
    assert [[r.character_id for r in w.references] for w in works] == [["lea"], ["lea", "fox"], []]
    images = sdxl.render(works)
    assert all("ip-adapter" in i.model for i in images[:2]) and "ip-adapter" not in images[2].model

    later = storyboard("r2", (Scene("s1", "walking in the rain", (LEA,)),))
    restarted = references(registry, store, renderer)
    (work,) = attach_references(plan_scenes(later), restarted.ensure("p1", [LEA], "watercolor", True))
    assert work.references == works[0].references
    (image,) = sdxl.render([work])
    assert np.array_equal(pixels(image.data), pixels(images[0].data))  # same seed, same reference
    assert renderer.rendered.count("reference-lea") == 1
