"""Tiny SDXL, SDXL ControlNet and IP-Adapter folders, laid out like the real ones on the hub.

``build_sdxl_folders(root)`` writes:

- ``root/sdxl/``: a ``StableDiffusionXLPipeline`` folder (two CLIP text encoders with a
  tokenizer built from a vocabulary written here, a text_time UNet, a two-block VAE, the
  DPMSolverMultistep scheduler);
- ``root/controlnet/``: an SDXL ``ControlNetModel`` made from the tiny UNet;
- ``root/ip_adapter/``: ``image_encoder/`` (a tiny ``CLIPVisionModelWithProjection``) and
  ``ip-adapter_tiny.safetensors`` holding ``image_proj.*`` and ``ip_adapter.{k}.to_k_ip/to_v_ip``;
- ``root/dinov2/``: a tiny ``Dinov2Model`` (the consistency scorer's default architecture);
- ``root/fast_lora/``: a LoRA of the tiny UNet (``fast_lora.safetensors``, diffusers' layout), a
  stand-in for a step-distilled LoRA (SDXL-Lightning, LCM-LoRA);
- ``root/vae_fp16_fix/``: the tiny VAE with ``force_upcast`` false (the sdxl-vae-fp16-fix layout).

Every weight is random but seeded, so two builds are identical. The VAE downsamples by 2 (not 8)
and the ControlNet's conditioning embedding accordingly downsamples once.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path

TEXT_HIDDEN = 32
CROSS_ATTENTION_DIM = 2 * TEXT_HIDDEN  # SDXL concatenates the two encoders' hidden states
ADDITION_TIME_DIM = 8
IMAGE_EMBED_DIM = 32
IP_TOKENS = 4  # "proj.weight" adapters (ip-adapter_sdxl) map one embedding to 4 tokens
IP_WEIGHT_NAME = "ip-adapter_tiny.safetensors"


@dataclass(frozen=True)
class TinySdxlFolders:
    model: Path
    controlnet: Path
    ip_adapter: Path
    dinov2: Path | None = None
    fast_lora: Path | None = None
    vae_fp16_fix: Path | None = None
    ip_weight_name: str = IP_WEIGHT_NAME
    fast_lora_weight_name: str = "fast_lora.safetensors"


def write_clip_vocabulary(folder: Path) -> Path:
    """A byte-level BPE vocabulary with no merges: every word is spelt letter by letter."""
    folder.mkdir(parents=True, exist_ok=True)
    tokens = ["<|startoftext|>", "<|endoftext|>"]
    symbols = string.ascii_lowercase + string.digits + ",.!?'-()"
    tokens += list(symbols) + [s + "</w>" for s in symbols]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder


def _tokenizer(tmp: Path):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(write_clip_vocabulary(tmp)), local_files_only=True, model_max_length=77)


def _text_config(tokenizer):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=128,
        hidden_size=TEXT_HIDDEN,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        max_position_embeddings=77,
        projection_dim=TEXT_HIDDEN,
        hidden_act="gelu",
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def tiny_unet():
    import torch
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    return UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=ADDITION_TIME_DIM,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=6 * ADDITION_TIME_DIM + TEXT_HIDDEN,
        cross_attention_dim=CROSS_ATTENTION_DIM,
        norm_num_groups=8,
    )


def tiny_vae():
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    return AutoencoderKL(
        block_out_channels=[16, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )


def build_tiny_sdxl(folder: Path, work: Path):
    """Save a tiny StableDiffusionXLPipeline at ``folder``; returns its UNet (for the adapters)."""
    import torch
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = _tokenizer(work / "vocab")
    config = _text_config(tokenizer)
    torch.manual_seed(1)
    text_encoder = CLIPTextModel(config)
    torch.manual_seed(2)
    text_encoder_2 = CLIPTextModelWithProjection(config)
    unet = tiny_unet()
    pipe = StableDiffusionXLPipeline(
        vae=tiny_vae(),
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=_tokenizer(work / "vocab"),
        unet=unet,
        scheduler=DPMSolverMultistepScheduler(
            beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="leading", steps_offset=1
        ),
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return unet


def build_tiny_controlnet(folder: Path, unet) -> None:
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(3)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 16))
    # from_unet starts the zero convolutions (and the conditioning embedding output) at zero:
    # the control image would have no effect at all. Give them weights.
    with torch.no_grad():
        for name, param in controlnet.named_parameters():
            if "controlnet_cond_embedding.conv_out" in name:
                param.normal_(0.0, 3.0) if name.endswith("weight") else param.zero_()
            elif "controlnet_down_blocks" in name or "controlnet_mid_block" in name:
                param.normal_(0.0, 0.5) if name.endswith("weight") else param.zero_()
    controlnet.save_pretrained(folder, safe_serialization=True)


def build_tiny_ip_adapter(folder: Path, unet) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(4)
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
            image_size=32, patch_size=4, projection_dim=IMAGE_EMBED_DIM,
        )
    )
    encoder.save_pretrained(folder / "image_encoder", safe_serialization=True)
    generator = torch.Generator().manual_seed(5)
    weights = {
        "image_proj.proj.weight": torch.randn(IP_TOKENS * CROSS_ATTENTION_DIM, IMAGE_EMBED_DIM, generator=generator) * 0.3,
        "image_proj.proj.bias": torch.zeros(IP_TOKENS * CROSS_ATTENTION_DIM),
        "image_proj.norm.weight": torch.ones(CROSS_ATTENTION_DIM),
        "image_proj.norm.bias": torch.zeros(CROSS_ATTENTION_DIM),
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
            weights[f"ip_adapter.{key_id}.{which}.weight"] = (
                torch.randn(hidden, CROSS_ATTENTION_DIM, generator=generator) * 0.3
            )
        key_id += 2
    save_file(weights, str(folder / IP_WEIGHT_NAME))


def build_tiny_dinov2(folder: Path) -> None:
    import torch
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(6)
    config = Dinov2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, image_size=32, patch_size=4
    )
    Dinov2Model(config).save_pretrained(folder, safe_serialization=True)


def build_tiny_lora(folder: Path, weight_name: str) -> None:
    """A rank-4 LoRA on the tiny UNet's attention projections, with non-zero weights."""
    import torch
    from diffusers import StableDiffusionXLPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    unet = tiny_unet()
    torch.manual_seed(7)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False))
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionXLPipeline.save_lora_weights(str(folder), unet_lora_layers=layers, weight_name=weight_name, safe_serialization=True)


def build_tiny_vae_fp16_fix(folder: Path) -> None:
    vae = tiny_vae()
    vae.register_to_config(force_upcast=False)
    vae.save_pretrained(folder, safe_serialization=True)


def build_sdxl_folders(root: Path) -> TinySdxlFolders:
    root.mkdir(parents=True, exist_ok=True)
    folders = TinySdxlFolders(
        model=root / "sdxl", controlnet=root / "controlnet", ip_adapter=root / "ip_adapter", dinov2=root / "dinov2",
        fast_lora=root / "fast_lora", vae_fp16_fix=root / "vae_fp16_fix",
    )
    build_tiny_dinov2(folders.dinov2)
    build_tiny_lora(folders.fast_lora, folders.fast_lora_weight_name)
    build_tiny_vae_fp16_fix(folders.vae_fp16_fix)
    unet = build_tiny_sdxl(folders.model, root / "work")
    build_tiny_controlnet(folders.controlnet, unet)
    folders.ip_adapter.mkdir(parents=True, exist_ok=True)
    build_tiny_ip_adapter(folders.ip_adapter, unet)
    return folders
