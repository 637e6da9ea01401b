"""The tiny SDXL folders written into a real Hugging Face cache tree, under the real repo ids.

``write_hub_cache(hf_home, folders)`` lays them out as ``huggingface_hub`` does:
``hf_home/hub/models--org--name/{blobs/<sha256>, snapshots/<rev>/<path> -> ../../blobs/<sha256>,
refs/main}``, for

- ``stabilityai/stable-diffusion-xl-base-1.0``: the full files and, like the real repo, the
  ``fp16`` variant files (``unet/diffusion_pytorch_model.fp16.safetensors``, ...);
- ``diffusers/controlnet-canny-sdxl-1.0``: ``config.json``, full and ``fp16`` weights;
- ``h94/IP-Adapter``: ``sdxl_models/ip-adapter_sdxl.safetensors`` and
  ``sdxl_models/image_encoder/`` (config and weights).

``fp16_only=True`` leaves out the full-precision weights of the base and the ControlNet (what a
download with ``--include "*fp16*" "*.json" "*.txt"`` keeps). Only ``HF_HOME`` has to point at
``hf_home`` for the default model names to resolve.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from tests.tiny_models.sdxl import TinySdxlFolders

BASE_REPO = "stabilityai/stable-diffusion-xl-base-1.0"
CONTROLNET_REPO = "diffusers/controlnet-canny-sdxl-1.0"
IP_ADAPTER_REPO = "h94/IP-Adapter"
IP_ADAPTER_WEIGHT = "sdxl_models/ip-adapter_sdxl.safetensors"
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def repo_folder(hf_home: Path, repo_id: str) -> Path:
    return hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))


def write_repo(hf_home: Path, repo_id: str, files: dict[str, Path], revision: str | None = None) -> Path:
    """One cached model repo: blobs by content hash, a snapshot of symlinks, refs/main."""
    repo = repo_folder(hf_home, repo_id)
    revision = revision or hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo / "snapshots" / revision
    for relative, source in sorted(files.items()):
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        blob = repo / "blobs" / digest
        blob.parent.mkdir(parents=True, exist_ok=True)
        if not blob.exists():
            shutil.copyfile(source, blob)
        link = snapshot / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot


def _files(folder: Path, keep=lambda relative: True) -> dict[str, Path]:
    return {
        p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file() and keep(p.relative_to(folder).as_posix())
    }


def _is_full_weight(relative: str) -> bool:
    return relative.endswith(WEIGHT_SUFFIXES) and ".fp16." not in relative


def fp16_variant_folders(folders: TinySdxlFolders, work: Path) -> tuple[Path, Path]:
    """The base pipeline and the ControlNet saved again as ``variant="fp16"`` half-precision files."""
    import torch
    from diffusers import ControlNetModel, StableDiffusionXLPipeline

    base16, controlnet16 = work / "base-fp16", work / "controlnet-fp16"
    if not base16.exists():
        pipe = StableDiffusionXLPipeline.from_pretrained(str(folders.model), local_files_only=True)
        pipe.to(torch.float16).save_pretrained(base16, variant="fp16")
        controlnet = ControlNetModel.from_pretrained(str(folders.controlnet), local_files_only=True)
        controlnet.to(torch.float16).save_pretrained(controlnet16, variant="fp16")
    return base16, controlnet16


def write_hub_cache(hf_home: Path, folders: TinySdxlFolders, work: Path, fp16_only: bool = False) -> Path:
    """The three default repos in ``hf_home/hub``; returns ``hf_home``."""
    base16, controlnet16 = fp16_variant_folders(folders, work)
    keep = (lambda relative: not _is_full_weight(relative)) if fp16_only else (lambda relative: True)
    base = _files(folders.model, keep) | {k: v for k, v in _files(base16).items() if ".fp16." in k}
    write_repo(hf_home, BASE_REPO, base)
    controlnet = _files(folders.controlnet, keep) | {k: v for k, v in _files(controlnet16).items() if ".fp16." in k}
    write_repo(hf_home, CONTROLNET_REPO, controlnet)
    ip = {
        IP_ADAPTER_WEIGHT: folders.ip_adapter / folders.ip_weight_name,
        **{f"sdxl_models/image_encoder/{k}": v for k, v in _files(folders.ip_adapter / "image_encoder").items()},
    }
    write_repo(hf_home, IP_ADAPTER_REPO, ip)
    return hf_home
