"""Random weights of the SDXL architecture, written as the folders the production loader reads.

``write_random_sdxl(root, tiny, device, dtype)`` builds, on the device, and saves:

- ``sdxl/``: a StableDiffusionXLPipeline (SDXL base 1.0's UNet, VAE and two text encoders, or
  the tiny test architecture), DPMSolverMultistep scheduler;
- ``ip_adapter/``: ``image_encoder/`` (OpenCLIP ViT-bigG's vision tower, as in h94/IP-Adapter's
  ``sdxl_models/image_encoder``) and ``ip-adapter_sdxl.safetensors`` (image projection to 4
  tokens, ``to_k_ip``/``to_v_ip`` for every cross-attention layer);
- ``vae_fp16_fix/``: the same VAE with ``force_upcast`` false (the sdxl-vae-fp16-fix layout);
- ``fast_lora/``: a rank-64 LoRA on the UNet's attention (a step-distilled LoRA's shape).

Same FLOPs and memory as the real weights, never a download; the images are noise.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

SDXL_UNET = dict(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(320, 640, 1280), attention_head_dim=(5, 10, 20), cross_attention_dim=2048,
    transformer_layers_per_block=(1, 2, 10), use_linear_projection=True, addition_embed_type="text_time",
    addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816, norm_num_groups=32,
)  # fmt: skip
SDXL_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=1024,
    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4, scaling_factor=0.13025, force_upcast=True,
)  # fmt: skip
SDXL_TEXT_1 = dict(  # CLIP ViT-L/14
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
    max_position_embeddings=77, projection_dim=768, hidden_act="quick_gelu",
)  # fmt: skip
SDXL_TEXT_2 = dict(  # OpenCLIP ViT-bigG/14
    vocab_size=49408, hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20,
    max_position_embeddings=77, projection_dim=1280, hidden_act="gelu",
)  # fmt: skip
SDXL_IMAGE_ENCODER = dict(  # OpenCLIP ViT-bigG/14 vision tower (h94/IP-Adapter sdxl_models/image_encoder)
    hidden_size=1664, intermediate_size=8192, num_attention_heads=16, num_hidden_layers=48, image_size=224,
    patch_size=14, projection_dim=1280, hidden_act="gelu",
)  # fmt: skip
SDXL_SCHEDULER = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="leading", steps_offset=1,
)  # fmt: skip
TINY_UNET = dict(
    sample_size=32, in_channels=4, out_channels=4, layers_per_block=1,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(32, 64), attention_head_dim=(2, 4), cross_attention_dim=64, transformer_layers_per_block=(1, 1),
    use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=80, norm_num_groups=8,
)  # fmt: skip
TINY_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32), norm_num_groups=8, sample_size=64,
    down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, force_upcast=True,
)  # fmt: skip
TINY_TEXT = dict(
    vocab_size=128, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
    max_position_embeddings=77, projection_dim=32, hidden_act="gelu",
)  # fmt: skip
TINY_IMAGE_ENCODER = dict(
    hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, image_size=32, patch_size=4,
    projection_dim=32,
)  # fmt: skip
IP_TOKENS = 4
IP_WEIGHT_NAME = "ip-adapter_sdxl.safetensors"
LORA_WEIGHT_NAME = "fast_lora.safetensors"


@dataclass(frozen=True)
class RandomSdxl:
    model: Path
    ip_adapter: Path
    vae_fp16_fix: Path
    fast_lora: Path
    ip_weight_name: str = IP_WEIGHT_NAME
    lora_weight_name: str = LORA_WEIGHT_NAME


def write_vocabulary(folder: Path) -> Path:
    """A letter-by-letter CLIP BPE vocabulary: the cost does not depend on it (77 tokens)."""
    folder.mkdir(parents=True, exist_ok=True)
    tokens = ["<|startoftext|>", "<|endoftext|>"]
    symbols = string.ascii_lowercase + string.digits + ",.!?'-()"
    tokens += list(symbols) + [s + "</w>" for s in symbols]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder


def write_random_sdxl(root: Path, tiny: bool, device: torch.device, dtype: torch.dtype) -> RandomSdxl:
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    out = RandomSdxl(root / "sdxl", root / "ip_adapter", root / "vae_fp16_fix", root / "fast_lora")
    tokenizer = CLIPTokenizer.from_pretrained(str(write_vocabulary(root / "vocab")), local_files_only=True, model_max_length=77)
    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    with torch.device(device):  # parameters are created (and initialised) on the device
        unet = UNet2DConditionModel(**(TINY_UNET if tiny else SDXL_UNET))
        vae = AutoencoderKL(**(TINY_VAE if tiny else SDXL_VAE))
        pipe = StableDiffusionXLPipeline(
            vae=vae,
            text_encoder=CLIPTextModel(CLIPTextConfig(**(TINY_TEXT if tiny else SDXL_TEXT_1), **ids)),
            text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**(TINY_TEXT if tiny else SDXL_TEXT_2), **ids)),
            tokenizer=tokenizer,
            tokenizer_2=tokenizer,
            unet=unet,
            scheduler=DPMSolverMultistepScheduler(**SDXL_SCHEDULER),
        )
    pipe.to(dtype=dtype).save_pretrained(out.model, safe_serialization=True)
    vae.register_to_config(force_upcast=False)
    vae.save_pretrained(out.vae_fp16_fix, safe_serialization=True)
    _write_ip_adapter(out.ip_adapter, unet, tiny, device, dtype)
    _write_lora(out.fast_lora, unet, tiny, dtype)
    return out


def _write_ip_adapter(folder: Path, unet: Any, tiny: bool, device: torch.device, dtype: torch.dtype) -> None:
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(**(TINY_IMAGE_ENCODER if tiny else SDXL_IMAGE_ENCODER))
    with torch.device(device):
        encoder = CLIPVisionModelWithProjection(config)
    encoder.to(dtype=dtype).save_pretrained(folder / "image_encoder", safe_serialization=True)
    cross = unet.config.cross_attention_dim
    g = torch.Generator(device="cpu").manual_seed(5)
    weights = {
        "image_proj.proj.weight": torch.randn(IP_TOKENS * cross, config.projection_dim, generator=g) * 0.02,
        "image_proj.proj.bias": torch.zeros(IP_TOKENS * cross),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    key_id = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = unet.config.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(unet.config.block_out_channels))[int(name[len("up_blocks.")])]
        else:
            hidden = unet.config.block_out_channels[int(name[len("down_blocks.")])]
        for which in ("to_k_ip", "to_v_ip"):
            weights[f"ip_adapter.{key_id}.{which}.weight"] = torch.randn(hidden, cross, generator=g) * 0.02
        key_id += 2
    save_file({k: v.to(dtype).contiguous() for k, v in weights.items()}, str(folder / IP_WEIGHT_NAME))


def _write_lora(folder: Path, unet: Any, tiny: bool, dtype: torch.dtype) -> None:
    """LoRA matrices on every attention projection, diffusers' key layout (peft-free)."""
    from safetensors.torch import save_file

    rank = 4 if tiny else 64
    g = torch.Generator(device="cpu").manual_seed(7)
    weights = {}
    for name, module in unet.named_modules():
        if not isinstance(module, torch.nn.Linear) or not name.split(".")[-1] in ("to_q", "to_k", "to_v") and not name.endswith("to_out.0"):
            continue
        weights[f"unet.{name}.lora_A.weight"] = torch.randn(rank, module.in_features, generator=g) * 0.01
        weights[f"unet.{name}.lora_B.weight"] = torch.randn(module.out_features, rank, generator=g) * 0.01
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.to(dtype).contiguous() for k, v in weights.items()}, str(folder / LORA_WEIGHT_NAME))
