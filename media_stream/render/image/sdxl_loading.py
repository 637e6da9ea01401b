"""Loading SDXL, its canny ControlNet, IP-Adapter and style LoRAs, once, from a folder or the cache.

Every model reference is a local folder or a hub id. A hub id is resolved in the Hugging Face
cache in the Hub's layout (``sdxl_hub``); with ``HF_HUB_OFFLINE=1`` nothing is downloaded
(``local_files_only=True``). The base and the ControlNet load their ``fp16`` variant files on CUDA
(``sdxl.variant="auto"``), falling back to the full files, and the log says which loaded. A
ControlNet or IP-Adapter that does not fit the base is refused before its weights load
(``sdxl_fit``). Any of this is a ``ConfigurationError`` naming the model, raised at ``load()``
(agent startup). torch and diffusers are imported here and in ``render/image/sdxl.py`` only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from media_stream.config import SdxlSettings
from media_stream.domain.errors import ConfigurationError
from media_stream.domain.styles import IMAGE_STYLES
from media_stream.render.image.sdxl_fit import (
    check_controlnet_fits,
    check_ip_adapter_fits,
    image_encoder_misfit,
    state_dict_shapes,
)
from media_stream.render.image.sdxl_hub import (
    hub_offline,
    is_local_reference,
    load_or_explain,
    load_variants,
    resolve_reference,
    variant_order,
)

log = logging.getLogger(__name__)


def resolve_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError(f"sdxl.device is {setting!r} but CUDA is not available on this machine")
    return device


def resolve_dtype(setting: str, device: torch.device) -> torch.dtype:
    if setting == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}[setting]


def make_scheduler(name: str, config: Any) -> Any:
    from diffusers import (
        DDIMScheduler,
        DPMSolverMultistepScheduler,
        EulerAncestralDiscreteScheduler,
        EulerDiscreteScheduler,
    )

    if name == "dpm_multistep":
        return DPMSolverMultistepScheduler.from_config(config)
    if name == "dpm_multistep_karras":
        return DPMSolverMultistepScheduler.from_config(config, use_karras_sigmas=True)
    if name == "euler":
        return EulerDiscreteScheduler.from_config(config)
    if name == "euler_ancestral":
        return EulerAncestralDiscreteScheduler.from_config(config)
    if name == "ddim":
        return DDIMScheduler.from_config(config)
    raise ConfigurationError(f"sdxl.scheduler {name!r} is not known")


@dataclass
class LoadedPipelines:
    """What ``SdxlRenderer`` renders with; both pipelines share every component."""

    base: Any  # StableDiffusionXLPipeline
    controlnet: Any | None  # StableDiffusionXLControlNetPipeline, or None when not configured
    device: torch.device
    dtype: torch.dtype
    ip_adapter: bool
    loras: dict[str, float] = field(default_factory=dict)  # style name (or FAST_ADAPTER) -> LoRA scale
    low_memory: bool = False
    fast: bool = False  # the fast profile's distilled LoRA is loaded (and always active)
    fused_qkv: bool = False

    @property
    def pipelines(self) -> list[Any]:
        return [p for p in (self.base, self.controlnet) if p is not None]


def enable_low_memory(loaded: LoadedPipelines) -> None:
    """Attention slicing and VAE tiling (and slicing) on the shared modules.

    With an IP-Adapter loaded, attention slicing is left off: diffusers' SlicedAttnProcessor
    replaces the IP-Adapter attention processors and cannot take image tokens (the IP-Adapter
    processors already use memory-efficient SDPA)."""
    if not loaded.ip_adapter:
        loaded.base.enable_attention_slicing()
    loaded.base.vae.enable_tiling()
    loaded.base.vae.enable_slicing()
    loaded.low_memory = True


def disable_low_memory(loaded: LoadedPipelines, settings: SdxlSettings) -> None:
    """Back to the configured memory options (what ``load_pipelines`` set up)."""
    if not loaded.ip_adapter and not settings.attention_slicing:
        loaded.base.disable_attention_slicing()
    if not settings.vae_tiling:
        loaded.base.vae.disable_tiling()
    loaded.base.vae.disable_slicing()
    loaded.low_memory = False


def load_pipelines(settings: SdxlSettings) -> LoadedPipelines:
    from diffusers import ControlNetModel, StableDiffusionXLControlNetPipeline, StableDiffusionXLPipeline

    device = resolve_device(settings.device)
    dtype = resolve_dtype(settings.dtype, device)
    common: dict[str, Any] = {"local_files_only": hub_offline()}
    if settings.cache_dir is not None:
        common["cache_dir"] = str(settings.cache_dir)
    if device.type == "cuda":
        torch.cuda.set_per_process_memory_fraction(settings.memory_fraction, device)

    cache_dir = common.get("cache_dir")
    variants = variant_order(settings.variant, device.type)
    source = resolve_reference("sdxl.model", settings.model)
    base = load_variants(
        "SDXL model (sdxl.model)",
        settings.model,
        variants,
        lambda variant: StableDiffusionXLPipeline.from_pretrained(source, dtype=dtype, variant=variant, **common),
        cache_dir,
    )
    if settings.scheduler != "model":
        base.scheduler = make_scheduler(settings.scheduler, base.scheduler.config)

    ip_adapter = False
    if settings.enabled(settings.ip_adapter_model):
        ip_ref = settings.ip_adapter_model or ""
        ip_source = resolve_reference("sdxl.ip_adapter_model", ip_ref)
        _check_ip_adapter(settings, ip_ref, ip_source, base.unet, common)
        load_or_explain(
            "IP-Adapter (sdxl.ip_adapter_model)",
            ip_ref,
            lambda: base.load_ip_adapter(
                ip_source,
                subfolder=settings.ip_adapter_subfolder,
                weight_name=settings.ip_adapter_weight_name,
                image_encoder_folder=settings.ip_adapter_image_encoder_folder,
                **common,
            ),
            cache_dir,
        )
        ip_adapter = True

    loras = _load_style_loras(base, common)
    if settings.enabled(settings.vae_model):  # before .to(device) and from_pipe: both use base.vae
        base.register_modules(vae=_load_vae(settings.vae_model or "", dtype, common))
    fast = settings.enabled(settings.fast_lora)
    if fast:
        loras[FAST_ADAPTER] = _load_fast_lora(base, settings, common)
    base.to(device)
    if device.type == "cuda":
        base.unet.to(memory_format=torch.channels_last)
    loaded = LoadedPipelines(base=base, controlnet=None, device=device, dtype=dtype, ip_adapter=ip_adapter, loras=loras, fast=fast)

    if settings.enabled(settings.controlnet_model):
        cn_ref = settings.controlnet_model or ""
        cn_source = resolve_reference("sdxl.controlnet_model", cn_ref)
        what = "ControlNet (sdxl.controlnet_model)"
        cn_config = load_or_explain(what, cn_ref, lambda: ControlNetModel.load_config(cn_source, **common), cache_dir)
        check_controlnet_fits(cn_ref, base.unet.config, cn_config)
        controlnet = load_variants(
            what,
            cn_ref,
            variants,
            lambda variant: ControlNetModel.from_pretrained(cn_source, dtype=dtype, variant=variant, **common),
            cache_dir,
        )
        loaded.controlnet = StableDiffusionXLControlNetPipeline.from_pipe(base, controlnet=controlnet.to(device))

    if settings.attention_slicing:
        if ip_adapter:
            raise ConfigurationError(
                "sdxl.attention_slicing cannot be combined with an IP-Adapter (diffusers' sliced attention "
                "drops the IP-Adapter processors): turn one of them off"
            )
        base.enable_attention_slicing()
    if settings.vae_tiling:
        base.vae.enable_tiling()
    if settings.fuse_qkv:
        if ip_adapter:  # fusing swaps in FusedAttnProcessor2_0, which drops the IP-Adapter's image tokens
            log.warning("sdxl.fuse_qkv left off: an IP-Adapter is loaded (fused attention would replace its processors)")
        else:
            base.fuse_qkv_projections()
            loaded.fused_qkv = True
    if settings.torch_compile:
        base.unet.compile(fullgraph=False)  # in place: both pipelines share the module
    for pipe in loaded.pipelines:
        pipe.set_progress_bar_config(disable=True)
    log.info(
        "SDXL loaded: %s on %s (%s), controlnet=%s, ip_adapter=%s, loras=%s, vae=%s (force_upcast=%s), fused_qkv=%s",
        settings.model, device, dtype, loaded.controlnet is not None, ip_adapter, sorted(loras),
        settings.vae_model or "base", base.vae.config.force_upcast, loaded.fused_qkv,
    )
    return loaded


def _check_ip_adapter(settings: SdxlSettings, ref: str, source: str, unet: Any, common: dict[str, Any]) -> None:
    """The IP-Adapter's weight shapes against the base UNet, before diffusers loads them (it would
    fail with a bare size mismatch, or load an encoder that fails at the first scene)."""
    from huggingface_hub import hf_hub_download

    subfolder, weight = settings.ip_adapter_subfolder, settings.ip_adapter_weight_name
    what = "IP-Adapter (sdxl.ip_adapter_model)"
    cache_dir = common.get("cache_dir")
    if is_local_reference(ref):
        path = str(Path(source) / subfolder / weight)
        if not Path(path).is_file():
            raise ConfigurationError(f"{what} {ref!r}: no weight file {path!r} (sdxl.ip_adapter_subfolder, _weight_name)")
    else:
        path = load_or_explain(
            what, ref, lambda: hf_hub_download(ref, weight, subfolder=subfolder or None, **common), cache_dir
        )
    shapes = load_or_explain(what, ref, lambda: state_dict_shapes(path), cache_dir)
    cross = sum(1 for name in unet.attn_processors if not name.endswith("attn1.processor"))
    check_ip_adapter_fits(f"{ref} {subfolder}/{weight}".replace(" /", " "), unet.config, shapes, cross)
    if settings.ip_adapter_image_encoder_folder:
        from transformers import CLIPVisionConfig

        encoder_folder = f"{subfolder}/{settings.ip_adapter_image_encoder_folder}".strip("/")
        encoder = load_or_explain(
            f"{what} image encoder",
            ref,
            lambda: CLIPVisionConfig.from_pretrained(source, subfolder=encoder_folder, **common),
            cache_dir,
        )
        misfit = image_encoder_misfit(shapes, encoder.to_dict())
        if misfit:
            raise ConfigurationError(
                f"{what} {ref!r}: {misfit} ({encoder_folder}): sdxl.ip_adapter_image_encoder_folder must name the "
                "encoder the adapter was trained with (ip-adapter_sdxl: sdxl_models/image_encoder; *_vit-h: models/image_encoder)"
            )


def _load_style_loras(base: Any, common: dict[str, Any]) -> dict[str, float]:
    """Each style that names a LoRA gets it loaded once as an adapter named after the style."""
    wanted = {name: style.lora for name, style in IMAGE_STYLES.items() if style.lora is not None}
    loaded: dict[str, float] = {}
    for name, lora in wanted.items():
        source = resolve_reference(f"style {name!r} LoRA", lora.model)
        kwargs = {"weight_name": lora.weight_name} if lora.weight_name else {}
        load_or_explain(
            f"LoRA of style {name!r}",
            lora.model,
            lambda: base.load_lora_weights(source, adapter_name=name, **kwargs, **common),
            common.get("cache_dir"),
        )
        loaded[name] = lora.scale
    return loaded


FAST_ADAPTER = "fast"  # adapter name of the fast profile's step-distilled LoRA


def _load_vae(ref: str, dtype: torch.dtype, common: dict[str, Any]) -> Any:
    """A separate VAE (``sdxl.vae_model``), e.g. madebyollin/sdxl-vae-fp16-fix: its config says
    force_upcast false, so the pipeline decodes in half precision instead of upcasting."""
    from diffusers import AutoencoderKL

    source = resolve_reference("sdxl.vae_model", ref)
    vae = load_or_explain("VAE (sdxl.vae_model)", ref, lambda: AutoencoderKL.from_pretrained(source, dtype=dtype, **common))
    if vae.config.force_upcast and dtype == torch.float16:
        log.warning("sdxl.vae_model %r says force_upcast: the decode still runs in float32 (not an fp16-fix VAE)", ref)
    return vae


def _load_fast_lora(base: Any, settings: SdxlSettings, common: dict[str, Any]) -> float:
    """The fast profile: a step-distilled LoRA (SDXL-Lightning, LCM-LoRA) as adapter FAST_ADAPTER,
    and the sampler it was distilled for."""
    from diffusers import EulerDiscreteScheduler, LCMScheduler

    ref = settings.fast_lora or ""
    source = resolve_reference("sdxl.fast_lora", ref)
    kwargs = {"weight_name": settings.fast_lora_weight_name} if settings.fast_lora_weight_name else {}
    load_or_explain(
        "fast-profile LoRA (sdxl.fast_lora)", ref,
        lambda: base.load_lora_weights(source, adapter_name=FAST_ADAPTER, **kwargs, **common),
    )  # fmt: skip
    if settings.fast_scheduler == "lcm":
        base.scheduler = LCMScheduler.from_config(base.scheduler.config)
    else:
        base.scheduler = EulerDiscreteScheduler.from_config(base.scheduler.config, timestep_spacing="trailing")
    return 1.0
