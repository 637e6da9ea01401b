"""`media-stream bench sdxl`: SDXL throughput at 1024x1024, 30 steps, classifier-free guidance.

Weights: the configured model (``worker.sdxl.model``) when it is in a local folder or the local
Hugging Face cache; otherwise random weights of the same architecture, built on the device from
the SDXL base configs written below (UNet 2.6 B parameters, CLIP ViT-L and OpenCLIP bigG text
encoders, the SDXL VAE) - the same FLOPs and memory, never a download. ``--tiny`` runs the tiny
test architecture on the CPU as a smoke run of the benchmark itself (figures mean nothing).

Figures: ``s_per_image`` at batch 1; ``images_per_min`` at the best batch size that fits;
``gpu_util`` (mean NVML utilisation while rendering; pynvml if importable, else nvidia-smi,
else null); ``peak_mem_gb`` (CUDA max allocated; process peak RSS on CPU); and ``breakdown``:
s_per_image for each optimisation toggled alone against the baseline (float16 vs bfloat16,
SDPA vs classic attention, channels_last, torch.compile, fused QKV, VAE tiling), then all on.
Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import json
import resource
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

PROMPT = "a little fox in a blue scarf walking through a misty forest at dawn, watercolor painting"
NEGATIVE = "blurry, low quality, deformed, watermark, text"


def log(message: str) -> None:
    print(f"[bench sdxl] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Shape:
    width: int
    height: int
    steps: int
    guidance: float
    batches: tuple[int, ...]


FULL = Shape(1024, 1024, 30, 7.5, (1, 2, 4, 8))
TINY = Shape(64, 64, 30, 7.5, (1, 2, 4))

# --- the SDXL base 1.0 architecture (values of its unet/vae/text_encoder*/config.json) -------

SDXL_UNET = dict(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(320, 640, 1280), attention_head_dim=(5, 10, 20), cross_attention_dim=2048,
    transformer_layers_per_block=(1, 2, 10), use_linear_projection=True, addition_embed_type="text_time",
    addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816, norm_num_groups=32,
)
SDXL_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=1024,
    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4, scaling_factor=0.13025, force_upcast=True,
)
SDXL_TEXT_1 = dict(  # CLIP ViT-L/14
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
    max_position_embeddings=77, projection_dim=768, hidden_act="quick_gelu",
)
SDXL_TEXT_2 = dict(  # OpenCLIP ViT-bigG/14
    vocab_size=49408, hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20,
    max_position_embeddings=77, projection_dim=1280, hidden_act="gelu",
)
SDXL_SCHEDULER = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="leading", steps_offset=1,
)
TINY_UNET = dict(
    sample_size=32, in_channels=4, out_channels=4, layers_per_block=1,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(32, 64), attention_head_dim=(2, 4), cross_attention_dim=64, transformer_layers_per_block=(1, 1),
    use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=80, norm_num_groups=8,
)
TINY_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32), norm_num_groups=8, sample_size=64,
    down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
)
TINY_TEXT = dict(
    vocab_size=128, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
    max_position_embeddings=77, projection_dim=32, hidden_act="gelu",
)


def _tokenizer(folder: Path) -> Any:
    """A letter-by-letter CLIP BPE vocabulary: timing does not depend on the vocabulary (77 tokens)."""
    from transformers import CLIPTokenizer

    tokens = ["<|startoftext|>", "<|endoftext|>"]
    symbols = string.ascii_lowercase + string.digits + ",.!?'-()"
    tokens += list(symbols) + [s + "</w>" for s in symbols]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True, model_max_length=77)


def random_pipeline(tiny: bool, device: torch.device, dtype: torch.dtype) -> Any:
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    work = Path(tempfile.mkdtemp(prefix="bench-sdxl-"))
    try:
        tokenizer = _tokenizer(work / "vocab")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    text_1 = CLIPTextConfig(**(TINY_TEXT if tiny else SDXL_TEXT_1), **ids)
    text_2 = CLIPTextConfig(**(TINY_TEXT if tiny else SDXL_TEXT_2), **ids)
    torch.manual_seed(0)
    with torch.device(device):  # parameters are created (and initialised) on the device
        pipe = StableDiffusionXLPipeline(
            vae=AutoencoderKL(**(TINY_VAE if tiny else SDXL_VAE)),
            text_encoder=CLIPTextModel(text_1),
            text_encoder_2=CLIPTextModelWithProjection(text_2),
            tokenizer=tokenizer,
            tokenizer_2=tokenizer,
            unet=UNet2DConditionModel(**(TINY_UNET if tiny else SDXL_UNET)),
            scheduler=DPMSolverMultistepScheduler(**SDXL_SCHEDULER),
        )
    return pipe.to(device=device, dtype=dtype)


def real_pipeline(model: str, device: torch.device, dtype: torch.dtype) -> Any | None:
    """The configured weights if they are on this machine (folder or cache); None otherwise."""
    from diffusers import StableDiffusionXLPipeline

    try:
        pipe = StableDiffusionXLPipeline.from_pretrained(model, dtype=dtype, local_files_only=True)
    except Exception as exc:  # not in the cache / not a folder: fall back to random weights
        log(f"real weights {model!r} not available locally ({type(exc).__name__}); using random SDXL weights")
        return None
    from diffusers import DPMSolverMultistepScheduler

    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    return pipe.to(device)


class UtilisationSampler:
    """Mean GPU utilisation over a window: NVML if pynvml imports, else nvidia-smi, else None."""

    def __init__(self, device: torch.device, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.samples: list[float] = []
        self._read: Callable[[], float] | None = None
        if device.type != "cuda":
            return
        index = device.index or 0
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self._read = lambda: float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        except Exception:
            if shutil.which("nvidia-smi"):
                query = ["nvidia-smi", f"--id={index}", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
                self._read = lambda: float(subprocess.run(query, capture_output=True, text=True, timeout=5).stdout.strip())
                self.interval_s = max(interval_s, 0.25)

    @contextmanager
    def sampling(self) -> Iterator[None]:
        if self._read is None:
            yield
            return
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    self.samples.append(self._read())  # type: ignore[misc]
                except Exception:
                    pass
                stop.wait(self.interval_s)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    @property
    def mean(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_batch(pipe: Any, shape: Shape, batch: int, device: torch.device, repeats: int = 1) -> float:
    """Seconds per call for ``batch`` images (after one warm-up call)."""
    kwargs = dict(
        prompt=[PROMPT] * batch, negative_prompt=[NEGATIVE] * batch, width=shape.width, height=shape.height,
        num_inference_steps=shape.steps, guidance_scale=shape.guidance, output_type="pil",
    )
    timings = []
    for attempt in range(repeats + 1):
        kwargs["generator"] = [torch.Generator("cpu").manual_seed(attempt * 100 + i) for i in range(batch)]
        _sync(device)
        started = time.perf_counter()
        with torch.inference_mode():
            pipe(**kwargs)
        _sync(device)
        if attempt:  # the first call warms up (kernels, allocator, compilation)
            timings.append(time.perf_counter() - started)
    return min(timings)


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _variants(device: torch.device, tiny: bool) -> list[tuple[str, dict[str, Any]]]:
    low = torch.bfloat16 if device.type == "cpu" else torch.float16
    variants: list[tuple[str, dict[str, Any]]] = [
        ("baseline", {}),
        ("bfloat16" if device.type == "cuda" else "bfloat16 (cpu)", {"dtype": torch.bfloat16}),
        ("classic attention (no SDPA)", {"classic_attention": True}),
        ("channels_last", {"channels_last": True}),
        ("fused QKV", {"fuse_qkv": True}),
        ("VAE tiling", {"vae_tiling": True}),
    ]
    if not tiny:
        variants.append(("torch.compile", {"compile": True}))
        variants.append(("all on (fp16, SDPA, channels_last, fused QKV, compile)", {"dtype": low, "channels_last": True, "fuse_qkv": True, "compile": True}))
    return variants


def run(tiny: bool = False, model: str | None = None) -> dict[str, Any]:
    device = torch.device("cpu" if tiny or not torch.cuda.is_available() else "cuda")
    baseline_dtype = torch.float16 if device.type == "cuda" else torch.float32
    shape = TINY if tiny else FULL
    if not tiny and device.type == "cpu":
        log("no CUDA device: the full SDXL benchmark on CPU takes hours; use --tiny for a smoke run")
    torch.manual_seed(0)

    def build(dtype: torch.dtype) -> tuple[Any, str]:
        if not tiny and model:
            pipe = real_pipeline(model, device, dtype)
            if pipe is not None:
                return pipe, "real"
        return random_pipeline(tiny, device, dtype), "random"

    pipe, weights = build(baseline_dtype)
    pipe.set_progress_bar_config(disable=True)
    sampler = UtilisationSampler(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    log(f"{weights} weights on {device}; batch 1 at {shape.width}x{shape.height}, {shape.steps} steps, cfg {shape.guidance}")
    with sampler.sampling():
        s_batch1 = time_batch(pipe, shape, 1, device, repeats=2)
    per_batch: dict[int, float] = {1: s_batch1}
    for batch in shape.batches[1:]:
        try:
            per_batch[batch] = time_batch(pipe, shape, batch, device)
            log(f"batch {batch}: {per_batch[batch]:.2f} s")
        except Exception as exc:
            if not _is_oom(exc):
                raise
            log(f"batch {batch}: out of memory, stopping there")
            torch.cuda.empty_cache()
            break
    ipm = {b: 60.0 * b / s for b, s in per_batch.items()}
    best_batch = max(ipm, key=lambda b: ipm[b])
    if device.type == "cuda":
        peak_gb = torch.cuda.max_memory_allocated(device) / 1e9
    else:
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB -> GB (Linux)

    breakdown = []
    for name, change in _variants(device, tiny):
        try:
            seconds = _time_variant(pipe, build, baseline_dtype, change, shape, device) if change else s_batch1
            breakdown.append({"variant": name, "s_per_image": round(seconds, 4), "speedup": round(s_batch1 / seconds, 3)})
        except Exception as exc:  # a variant that does not run here is reported, not fatal
            breakdown.append({"variant": name, "s_per_image": None, "error": f"{type(exc).__name__}: {str(exc)[:200]}"})
        log(f"{name}: {breakdown[-1]}")

    import diffusers

    return {
        "benchmark": "sdxl",
        "tiny": tiny,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "weights": weights,
        "width": shape.width,
        "height": shape.height,
        "steps": shape.steps,
        "guidance": shape.guidance,
        "dtype": str(baseline_dtype).replace("torch.", ""),
        "s_per_image": round(s_batch1, 4),
        "images_per_min": round(ipm[best_batch], 2),
        "best_batch": best_batch,
        "s_per_batch": {str(b): round(s, 4) for b, s in per_batch.items()},
        "gpu_util": sampler.mean,
        "peak_mem_gb": round(peak_gb, 3),
        "peak_mem_kind": "cuda_max_allocated" if device.type == "cuda" else "cpu_peak_rss",
        "breakdown": breakdown,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
    }


def _time_variant(pipe: Any, build: Callable, baseline_dtype: torch.dtype, change: dict[str, Any], shape: Shape, device: torch.device) -> float:
    """Apply ``change`` to a pipeline (a fresh one when it changes dtype or modules), time batch 1."""
    from diffusers.models.attention_processor import AttnProcessor

    dtype = change.get("dtype", baseline_dtype)
    fresh = dtype != baseline_dtype or change.get("compile") or change.get("fuse_qkv") or change.get("classic_attention")
    target = build(dtype)[0] if fresh else pipe
    target.set_progress_bar_config(disable=True)
    try:
        if change.get("classic_attention"):
            target.unet.set_attn_processor(AttnProcessor())
        if change.get("channels_last"):
            target.unet.to(memory_format=torch.channels_last)
        if change.get("fuse_qkv"):
            target.fuse_qkv_projections()
        if change.get("vae_tiling"):
            target.vae.enable_tiling()
        if change.get("compile"):
            target.unet.compile(fullgraph=False)
        return time_batch(target, shape, 1, device)
    finally:
        if not fresh:  # undo in-place changes on the shared baseline pipeline
            if change.get("channels_last"):
                target.unet.to(memory_format=torch.contiguous_format)
            if change.get("vae_tiling"):
                target.vae.disable_tiling()
        else:
            del target
            if device.type == "cuda":
                torch.cuda.empty_cache()


def main(tiny: bool, as_json: bool, model: str | None) -> None:
    figures = run(tiny=tiny, model=model)
    if not as_json:
        for key in ("device", "device_name", "weights", "s_per_image", "images_per_min", "best_batch", "gpu_util", "peak_mem_gb"):
            print(f"{key}: {figures[key]}", file=sys.stderr)
    print(json.dumps(figures))
