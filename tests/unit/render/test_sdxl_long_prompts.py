"""Long prompts: a two-character scene whose full prompt (scene + character clause + style suffix)
is past CLIP's 77 tokens is encoded whole, in windows; past the window limit the outcome says
what was left out. (The tiny tokenizer spells words letter by letter: a token per letter.)"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from media_stream.domain.requests import Character, Scene, StoryboardRequested, StyleConfig
from media_stream.domain.scenes import CharacterReference, plan_scenes
from media_stream.render.image.sdxl_prompts import _encode, window_count
from tests.unit.render.helpers import pixels, png, scene

LEA = Character("lea", "Lea", "a girl in a yellow raincoat")
FOX = Character("fox", "the fox", "a small orange fox with a blue scarf")


def two_character_scene(style: str = "watercolor", fox: Character = FOX):
    board = StoryboardRequested(
        "r1", "job-1", "p1",
        scenes=[Scene("picnic", "Lea and the fox share a picnic by the river", characters=(LEA, fox))],
        style_config=StyleConfig(style=style, width=64, height=64, steps=3, seed=42),
    )
    return board, plan_scenes(board)[0]


def tokens(renderer, text: str) -> int:
    return len(renderer.loaded.base.tokenizer(text, add_special_tokens=False, verbose=False).input_ids)


def truncating_call(renderer, work):
    """The pipeline given the prompt as text (what the renderer did before): CLIP's 77 tokens."""
    pipe = renderer.loaded.base
    with torch.inference_mode():
        return pipe(
            prompt=[work.prompt], negative_prompt=[work.negative_prompt], width=64, height=64, num_inference_steps=3,
            guidance_scale=work.guidance, generator=[torch.Generator().manual_seed(work.seed)], output_type="np",
            ip_adapter_image_embeds=[torch.zeros(2, 1, 32)],  # the renderer's IP-Adapter, at scale 0
        ).images


def test_the_two_character_scene_is_past_77_tokens_and_its_tail_still_counts(sdxl):
    board, work = two_character_scene()
    assert work.prompt.endswith("watercolor painting, paper texture, gentle washes, soft edges")
    assert "the fox (a small orange fox with a blue scarf)" in work.prompt
    assert tokens(sdxl, work.prompt) > 77 + 75  # three windows of 75
    assert window_count(sdxl.loaded.base, work.prompt, sdxl.settings.max_prompt_chunks) == 3
    (image,) = sdxl.render([work])
    assert image.prompt_omitted is None

    # Only the part past token 77 differs: the old renderer (the pipeline's truncation) drew the
    # same image for all three. Here the second character and the style reach the UNet.
    _, other_fox = two_character_scene(fox=Character("fox", "the fox", "a small grey fox with a red scarf"))
    other_style = dataclasses.replace(work, prompt=work.prompt.replace("watercolor painting", "charcoal sketch"))
    prefix = work.prompt[:77]
    assert other_fox.prompt.startswith(prefix) and other_style.prompt.startswith(prefix)
    (fox_image,) = sdxl.render([other_fox])
    (style_image,) = sdxl.render([other_style])
    assert fox_image.data != image.data and style_image.data != image.data
    assert np.abs(pixels(image.data) - pixels(fox_image.data)).max() >= 2
    assert np.abs(pixels(image.data) - pixels(style_image.data)).max() >= 2
    truncated = [truncating_call(sdxl, w) for w in (work, other_fox, other_style)]
    assert np.array_equal(truncated[0], truncated[1]) and np.array_equal(truncated[0], truncated[2])
    (again,) = sdxl.render([work])
    assert again.data == image.data


def test_long_and_short_prompts_are_separate_calls_and_a_batch_equals_each_alone(sdxl):
    from media_stream.render.image.sdxl import BATCH_PIXEL_TOLERANCE

    _, long_a = two_character_scene()
    _, long_b = two_character_scene(fox=Character("fox", "the fox", "a small grey fox with a red scarf"))
    short = scene(42)
    before = len(sdxl.pipeline_calls)
    batch = sdxl.render([long_a, short, long_b])
    assert sorted(sdxl.pipeline_calls[before:]) == [1, 2]  # the long ones together, the short one alone
    for together, work in zip(batch, (long_a, short, long_b)):
        (alone,) = sdxl.render([work])
        assert np.abs(pixels(together.data) - pixels(alone.data)).max() <= BATCH_PIXEL_TOLERANCE


