"""`media-stream bench sdxl`: SDXL throughput at 1024x1024, 30 steps, guidance 7.5, through the
production renderer: ``SdxlRenderer`` and its loader, the IP-Adapter loaded and each scene
conditioned on one character reference, as an agent in consistency mode renders it.

Weights: the configured model (``worker.sdxl``) when it is in a local folder or the local
Hugging Face cache; otherwise random weights of the real architectures (SDXL base 1.0, the
h94 IP-Adapter with its ViT-bigG image encoder, an fp16-fix VAE, a rank-64 LoRA), written once
to a temporary folder and loaded by the production loader (``sdxl_weights``): the same FLOPs and
memory, never a download. ``--tiny`` runs the tiny architecture on the CPU: a smoke run of the
benchmark itself (figures mean nothing).

Figures: ``s_per_image`` at batch 1 (the GPU part: ``render_pending``, decode included);
``s_per_batch`` for each batch size until one runs out of memory; ``images_per_min`` at the best
batch; ``sustained``: a window of back-to-back batches at the best batch through the render
thread with its finishing worker (PNG encoding beside the renders, as in the agent), with its
``gpu_util`` (mean NVML utilisation over the window; pynvml, else nvidia-smi, else null) and
images per minute; ``peak_mem_gb``; and ``breakdown``: s_per_image at batch 1 for each
optimisation toggled alone against that production baseline (bfloat16, the fp16-fix VAE, no
IP-Adapter, fused QKV (which needs no IP-Adapter), torch.compile with batch buckets, the fast
profile with a distilled LoRA at 4 steps), each in a fresh renderer; with ``--budget-s`` the
variants that would start past the budget are reported as skipped. Progress goes to stderr;
the last stdout line is one JSON object.
"""

from __future__ import annotations

import io
import json
import resource
import shutil
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

from media_stream.config import SdxlSettings
from media_stream.domain.scenes import CharacterReference, SceneWork

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
    sustained_s: float


FULL = Shape(1024, 1024, 30, 7.5, (1, 2, 4, 8), 30.0)
TINY = Shape(64, 64, 3, 7.5, (1, 2), 1.0)
VARIANTS = ("fp16-fix VAE", "torch.compile", "fused QKV", "no IP-Adapter", "fast profile", "bfloat16")  # most telling first


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


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _reference_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (512, 512), (240, 238, 230))
    ImageDraw.Draw(image).ellipse([180, 60, 330, 470], fill=(200, 90, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


REFERENCE = CharacterReference("fox", _reference_png(), seed=1, scale=0.6)


def scenes(shape: Shape, batch: int, seed: int, with_reference: bool = True) -> list[SceneWork]:
    refs = (REFERENCE,) if with_reference else ()
    return [
        SceneWork(f"bench-{seed}-{i}", i, PROMPT, NEGATIVE, "watercolor", shape.width, shape.height, shape.steps, shape.guidance, seed + i, references=refs)
        for i in range(batch)
    ]


def time_batch(renderer: Any, shape: Shape, batch: int, repeats: int = 1, with_reference: bool = True, warm_up: bool = True) -> float:
    """Seconds per call of ``batch`` scenes (GPU part, decode included), the best of ``repeats``,
    after one warm-up call (kernels, allocator, compilation) unless ``warm_up`` is false."""
    timings = []
    for attempt in range(repeats + 1 if warm_up else repeats):
        works = scenes(shape, batch, 1 + attempt * 100, with_reference)
        started = time.perf_counter()
        renderer.render_pending(works)
        if attempt or not warm_up:
            timings.append(time.perf_counter() - started)
    return min(timings)


def sustained(renderer: Any, shape: Shape, batch: int, seconds: float, sampler: UtilisationSampler) -> dict[str, Any]:
    """Back-to-back batches through the render thread, finishing (PNG) on its worker."""
    from media_stream.runtime.render_thread import Deferred, RenderThread

    thread = RenderThread(lambda works: [Deferred(p.finish) for p in renderer.render_pending(works)], depth=2)
    images, submitted, seed = 0, 0, 10_000
    started = time.perf_counter()
    with sampler.sampling():
        while time.perf_counter() - started < seconds or submitted:
            while thread.has_room() and time.perf_counter() - started < seconds:
                thread.submit(scenes(shape, batch, seed))
                submitted, seed = submitted + 1, seed + batch
            for _, results in thread.collect(timeout_s=0.5):
                submitted -= 1
                images += sum(1 for r in results if not isinstance(r, BaseException))
    elapsed = time.perf_counter() - started
    thread.stop()
    return {"batch": batch, "seconds": round(elapsed, 2), "images": images, "images_per_min": round(60.0 * images / elapsed, 2), "gpu_util": sampler.mean}


def _weights(tiny: bool, model: str | None, device: torch.device, dtype: torch.dtype, work: Path) -> tuple[SdxlSettings, str, Any]:
    """Settings of the baseline renderer, 'real' or 'random', and the random folders (or None)."""
    from media_stream.bench.sdxl_weights import write_random_sdxl
    from media_stream.config import get_settings

    dtype_name = str(dtype).replace("torch.", "")
    if not tiny and model:
        configured = get_settings().worker.sdxl.model_copy(update={"model": model, "device": str(device), "dtype": dtype_name})
        if _available(model):
            return configured.model_copy(update={"controlnet_model": None}), "real", None
        log(f"real weights {model!r} not on this machine; writing random SDXL weights of the real architecture")
    started = time.perf_counter()
    folders = write_random_sdxl(work, tiny, device, dtype)
    log(f"random weights written in {time.perf_counter() - started:.1f}s to {work}")
    settings = SdxlSettings(
        model=str(folders.model), controlnet_model=None, ip_adapter_model=str(folders.ip_adapter), ip_adapter_subfolder="",
        ip_adapter_weight_name=folders.ip_weight_name, consistency_model=None, device=str(device), dtype=dtype_name,
    )  # fmt: skip
    return settings, "random", folders


def _available(model: str) -> bool:
    from media_stream.render.image.sdxl_loading import is_local_reference

    if is_local_reference(model):
        return Path(model).expanduser().is_dir()
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model, "model_index.json"), str)
    except Exception:
        return False


