"""The GPU options of issue 16, each on the tiny weights through the production loader:
an fp16-fix VAE, fused QKV only without an IP-Adapter, batch buckets, the fast profile."""

from __future__ import annotations

import numpy as np

from media_stream.render.image.sdxl import SdxlRenderer
from tests.unit.render.helpers import pixels, scene


def renderer(settings, **changes) -> SdxlRenderer:
    r = SdxlRenderer(settings.model_copy(update=changes), max_batch_size=4)
    r.load()
    return r


def test_a_separate_fp16_fix_vae_is_loaded_and_named(sdxl_settings, tiny_sdxl):
    base = renderer(sdxl_settings, consistency_model=None)
    assert base.loaded.base.vae.config.force_upcast is True  # the base VAE upcasts to float32 in fp16
    fixed = renderer(sdxl_settings, consistency_model=None, vae_model=str(tiny_sdxl.vae_fp16_fix))
    assert fixed.loaded.base.vae.config.force_upcast is False  # decode stays in half precision
    (image,) = fixed.render([scene(3)])
    assert f"vae:{tiny_sdxl.vae_fp16_fix}" in image.model


def test_fused_qkv_only_without_an_ip_adapter(sdxl_settings):
    from diffusers.models.attention_processor import FusedAttnProcessor2_0, IPAdapterAttnProcessor2_0

    with_ip = renderer(sdxl_settings, consistency_model=None, fuse_qkv=True)
    processors = with_ip.loaded.base.unet.attn_processors.values()
    assert not with_ip.loaded.fused_qkv and sum(isinstance(p, IPAdapterAttnProcessor2_0) for p in processors) > 0
    without_ip = renderer(sdxl_settings, consistency_model=None, fuse_qkv=True, ip_adapter_model=None)
    assert without_ip.loaded.fused_qkv
    assert all(isinstance(p, FusedAttnProcessor2_0) for p in without_ip.loaded.base.unet.attn_processors.values())
    (image,) = without_ip.render([scene(4)])
    assert image.width == 64


def test_calls_are_padded_to_batch_buckets(sdxl_settings):
    bucketed = renderer(sdxl_settings, consistency_model=None, pad_to_buckets=True, batch_buckets=[1, 2, 4])
    images = bucketed.render([scene(s) for s in (1, 2, 3)])
    assert bucketed.pipeline_calls == [4]  # 3 padded to the bucket of 4: no new compiled shape
    assert [i.seed for i in images] == [1, 2, 3]
    bucketed.render([scene(5)])
    assert bucketed.pipeline_calls == [4, 1]
    plain = renderer(sdxl_settings, consistency_model=None)
    plain.render([scene(s) for s in (1, 2, 3)])
    assert plain.pipeline_calls == [3]  # no compile, no padding by default


def test_the_fast_profile_loads_a_distilled_lora_and_renders_in_fast_steps(sdxl_settings, tiny_sdxl):
    fast = renderer(
        sdxl_settings, consistency_model=None, fast_lora=str(tiny_sdxl.fast_lora),
        fast_lora_weight_name=tiny_sdxl.fast_lora_weight_name, fast_steps=2, fast_guidance=0.0,
    )  # fmt: skip
    steps = []
    from media_stream.render.image.base import RenderHooks

    (image,) = fast.render([scene(6, steps=30)], RenderHooks(on_progress=lambda done, total: steps.append(total), min_interval_s=0))
    assert set(steps) == {2}  # 2 steps, whatever the scene asked
    assert f"fast-lora:{tiny_sdxl.fast_lora}/{tiny_sdxl.fast_lora_weight_name}" in image.model
    assert type(fast.loaded.base.scheduler).__name__ == "EulerDiscreteScheduler"
    assert fast.loaded.base.scheduler.config.timestep_spacing == "trailing"
    # the LoRA is active: the same call without it differs
    fast.loaded.base.disable_lora()
    fast.loaded.loras = {}
    (without,) = fast.render([scene(6, steps=30)])
    assert not np.array_equal(pixels(image.data), pixels(without.data))


def test_compile_warm_up_renders_each_bucket_with_and_without_a_reference(sdxl_settings, monkeypatch):
    warm = SdxlRenderer(sdxl_settings.model_copy(update={"consistency_model": None, "pad_to_buckets": True, "batch_buckets": [4, 1, 2]}), max_batch_size=2)
    warm.load()
    calls = []
    monkeypatch.setattr(warm, "_render_call", lambda works, hooks: calls.append((len(works), len(works[0].references), works[0].width)))
    warm._warm_up_buckets()
    assert calls == [(1, 0, 1024), (1, 1, 1024), (2, 0, 1024), (2, 1, 1024)]  # buckets up to the batch cap, in order


def test_a_failing_score_never_fails_the_image(fresh_sdxl, monkeypatch):
    from media_stream.domain.scenes import CharacterReference
    from tests.unit.render.helpers import png

    def broken(images):
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(fresh_sdxl._embedder, "embed", broken)
    (image,) = fresh_sdxl.render([scene(8, references=(CharacterReference("lea", png(colour=(200, 0, 0))),))])
    assert image.data.startswith(b"\x89PNG") and image.character_scores is None and image.consistency is None