def test_past_the_window_limit_the_outcome_says_what_was_left_out(fresh_sdxl, tmp_path):
    from media_stream.runtime.image_medium import ImageMedium
    from media_stream.storage.filesystem import FilesystemStore

    board, work = two_character_scene()
    fresh_sdxl.settings = fresh_sdxl.settings.model_copy(update={"max_prompt_chunks": 2})
    (image,) = fresh_sdxl.render([work])
    assert tokens(fresh_sdxl, work.prompt) - 2 * 75 == len("edges")  # two windows hold all but the last word
    assert image.prompt_omitted == "edges" and work.prompt.endswith(image.prompt_omitted)
    ready = ImageMedium(fresh_sdxl, FilesystemStore(tmp_path), None, None)._store(board, work, image)
    assert ready.prompt_omitted == image.prompt_omitted and ready.prompt == work.prompt

    fresh_sdxl.settings = fresh_sdxl.settings.model_copy(update={"max_prompt_chunks": 1})  # CLIP's own limit
    (cut,) = fresh_sdxl.render([work])
    assert cut.prompt_omitted is not None and "bluescarf" in cut.prompt_omitted.replace(" ", "")  # letter tokens
    (short,) = fresh_sdxl.render([scene(3)])
    assert short.prompt_omitted is None


def test_one_window_is_exactly_diffusers_own_prompt_encoding(sdxl):
    pipe = sdxl.loaded.base
    text = "a fox, watercolor"
    embeds, pooled = _encode(pipe, text, 1, torch.device("cpu"))
    with torch.inference_mode():
        theirs, _, theirs_pooled, _ = pipe.encode_prompt(text, device=torch.device("cpu"), do_classifier_free_guidance=False)
    assert torch.equal(embeds, theirs) and torch.equal(pooled, theirs_pooled)
    two, two_pooled = _encode(pipe, text, 2, torch.device("cpu"))
    assert two.shape[1] == 2 * 77 and torch.equal(two[:, :77], theirs) and torch.equal(two_pooled, theirs_pooled)


def test_a_long_negative_prompt_is_encoded_too(sdxl):
    long_negative = "blurry, " * 20 + "purple"
    assert tokens(sdxl, long_negative) > 77
    (a,) = sdxl.render([scene(8, negative_prompt=long_negative)])
    (b,) = sdxl.render([scene(8, negative_prompt=long_negative.replace("purple", "orange"))])
    assert a.data != b.data  # the pipeline's truncation would give the same bytes: the change is past token 77


def test_a_long_prompt_goes_through_the_controlnet_and_the_ip_adapter(sdxl):
    from media_stream.domain.scenes import CharacterReference
    from tests.unit.render.helpers import png

    _, work = two_character_scene()
    lea = CharacterReference("lea", png(colour=(220, 30, 30)), seed=1, scale=0.8)
    control = png(lambda d: d.rectangle([16, 16, 48, 48], fill=(255, 255, 255)))
    (plain,) = sdxl.render([work])
    (conditioned,) = sdxl.render([dataclasses.replace(work, control_image=control, references=(lea,))])
    assert "controlnet" in conditioned.model and "ip-adapter" in conditioned.model
    assert conditioned.prompt_omitted is None and np.abs(pixels(plain.data) - pixels(conditioned.data)).max() > 5


def test_a_cut_prompt_and_the_character_scores_both_reach_the_image_ready(fresh_sdxl, tmp_path):
    """Both come out of PendingImage.finish (long prompts from the hub work, per-character scores
    from the characters work): a two-character scene with references, past the window limit."""
    from media_stream.runtime.character_references import attach_references
    from media_stream.runtime.image_medium import ImageMedium
    from media_stream.storage.filesystem import FilesystemStore

    board, work = two_character_scene()
    refs = [CharacterReference("lea", png(colour=(230, 200, 20)), seed=1), CharacterReference("fox", png(colour=(230, 120, 10)), seed=2)]
    (work,) = attach_references([work], refs)
    assert [r.character_id for r in work.references] == ["lea", "fox"]
    fresh_sdxl.settings = fresh_sdxl.settings.model_copy(update={"max_prompt_chunks": 2})
    (image,) = fresh_sdxl.render([work])
    assert image.prompt_omitted == "edges"
    assert image.character_scores is not None and set(image.character_scores) == {"lea", "fox"}
    assert image.consistency == round(sum(image.character_scores.values()) / 2, 6)
    ready = ImageMedium(fresh_sdxl, FilesystemStore(tmp_path), None, None)._store(board, work, image)
    assert ready.prompt_omitted == "edges"
    assert ready.character_scores == image.character_scores and ready.consistency_score == image.consistency
