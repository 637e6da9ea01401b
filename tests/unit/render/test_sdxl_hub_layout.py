"""The default model names load from a real Hugging Face cache tree, offline, through the
production loader: only HF_HOME and HF_HUB_OFFLINE=1 are set (in a fresh process, since
huggingface_hub reads HF_HOME at import). The fp16 variant files load when preferred and a cache
holding only them loads too; errors say whether the model is in the cache at all."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
import torch

from media_stream.config import PROJECT_ROOT, SdxlSettings
from media_stream.domain.errors import ConfigurationError
from media_stream.render.image.sdxl_hub import variant_order
from tests.tiny_models.hub_cache import BASE_REPO, CONTROLNET_REPO, IP_ADAPTER_REPO, repo_folder

AGENT_LOAD = r"""
import io, json, logging
from PIL import Image, ImageDraw
from media_stream.config import Settings
from media_stream.domain.scenes import CharacterReference, SceneWork
from media_stream.render.image.registry import image_renderer

records = []
handler = logging.Handler()
handler.emit = lambda record: records.append(record.getMessage())
logging.getLogger("media_stream").addHandler(handler)
logging.getLogger("media_stream").setLevel(logging.INFO)

def png(colour, square=False):
    image = Image.new("RGB", (64, 64), colour)
    if square:
        ImageDraw.Draw(image).rectangle([16, 16, 48, 48], fill=(255, 255, 255))
    buffer = io.BytesIO(); image.save(buffer, format="PNG"); return buffer.getvalue()

settings = Settings()
renderer = image_renderer(settings.worker)
renderer.load()
work = SceneWork(scene_id="s1", scene_index=0, prompt="a fox", negative_prompt="blurry", style="watercolor",
                 width=64, height=64, steps=2, guidance=7.5, seed=3, control_image=png((0, 0, 0), True),
                 references=(CharacterReference("lea", png((200, 30, 30))),))
(image,) = renderer.render([work])
print(json.dumps({"sdxl": settings.worker.sdxl.model_dump(mode="json"), "model": image.model,
                  "size": [image.width, image.height], "logs": [r for r in records if "loaded" in r]}))
"""


def run_agent_load(hf_home) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE", "MEDIA_STREAM_"))}
    env.update(HF_HOME=str(hf_home), HF_HUB_OFFLINE="1", MEDIA_STREAM_WORKER__IMAGE_BACKEND="sdxl")
    done = subprocess.run(
        [sys.executable, "-c", AGENT_LOAD], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_cache_tree_is_the_hubs_layout(hub_home):
    for repo in (BASE_REPO, CONTROLNET_REPO, IP_ADAPTER_REPO):
        folder = repo_folder(hub_home, repo)
        snapshot = folder / "snapshots" / (folder / "refs" / "main").read_text()
        assert snapshot.is_dir() and any(p.is_symlink() for p in snapshot.rglob("*"))
    base = repo_folder(hub_home, BASE_REPO) / "snapshots" / (repo_folder(hub_home, BASE_REPO) / "refs" / "main").read_text()
    assert (base / "unet" / "diffusion_pytorch_model.fp16.safetensors").exists()
    assert (base / "unet" / "diffusion_pytorch_model.safetensors").exists()
    ip = repo_folder(hub_home, IP_ADAPTER_REPO) / "snapshots" / (repo_folder(hub_home, IP_ADAPTER_REPO) / "refs" / "main").read_text()
    assert (ip / "sdxl_models" / "ip-adapter_sdxl.safetensors").exists() and (ip / "sdxl_models" / "image_encoder" / "config.json").exists()


def test_the_agent_loads_the_default_names_from_hf_home_offline(hub_home):
    out = run_agent_load(hub_home)
    defaults = SdxlSettings()
    assert out["sdxl"]["model"] == defaults.model == BASE_REPO
    assert out["sdxl"]["controlnet_model"] == CONTROLNET_REPO and out["sdxl"]["ip_adapter_model"] == IP_ADAPTER_REPO
    assert out["model"] == f"sdxl:{BASE_REPO}+controlnet:{CONTROLNET_REPO}+ip-adapter:{IP_ADAPTER_REPO}/ip-adapter_sdxl.safetensors"
    assert out["size"] == [64, 64]
    # On this CPU machine 'auto' prefers the full files; the log line says which loaded.
    assert any(f"{BASE_REPO}: loaded the full-precision files" in line for line in out["logs"]), out["logs"]
    assert any(f"{CONTROLNET_REPO}: loaded the full-precision files" in line for line in out["logs"]), out["logs"]


def test_a_cache_holding_only_the_fp16_files_loads(hub_home_fp16_only):
    out = run_agent_load(hub_home_fp16_only)
    assert out["size"] == [64, 64]
    for repo in (BASE_REPO, CONTROLNET_REPO):
        assert any(f"{repo}: loaded the fp16 variant files (the full-precision files did not load" in line for line in out["logs"]), out["logs"]


def test_auto_prefers_the_fp16_files_on_cuda_and_the_full_files_on_cpu():
    assert variant_order("auto", "cuda") == ("fp16", None)
    assert variant_order("auto", "cpu") == (None, "fp16")
    assert variant_order("fp16", "cpu") == ("fp16", None)
    assert variant_order(None, "cuda") == (None,)
    assert SdxlSettings().variant == "auto"


def test_the_fp16_variant_loads_for_the_base_and_the_controlnet_when_asked(hub_home, caplog):
    from media_stream.render.image.sdxl import SdxlRenderer

    settings = SdxlSettings(cache_dir=hub_home / "hub", variant="fp16", device="cpu", ip_adapter_model=None)
    renderer = SdxlRenderer(settings)
    with caplog.at_level(logging.INFO, logger="media_stream"):
        renderer.load()
    assert f"SDXL model (sdxl.model) {BASE_REPO}: loaded the fp16 variant files" in caplog.text
    assert f"ControlNet (sdxl.controlnet_model) {CONTROLNET_REPO}: loaded the fp16 variant files" in caplog.text
    for module in (renderer.loaded.base.unet, renderer.loaded.controlnet.controlnet):
        weight = next(p for n, p in module.named_parameters() if n.endswith("weight") and p.dim() == 4)
        assert weight.dtype == torch.float32 and torch.equal(weight, weight.half().float())  # came from fp16 files


def test_a_model_absent_from_the_offline_cache_is_named_with_the_cache(hub_home):
    from media_stream.render.image.sdxl import SdxlRenderer

    settings = SdxlSettings(model="example-org/not-in-cache-sdxl", cache_dir=hub_home / "hub", device="cpu")
    with pytest.raises(ConfigurationError) as info:
        SdxlRenderer(settings).load()
    message = str(info.value)
    assert "example-org/not-in-cache-sdxl' is not in the Hugging Face cache" in message and "HF_HUB_OFFLINE=1" in message
    assert str(hub_home / "hub") in message


def test_a_model_in_the_cache_that_cannot_load_does_not_claim_it_is_missing(hub_home_fp16_only):
    from media_stream.render.image.sdxl import SdxlRenderer

    # Full files only, and the cache holds only fp16 ones: the old message said "not found in the
    # local Hugging Face cache"; the repo is there, with other files.
    settings = SdxlSettings(cache_dir=hub_home_fp16_only / "hub", variant=None, device="cpu")
    with pytest.raises(ConfigurationError) as info:
        SdxlRenderer(settings).load()
    message = str(info.value)
    assert "is in the Hugging Face cache" in message and "not in the Hugging Face cache" not in message
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in message