def _variant_settings(name: str, base: SdxlSettings, folders: Any, tiny: bool) -> tuple[dict[str, Any], bool] | str:
    """(settings changes, scenes carry a reference) for a variant, or why it is skipped."""
    if name == "bfloat16":
        return {"dtype": "bfloat16"}, True
    if name == "fp16-fix VAE":
        if folders is None and not base.vae_model:
            return "no fp16-fix VAE configured (sdxl.vae_model)"
        return {"vae_model": base.vae_model or str(folders.vae_fp16_fix)}, True
    if name == "no IP-Adapter":
        return {"ip_adapter_model": None}, False
    if name == "fused QKV":
        return {"ip_adapter_model": None, "fuse_qkv": True}, False  # fused QKV replaces the IP-Adapter processors
    if name == "torch.compile":
        if tiny:
            return "skipped on --tiny (minutes of CPU compilation)"
        return {"torch_compile": True, "batch_buckets": [1], "compile_warmup": False}, True
    if name == "fast profile":
        if folders is None and not base.fast_lora:
            return "no distilled LoRA configured (sdxl.fast_lora)"
        lora = (str(folders.fast_lora), folders.lora_weight_name) if folders is not None else (base.fast_lora, base.fast_lora_weight_name)
        return {"fast_lora": lora[0], "fast_lora_weight_name": lora[1], "fast_steps": 4, "fast_guidance": 0.0}, True
    return f"unknown variant {name!r}"


