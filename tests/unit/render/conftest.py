"""Tiny SDXL models, built once per session into a temporary folder, loaded through the
production loading code (``SdxlRenderer.load``). No network: the hub is switched off."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is imported anywhere

import pytest
from media_stream.config import SdxlSettings


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory):
    from tests.tiny_models.sdxl import build_sdxl_folders

    return build_sdxl_folders(tmp_path_factory.mktemp("tiny-sdxl"))


@pytest.fixture(scope="session")
def sdxl_settings(tiny_sdxl) -> SdxlSettings:
    return SdxlSettings(
        model=str(tiny_sdxl.model),
        controlnet_model=str(tiny_sdxl.controlnet),
        ip_adapter_model=str(tiny_sdxl.ip_adapter),
        ip_adapter_subfolder="",
        ip_adapter_weight_name=tiny_sdxl.ip_weight_name,
        consistency_model=str(tiny_sdxl.dinov2),
        device="cpu",
    )


@pytest.fixture(scope="session")
def sdxl(sdxl_settings):
    """One warm renderer for the tests that do not change its state."""
    from media_stream.render.image.sdxl import SdxlRenderer

    renderer = SdxlRenderer(sdxl_settings, max_batch_size=4)
    renderer.load()
    return renderer


@pytest.fixture
def fresh_sdxl(sdxl_settings):
    """A renderer of its own, for tests that lower its batch cap or switch on low-memory mode."""
    from media_stream.render.image.sdxl import SdxlRenderer

    renderer = SdxlRenderer(sdxl_settings, max_batch_size=4)
    renderer.load()
    return renderer


@pytest.fixture(scope="session")
def hub_home(tiny_sdxl, tmp_path_factory):
    """An HF_HOME whose hub/ cache holds the three default repos (base with fp16 variant files)."""
    from tests.tiny_models.hub_cache import write_hub_cache

    work = tmp_path_factory.mktemp("hub-work")
    return write_hub_cache(tmp_path_factory.mktemp("hf-home"), tiny_sdxl, work)


@pytest.fixture(scope="session")
def hub_home_fp16_only(tiny_sdxl, tmp_path_factory):
    """The same repos with only the fp16 weight files of the base and the ControlNet."""
    from tests.tiny_models.hub_cache import write_hub_cache

    work = tmp_path_factory.mktemp("hub-work-16")
    return write_hub_cache(tmp_path_factory.mktemp("hf-home-16"), tiny_sdxl, work, fp16_only=True)
