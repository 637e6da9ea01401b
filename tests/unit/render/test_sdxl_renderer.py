"""SdxlRenderer on tiny random-weight SDXL models: requests are honoured exactly, batches equal
single renders, ControlNet and IP-Adapter conditioning reach the pipeline."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from media_stream.config import SdxlSettings, WorkerSettings
from media_stream.domain.errors import ConfigurationError, PermanentError
from media_stream.domain.scenes import CharacterReference
from media_stream.render.image.base import ImageRenderer
from tests.unit.render.helpers import pixels, png, scene


def test_it_is_an_image_renderer_built_by_the_registry(sdxl_settings):
    from media_stream.render.image.registry import image_renderer
    from media_stream.render.image.sdxl import SdxlRenderer

    renderer = image_renderer(WorkerSettings(image_backend="sdxl", sdxl=sdxl_settings, max_batch_size=3))
    assert isinstance(renderer, SdxlRenderer) and isinstance(renderer, ImageRenderer)
    assert renderer.max_batch_size == 3


def test_same_seed_same_bytes_other_seed_other_image(sdxl):
    (a,) = sdxl.render([scene(seed=7)])
    (b,) = sdxl.render([scene(seed=7)])
    (c,) = sdxl.render([scene(seed=8)])
    assert a.data == b.data
    assert np.abs(pixels(a.data) - pixels(c.data)).max() > 10
    image = Image.open(io.BytesIO(a.data))
    assert image.format == "PNG" and image.size == (64, 64)
    assert (a.seed, a.content_type, a.extension) == (7, "image/png", "png")
    assert a.model.startswith("sdxl:") and "preview" not in a.model


def test_width_height_and_steps_are_honoured(sdxl):
    from media_stream.render.image.base import RenderHooks

    seen = []
    hooks = RenderHooks(on_progress=lambda done, total: seen.append((done, total)), min_interval_s=0.0)
    (image,) = sdxl.render([scene(width=96, height=48, steps=4)], hooks)
    assert Image.open(io.BytesIO(image.data)).size == (96, 48) and (image.width, image.height) == (96, 48)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_batch_is_one_call_and_equals_each_image_rendered_alone(sdxl):
    from media_stream.render.image.sdxl import BATCH_PIXEL_TOLERANCE

    works = [scene(1), scene(2, "an owl at night"), scene(3, negative_prompt="red"), scene(4)]
    before = len(sdxl.pipeline_calls)
    batch = sdxl.render(works)
    assert sdxl.pipeline_calls[before:] == [4]
    alone = [sdxl.render([w])[0] for w in works]
    for together, single in zip(batch, alone):
        assert together.seed == single.seed
        assert np.abs(pixels(together.data) - pixels(single.data)).max() <= BATCH_PIXEL_TOLERANCE


def test_incompatible_items_are_split_by_batch_key_and_kept_in_order(sdxl):
    works = [scene(1), scene(2, steps=2), scene(3)]
    before = len(sdxl.pipeline_calls)
    images = sdxl.render(works)
    assert sorted(sdxl.pipeline_calls[before:]) == [1, 2]
    assert [i.seed for i in images] == [1, 2, 3]


def test_negative_prompt_and_guidance_reach_the_pipeline(sdxl):
    (base,) = sdxl.render([scene(5)])
    (negative,) = sdxl.render([scene(5, negative_prompt="a fox, trees, green")])
    (guidance,) = sdxl.render([scene(5, guidance=2.0)])
    (prompt,) = sdxl.render([scene(5, prompt="a red boat at sea")])
    for other in (negative, guidance, prompt):
        assert np.abs(pixels(base.data) - pixels(other.data)).max() > 5


def square(draw):
    draw.rectangle([16, 16, 48, 48], fill=(255, 255, 255))


def test_controlnet_canny_changes_the_output(sdxl):
    (plain,) = sdxl.render([scene(9)])
    (controlled,) = sdxl.render([scene(9, control_image=png(square))])
    (other_control,) = sdxl.render([scene(9, control_image=png(lambda d: d.ellipse([4, 4, 30, 60], fill=(255, 255, 255))))])
    (stronger,) = sdxl.render([scene(9, control_image=png(square), control_scale=1.5)])
    assert "controlnet" in controlled.model
    assert np.abs(pixels(plain.data) - pixels(controlled.data)).max() > 5
    assert np.abs(pixels(controlled.data) - pixels(other_control.data)).max() > 5
    assert np.abs(pixels(controlled.data) - pixels(stronger.data)).max() > 5
    (again,) = sdxl.render([scene(9, control_image=png(square))])
    assert again.data == controlled.data


def test_ip_adapter_reference_changes_the_output(sdxl):
    red = CharacterReference("lea", png(colour=(220, 30, 30)), seed=1, scale=0.8)
    blue = CharacterReference("lea", png(colour=(30, 30, 220), draw=square), seed=1, scale=0.8)
    (plain,) = sdxl.render([scene(11)])
    (with_red,) = sdxl.render([scene(11, references=(red,))])
    (with_blue,) = sdxl.render([scene(11, references=(blue,))])
    assert "ip-adapter" in with_red.model and "ip-adapter" not in plain.model
    assert np.abs(pixels(plain.data) - pixels(with_red.data)).max() > 5
    assert np.abs(pixels(with_red.data) - pixels(with_blue.data)).max() > 5
    assert with_red.consistency is not None and -1.0 <= with_red.consistency <= 1.0
    assert plain.consistency is None


def test_scenes_with_two_characters_batch_with_references(sdxl):
    from media_stream.render.image.sdxl import BATCH_PIXEL_TOLERANCE

    lea = CharacterReference("lea", png(colour=(220, 30, 30)), seed=1)
    fox = CharacterReference("fox", png(colour=(230, 120, 10), draw=square), seed=2)
    works = [scene(21, references=(lea, fox)), scene(22, references=(fox, lea))]
    before = len(sdxl.pipeline_calls)
    batch = sdxl.render(works)
    assert sdxl.pipeline_calls[before:] == [2]
    (one_only,) = sdxl.render([scene(21, references=(lea,))])
    for together, w in zip(batch, works):
        (single,) = sdxl.render([w])
        assert np.abs(pixels(together.data) - pixels(single.data)).max() <= BATCH_PIXEL_TOLERANCE
    assert np.abs(pixels(batch[0].data) - pixels(one_only.data)).max() > 2


def test_control_image_that_is_not_an_image_is_permanent(sdxl):
    with pytest.raises(PermanentError, match="control image"):
        sdxl.render([scene(1, control_image=b"not a png")])


def test_missing_model_folder_is_a_configuration_error_naming_it(tmp_path):
    from media_stream.render.image.sdxl import SdxlRenderer

    missing = tmp_path / "no-such-sdxl"
    with pytest.raises(ConfigurationError, match="no-such-sdxl"):
        SdxlRenderer(SdxlSettings(model=str(missing), device="cpu")).load()


def test_missing_controlnet_is_a_configuration_error_naming_it(sdxl_settings, tmp_path):
    from media_stream.render.image.sdxl import SdxlRenderer

    settings = sdxl_settings.model_copy(update={"controlnet_model": str(tmp_path / "no-controlnet")})
    with pytest.raises(ConfigurationError, match="no-controlnet"):
        SdxlRenderer(settings).load()


def test_hub_id_absent_from_the_offline_cache_is_a_configuration_error(tmp_path):
    from media_stream.render.image.sdxl import SdxlRenderer

    settings = SdxlSettings(model="example-org/not-in-cache-sdxl", cache_dir=tmp_path, device="cpu")
    with pytest.raises(ConfigurationError, match="example-org/not-in-cache-sdxl") as info:
        SdxlRenderer(settings).load()
    assert "HF_HUB_OFFLINE" in str(info.value)
