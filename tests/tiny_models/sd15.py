"""Tiny SD 1.5-shaped adapters that do NOT fit the tiny SDXL base (for the load-time checks).

Like the real ``lllyasviel/sd-controlnet-canny`` beside SDXL: a ControlNet of a UNet with
narrower cross-attention (one CLIP encoder, 32 wide here against the base's 64, as 768 against
2048) and no ``text_time`` addition embedding; an IP-Adapter whose image tokens are 32 wide.
"""

from __future__ import annotations

from pathlib import Path

from tests.tiny_models.sdxl import IMAGE_EMBED_DIM, IP_TOKENS, TEXT_HIDDEN

SD15_CROSS_ATTENTION_DIM = TEXT_HIDDEN


def build_tiny_sd15_controlnet(folder: Path) -> Path:
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    torch.manual_seed(7)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        cross_attention_dim=SD15_CROSS_ATTENTION_DIM,
        norm_num_groups=8,
    )
    ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 16)).save_pretrained(folder, safe_serialization=True)
    return folder


def build_tiny_sd15_ip_adapter(folder: Path, sdxl_ip_adapter: Path, weight_name: str = "ip-adapter_sd15.safetensors") -> Path:
    """The tiny SDXL IP-Adapter's image encoder, with weights projecting to 32-wide tokens."""
    import shutil

    import torch
    from safetensors.torch import save_file

    shutil.copytree(sdxl_ip_adapter / "image_encoder", folder / "image_encoder", dirs_exist_ok=True)
    generator = torch.Generator().manual_seed(8)
    weights = {
        "image_proj.proj.weight": torch.randn(IP_TOKENS * SD15_CROSS_ATTENTION_DIM, IMAGE_EMBED_DIM, generator=generator),
        "image_proj.proj.bias": torch.zeros(IP_TOKENS * SD15_CROSS_ATTENTION_DIM),
        "image_proj.norm.weight": torch.ones(SD15_CROSS_ATTENTION_DIM),
        "image_proj.norm.bias": torch.zeros(SD15_CROSS_ATTENTION_DIM),
    }
    for key_id, hidden in ((1, 64), (3, 64), (5, 64), (7, 64)):  # the tiny base's four cross-attention layers
        for which in ("to_k_ip", "to_v_ip"):
            weights[f"ip_adapter.{key_id}.{which}.weight"] = torch.randn(hidden, SD15_CROSS_ATTENTION_DIM, generator=generator)
    save_file(weights, str(folder / weight_name))
    return folder
