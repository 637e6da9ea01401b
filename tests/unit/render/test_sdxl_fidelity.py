"""Fidelity to diffusers: on CPU, SdxlRenderer's image is bitwise the image of the direct
StableDiffusionXLPipeline / StableDiffusionXLControlNetPipeline call with the same prompt,
negative prompt, seed generator, scheduler, size, steps, guidance, canny image (the ControlNet
card's cv2 recipe) and, for the IP-Adapter, ip_adapter_image_embeds from diffusers' own
``prepare_ip_adapter_image_embeds`` and, with two or more characters, one mask per character
(its region, through diffusers' ``IPAdapterMaskProcessor``, as ``cross_attention_kwargs``
``ip_adapter_masks``, the diffusers IP-Adapter masking recipe). The direct pipelines are loaded separately from the same
folders, by diffusers alone."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from media_stream.domain.scenes import CharacterReference
from media_stream.render.image.character_regions import layout_bands, masks
from tests.unit.render.helpers import pixels, png, scene

# Measured on this 2-core CPU, float32: a batch of 4 against the 4 images alone, straight from
# diffusers (output_type="np"), differs by at most 1.19e-6 (a few ulps of 1.0); after rounding
# to 8 bits, by at most 1 level. The initial noise is identical (one generator per image); what
# differs is the batched matmuls and convolutions, whose CPU kernels block the sums differently
# for a different batch dimension. Our batch is bitwise diffusers' batch call; the bound is
# diffusers' own batch-vs-alone difference, asserted with margin.
BATCH_FLOAT_BOUND = 1e-5


@pytest.fixture(scope="module")
def direct(tiny_sdxl):
    """Plain diffusers pipelines: (base, base with the IP-Adapter, ControlNet pipeline)."""
    from diffusers import ControlNetModel, DPMSolverMultistepScheduler, StableDiffusionXLControlNetPipeline, StableDiffusionXLPipeline

    def base():
        pipe = StableDiffusionXLPipeline.from_pretrained(str(tiny_sdxl.model), local_files_only=True)
        pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)  # sdxl.scheduler default
        pipe.set_progress_bar_config(disable=True)
        return pipe

    plain, with_ip = base(), base()
    with_ip.load_ip_adapter(str(tiny_sdxl.ip_adapter), subfolder="", weight_name=tiny_sdxl.ip_weight_name, local_files_only=True)
    controlnet = ControlNetModel.from_pretrained(str(tiny_sdxl.controlnet), local_files_only=True)
    controlled = StableDiffusionXLControlNetPipeline.from_pipe(base(), controlnet=controlnet)
    controlled.set_progress_bar_config(disable=True)
    return plain, with_ip, controlled


def call(pipe, works, output_type="pil", **extra):
    first = works[0]
    return pipe(
        prompt=[w.prompt for w in works],
        negative_prompt=[w.negative_prompt for w in works],
        width=first.width,
        height=first.height,
        num_inference_steps=first.steps,
        guidance_scale=first.guidance,
        generator=[torch.Generator(device="cpu").manual_seed(w.seed) for w in works],
        output_type=output_type,
        **extra,
    ).images


def same(ours, theirs: Image.Image) -> bool:
    return np.array_equal(pixels(ours.data), np.asarray(theirs.convert("RGB"), dtype=np.int16))


def card_canny(data: bytes, width: int, height: int) -> Image.Image:
    import cv2

    image = np.array(Image.open(io.BytesIO(data)).convert("RGB").resize((width, height), Image.Resampling.BICUBIC))
    edges = cv2.Canny(image, 100, 200)[:, :, None]
    return Image.fromarray(np.concatenate([edges, edges, edges], axis=2))


def test_text_to_image_is_bitwise_the_direct_pipeline_call(sdxl, direct):
    plain, _, _ = direct
    for work in (scene(5), scene(6, "an owl at night", negative_prompt="red", guidance=3.0, width=96, height=48, steps=4)):
        (ours,) = sdxl.render([work])  # the renderer has the IP-Adapter loaded: at scale 0 it changes nothing
        (theirs,) = call(plain, [work])
        assert same(ours, theirs)
    (other_seed,) = call(plain, [scene(7)])
    assert not same(sdxl.render([scene(5)])[0], other_seed)


def test_controlnet_render_is_bitwise_the_direct_controlnet_call(sdxl, direct):
    _, _, controlled = direct
    control = png(lambda d: (d.rectangle([16, 16, 48, 48], fill=(255, 255, 255)), d.ellipse([4, 30, 30, 60], fill=(120, 200, 40))))
    for work, scale in ((scene(9, control_image=control), sdxl.settings.controlnet_conditioning_scale), (scene(9, control_image=control, control_scale=1.2), 1.2)):
        (ours,) = sdxl.render([work])
        (theirs,) = call(controlled, [work], image=[card_canny(control, 64, 64)], controlnet_conditioning_scale=scale)
        assert same(ours, theirs)


def test_ip_adapter_render_is_bitwise_the_direct_call_with_diffusers_image_embeds(sdxl, direct):
    _, with_ip, _ = direct
    lea = CharacterReference("lea", png(colour=(220, 30, 30)), seed=1, scale=0.8)
    fox = CharacterReference("fox", png(colour=(230, 120, 10), draw=lambda d: d.rectangle([8, 8, 40, 40], fill=(255, 255, 255))), seed=2, scale=0.6)
    for refs in ((lea,), (lea, fox)):
        work = scene(11, references=refs)
        (ours,) = sdxl.render([work])
        with_ip.set_ip_adapter_scale(work.ip_adapter_scale)
        # One adapter, one image per character: diffusers' own embeddings of each reference alone
        # (the renderer embeds, and caches, a reference by itself: a character's tokens do not
        # depend on who else is in the scene; diffusers' CLIP pass over the n images as one batch
        # differs by ulps, 4.8e-7 measured), joined on the images axis, (2, n, ...) [neg; pos].
        alone = [with_ip.prepare_ip_adapter_image_embeds([[Image.open(io.BytesIO(r.image)).convert("RGB")]], None, torch.device("cpu"), 1, True)[0] for r in refs]
        embeds = [torch.cat(alone, dim=1)]
        extra = {}
        if len(refs) > 1:  # each character's image tokens only in its own region (no layout: equal bands)
            from diffusers.image_processor import IPAdapterMaskProcessor

            regions = layout_bands(None, len(refs), work.width, work.height)
            assert [(r.x0, r.x1) for r in regions] == [(0, 32), (32, 64)]
            processed = IPAdapterMaskProcessor().preprocess(masks(regions), height=work.height, width=work.width)
            extra["cross_attention_kwargs"] = {"ip_adapter_masks": [processed.reshape(1, processed.shape[0], processed.shape[2], processed.shape[3])]}
        (theirs,) = call(with_ip, [work], ip_adapter_image_embeds=embeds, **extra)
        assert same(ours, theirs), f"{len(refs)} reference(s)"


def test_a_batch_is_bitwise_the_direct_batch_call_and_within_the_stated_bound_of_each_alone(sdxl, direct):
    plain, _, _ = direct
    works = [scene(1), scene(2, "an owl at night"), scene(3, negative_prompt="red"), scene(4)]
    before = len(sdxl.pipeline_calls)
    ours = sdxl.render(works)
    assert sdxl.pipeline_calls[before:] == [4]
    for mine, theirs in zip(ours, call(plain, works)):
        assert same(mine, theirs)
    together = call(plain, works, output_type="np")
    alone = np.concatenate([call(plain, [w], output_type="np") for w in works])
    assert np.abs(together - alone).max() <= BATCH_FLOAT_BOUND
    singles = [sdxl.render([w])[0] for w in works]
    for mine, single in zip(ours, singles):
        assert np.abs(pixels(mine.data) - pixels(single.data)).max() <= 1  # one 8-bit level, from the float bound