def run(
    tiny: bool = False, model: str | None = None, batches: tuple[int, ...] | None = None, steps: int | None = None,
    sustained_s: float | None = None, variants: tuple[str, ...] = VARIANTS, budget_s: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    from media_stream.render.image.sdxl import SdxlRenderer

    began = time.perf_counter()
    device = torch.device("cpu" if tiny or not torch.cuda.is_available() else "cuda")
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    shape = TINY if tiny else FULL
    shape = Shape(shape.width, shape.height, steps or shape.steps, shape.guidance, batches or shape.batches, shape.sustained_s if sustained_s is None else sustained_s)
    if not tiny and device.type == "cpu":
        log("no CUDA device: the full SDXL benchmark on CPU takes hours; use --tiny for a smoke run")
    work = Path(tempfile.mkdtemp(prefix="bench-sdxl-"))
    try:
        settings, weights, folders = _weights(tiny, model, device, dtype, work)
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        started = time.perf_counter()
        renderer = SdxlRenderer(settings, max_batch_size=max(shape.batches))
        renderer.load()
        load_s = time.perf_counter() - started
        ip = renderer.loaded.ip_adapter
        log(f"{weights} weights on {device}, IP-Adapter {ip}; {shape.width}x{shape.height}, {shape.steps} steps, cfg {shape.guidance}")

        per_batch: dict[int, float] = {1: time_batch(renderer, shape, 1, repeats=2)}
        log(f"batch 1: {per_batch[1]:.3f} s")
        for batch in shape.batches:
            if batch == 1:
                continue
            try:
                per_batch[batch] = time_batch(renderer, shape, batch)
                log(f"batch {batch}: {per_batch[batch]:.3f} s")
            except Exception as exc:
                if not _is_oom(exc):
                    raise
                log(f"batch {batch}: out of memory, stopping there")
                torch.cuda.empty_cache()
                break
        ipm = {b: 60.0 * b / s for b, s in per_batch.items()}
        best_batch = max(ipm, key=lambda b: ipm[b])
        sampler = UtilisationSampler(device)
        window = sustained(renderer, shape, best_batch, shape.sustained_s, sampler) if shape.sustained_s > 0 else None
        log(f"sustained: {window}")
        peak_gb = torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        baseline_s = per_batch[1]
        del renderer
        _release(device)
        breakdown = [{"variant": "baseline (production: fp16 on CUDA, SDPA, channels_last, IP-Adapter + 1 reference)", "s_per_image": round(baseline_s, 4), "speedup": 1.0}]
        for name in variants:
            breakdown.append(_variant(name, settings, folders, tiny, shape, baseline_s, began, budget_s, device))
            log(f"{name}: {breakdown[-1]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    import diffusers

    return {
        "benchmark": "sdxl",
        "tiny": tiny,
        "renderer": "SdxlRenderer (production loader)",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "weights": weights,
        "ip_adapter": ip,
        "width": shape.width,
        "height": shape.height,
        "steps": shape.steps,
        "guidance": shape.guidance,
        "dtype": str(dtype).replace("torch.", ""),
        "load_s": round(load_s, 2),
        "s_per_image": round(baseline_s, 4),
        "images_per_min": round(ipm[best_batch], 2),
        "best_batch": best_batch,
        "s_per_batch": {str(b): round(s, 4) for b, s in per_batch.items()},
        "sustained": window,
        "gpu_util": window["gpu_util"] if window else None,
        "peak_mem_gb": round(peak_gb, 3),
        "peak_mem_kind": "cuda_max_allocated" if device.type == "cuda" else "cpu_peak_rss",
        "breakdown": breakdown,
        "wall_s": round(time.perf_counter() - began, 1),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
    }


def _variant(
    name: str, settings: SdxlSettings, folders: Any, tiny: bool, shape: Shape, baseline_s: float,
    began: float, budget_s: float | None, device: torch.device,
) -> dict[str, Any]:  # fmt: skip
    from media_stream.render.image.sdxl import SdxlRenderer

    if budget_s is not None and time.perf_counter() - began > budget_s:
        return {"variant": name, "s_per_image": None, "skipped": f"past the {budget_s:g}s budget"}
    spec = _variant_settings(name, settings, folders, tiny)
    if isinstance(spec, str):
        return {"variant": name, "s_per_image": None, "skipped": spec}
    changes, with_reference = spec
    renderer = None
    try:
        started = time.perf_counter()
        renderer = SdxlRenderer(settings.model_copy(update=changes), max_batch_size=1)
        renderer.load()
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        renderer.render_pending(scenes(shape, 1, 0, with_reference))  # warm-up (and compilation)
        first_s = time.perf_counter() - started
        seconds = time_batch(renderer, shape, 1, repeats=1, with_reference=with_reference, warm_up=False)
        out = {"variant": name, "s_per_image": round(seconds, 4), "speedup": round(baseline_s / seconds, 3), "load_s": round(load_s, 2), "first_call_s": round(first_s, 2)}
        if renderer.loaded.fast:
            out["steps"] = renderer.settings.fast_steps
            out["model"] = renderer.model_label(scenes(shape, 1, 0, with_reference)[0])
        return out
    except Exception as exc:  # a variant that does not run here is reported, not fatal
        return {"variant": name, "s_per_image": None, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    finally:
        del renderer
        _release(device)


def _release(device: torch.device) -> None:
    import gc

    gc.collect()  # the pipelines hold reference cycles: free their weights before the next load
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main(
    tiny: bool, as_json: bool, model: str | None, batches: tuple[int, ...] | None = None, steps: int | None = None,
    sustained_s: float | None = None, variants: tuple[str, ...] = VARIANTS, budget_s: float | None = None,
) -> None:  # fmt: skip
    figures = run(tiny=tiny, model=model, batches=batches, steps=steps, sustained_s=sustained_s, variants=variants, budget_s=budget_s)
    if not as_json:
        for key in ("device", "device_name", "weights", "s_per_image", "images_per_min", "best_batch", "gpu_util", "peak_mem_gb"):
            print(f"{key}: {figures[key]}", file=sys.stderr)
    print(json.dumps(figures))
