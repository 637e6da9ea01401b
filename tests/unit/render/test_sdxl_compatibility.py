"""A ControlNet or IP-Adapter that does not fit the SDXL base stops the agent at load (startup),
with an error naming the SDXL model to use, instead of a shape error at the first scene."""

from __future__ import annotations

import pytest

from media_stream.domain.errors import ConfigurationError
from media_stream.render.image.sdxl_fit import (
    controlnet_misfits,
    image_encoder_misfit,
    ip_adapter_misfits,
)

SDXL_UNET = {"cross_attention_dim": 2048, "addition_embed_type": "text_time", "projection_class_embeddings_input_dim": 2816, "in_channels": 4}
# lllyasviel/sd-controlnet-canny's config (SD 1.5)
SD15_CONTROLNET = {"cross_attention_dim": 768, "addition_embed_type": None, "projection_class_embeddings_input_dim": None, "in_channels": 4}


@pytest.fixture(scope="module")
def sd15_controlnet(tmp_path_factory):
    from tests.tiny_models.sd15 import build_tiny_sd15_controlnet

    return build_tiny_sd15_controlnet(tmp_path_factory.mktemp("sd15-controlnet"))


@pytest.fixture(scope="module")
def sd15_ip_adapter(tmp_path_factory, tiny_sdxl):
    from tests.tiny_models.sd15 import build_tiny_sd15_ip_adapter

    return build_tiny_sd15_ip_adapter(tmp_path_factory.mktemp("sd15-ip"), tiny_sdxl.ip_adapter)


def test_the_real_configs_sd15_controlnet_beside_sdxl_is_a_misfit():
    problems = controlnet_misfits(SDXL_UNET, SD15_CONTROLNET)
    assert any("cross-attention width 768 where the base has 2048" in p for p in problems)
    assert any("addition embedding type None where the base has 'text_time'" in p for p in problems)
    assert controlnet_misfits(SDXL_UNET, dict(SDXL_UNET, cross_attention_dim=[2048, 2048])) == []


def test_an_sd15_controlnet_stops_the_agent_at_load_naming_the_sdxl_one(sdxl_settings, sd15_controlnet):
    from media_stream.render.image.sdxl import SdxlRenderer

    renderer = SdxlRenderer(sdxl_settings.model_copy(update={"controlnet_model": str(sd15_controlnet)}))
    with pytest.raises(ConfigurationError) as info:
        renderer.load()
    message = str(info.value)
    assert "sdxl.controlnet_model" in message and str(sd15_controlnet) in message
    assert "cross-attention width 32 where the base has 64" in message and "addition embedding type None" in message
    assert "diffusers/controlnet-canny-sdxl-1.0" in message
    assert renderer.pipeline_calls == []


def test_an_sd15_ip_adapter_stops_the_agent_at_load_naming_the_sdxl_one(sdxl_settings, sd15_ip_adapter):
    from media_stream.render.image.sdxl import SdxlRenderer

    settings = sdxl_settings.model_copy(
        update={"ip_adapter_model": str(sd15_ip_adapter), "ip_adapter_weight_name": "ip-adapter_sd15.safetensors", "controlnet_model": None}
    )
    with pytest.raises(ConfigurationError) as info:
        SdxlRenderer(settings).load()
    message = str(info.value)
    assert "sdxl.ip_adapter_model" in message and "image tokens 32 wide where the base's cross-attention is 64" in message
    assert "h94/IP-Adapter with subfolder sdxl_models and weight ip-adapter_sdxl.safetensors" in message


def test_ip_adapter_checks_on_weight_shapes():
    fits = {"image_proj.proj.weight": [4 * 2048, 1280], **{f"ip_adapter.{k}.to_k_ip.weight": [640, 2048] for k in range(1, 141, 2)}}
    assert ip_adapter_misfits(SDXL_UNET, fits, 70) == []
    sd15 = {"image_proj.proj.weight": [4 * 768, 1024], **{f"ip_adapter.{k}.to_k_ip.weight": [320, 768] for k in range(1, 32, 2)}}
    assert ip_adapter_misfits(SDXL_UNET, sd15, 70) == ["image tokens 768 wide where the base's cross-attention is 2048"]
    assert ip_adapter_misfits(SDXL_UNET, {"unet.x": [1]}, 70) == ["no ip_adapter.*.to_k_ip.weight tensors: not an IP-Adapter weight file"]


def test_the_image_encoder_must_match_the_adapters_projection():
    sdxl = {"image_proj.proj.weight": [4 * 2048, 1280]}  # ip-adapter_sdxl: ViT-bigG, 1280
    assert image_encoder_misfit(sdxl, {"projection_dim": 1280}) is None
    assert "projection_dim is 1024 where the IP-Adapter's projection takes 1280" in image_encoder_misfit(sdxl, {"projection_dim": 1024})
    plus = {"image_proj.proj_in.weight": [1280, 1280]}  # plus adapters take hidden states (ViT-H: 1280)
    assert image_encoder_misfit(plus, {"hidden_size": 1280}) is None
    assert image_encoder_misfit(plus, {"hidden_size": 1664}) is not None
