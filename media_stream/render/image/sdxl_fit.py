"""Does a ControlNet or an IP-Adapter fit the SDXL base? Checked at load, from configs and
weight shapes, so a misfit stops the agent at startup instead of failing the first scene.

SDXL's UNet takes 2048-wide text tokens (two CLIP encoders concatenated) and a ``text_time``
addition embedding (pooled text + size/crop conditioning). An SD 1.5 ControlNet such as the
original card's ``lllyasviel/sd-controlnet-canny`` has 768-wide cross-attention and no addition
embedding; an SD 1.5 IP-Adapter (``models/ip-adapter_sd15.safetensors``) projects images to
768-wide tokens. Pure functions over plain dicts: no torch needed to test them.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from media_stream.domain.errors import ConfigurationError

SDXL_CONTROLNET = "diffusers/controlnet-canny-sdxl-1.0"
SDXL_IP_ADAPTER = "h94/IP-Adapter with subfolder sdxl_models and weight ip-adapter_sdxl.safetensors"


def _width(value: Any) -> Any:
    """cross_attention_dim may be a per-block list in configs; all SDXL blocks share one width."""
    if isinstance(value, (list, tuple)):
        return value[0] if len(set(value)) == 1 else tuple(value)
    return value


def controlnet_misfits(base_unet: Mapping[str, Any], controlnet: Mapping[str, Any]) -> list[str]:
    """What differs between the base UNet's config and the ControlNet's config (empty: it fits)."""
    problems = []
    checks = (
        ("cross-attention width", "cross_attention_dim"),
        ("addition embedding type", "addition_embed_type"),
        ("addition embedding input width", "projection_class_embeddings_input_dim"),
        ("latent channels", "in_channels"),
    )
    for label, key in checks:
        ours, theirs = _width(base_unet.get(key)), _width(controlnet.get(key))
        if ours != theirs:
            problems.append(f"{label} {theirs!r} where the base has {ours!r} ({key})")
    return problems


def check_controlnet_fits(ref: str, base_unet: Mapping[str, Any], controlnet: Mapping[str, Any]) -> None:
    problems = controlnet_misfits(base_unet, controlnet)
    if problems:
        family = " (an SD 1.x/2.x ControlNet)" if controlnet.get("addition_embed_type") is None else ""
        raise ConfigurationError(
            f"ControlNet (sdxl.controlnet_model) {ref!r} does not fit the SDXL base{family}: "
            f"{'; '.join(problems)}. Use an SDXL ControlNet, e.g. sdxl.controlnet_model={SDXL_CONTROLNET!r}"
        )


def ip_adapter_misfits(
    base_unet: Mapping[str, Any], shapes: Mapping[str, Sequence[int]], cross_attention_layers: int
) -> list[str]:
    """From the IP-Adapter weight shapes (``ip_adapter.{k}.to_k_ip.weight``: [hidden, width])."""
    width = _width(base_unet.get("cross_attention_dim"))
    keys = [k for k in shapes if k.startswith("ip_adapter.") and k.endswith("to_k_ip.weight")]
    if not keys:
        return ["no ip_adapter.*.to_k_ip.weight tensors: not an IP-Adapter weight file"]
    problems = []
    widths = sorted({int(shapes[k][-1]) for k in keys})
    if widths != [width]:
        problems.append(f"image tokens {widths[0] if len(widths) == 1 else widths} wide where the base's cross-attention is {width}")
    # plain adapters have one to_k_ip per cross-attention layer (FaceID-style variants have more keys)
    if len(keys) != cross_attention_layers and not problems:
        problems.append(f"{len(keys)} cross-attention layers where the base has {cross_attention_layers}")
    return problems


def check_ip_adapter_fits(
    ref: str, base_unet: Mapping[str, Any], shapes: Mapping[str, Sequence[int]], cross_attention_layers: int
) -> None:
    problems = ip_adapter_misfits(base_unet, shapes, cross_attention_layers)
    if problems:
        raise ConfigurationError(
            f"IP-Adapter (sdxl.ip_adapter_model) {ref!r} does not fit the SDXL base: {'; '.join(problems)}. "
            f"Use an SDXL IP-Adapter, e.g. {SDXL_IP_ADAPTER}"
        )


def image_encoder_misfit(shapes: Mapping[str, Sequence[int]], encoder: Mapping[str, Any]) -> str | None:
    """The image encoder must produce what the adapter's projection takes in: the projected
    embedding (``image_proj.proj.weight``: [tokens x width, projection_dim]) or, for "plus"
    adapters, the hidden states (``image_proj.proj_in.weight``: [.., hidden_size])."""
    if "image_proj.proj.weight" in shapes:
        wanted, has, what = int(shapes["image_proj.proj.weight"][-1]), encoder.get("projection_dim"), "projection_dim"
    elif "image_proj.proj_in.weight" in shapes:
        wanted, has, what = int(shapes["image_proj.proj_in.weight"][-1]), encoder.get("hidden_size"), "hidden_size"
    else:
        return None
    if has != wanted:
        return f"the image encoder's {what} is {has} where the IP-Adapter's projection takes {wanted}"
    return None


def safetensors_shapes(path: str) -> dict[str, list[int]]:
    """Tensor shapes from a .safetensors header (nothing is read into memory)."""
    from safetensors import safe_open

    with safe_open(path, framework="pt") as f:
        return {key: list(f.get_slice(key).get_shape()) for key in f.keys()}


def state_dict_shapes(path: str) -> dict[str, list[int]]:
    """Shapes of an IP-Adapter weight file: safetensors (flat keys) or a torch .bin
    (``{"image_proj": {...}, "ip_adapter": {...}}``)."""
    if path.endswith(".safetensors"):
        return safetensors_shapes(path)
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    return {f"{group}.{key}": list(t.shape) for group, part in state.items() for key, t in part.items()}
