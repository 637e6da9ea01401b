"""The SDXL image backend: diffusers' StableDiffusionXLPipeline, with canny ControlNet and IP-Adapter.

- Loads once (``load()``, see ``sdxl_loading``) and stays warm.
- A batch of compatible scenes (equal ``SceneWork.batch_key``, any projects) is ONE pipeline call
  with one CPU ``torch.Generator`` per image, seeded from ``SceneWork.seed``: the initial noise
  of each image is exactly the noise it would get alone. On CPU a single render is bitwise the
  direct diffusers call with the same inputs, and a batch is bitwise diffusers' batch call
  (tests/unit/render/test_sdxl_fidelity.py). A batch differs from the images rendered alone
  only by floating-point reassociation in batched matmuls/convolutions: measured at most
  1.2e-6 in float32, so at most ``BATCH_PIXEL_TOLERANCE`` = 1 level of the 8-bit pixels.
- A scene with a control image renders through StableDiffusionXLControlNetPipeline (same
  components) on the canny edges of that image; a scene with character references passes
  their CLIP image embeddings to the IP-Adapter, one adapter image per character; with several
  characters each one's image tokens are masked to its own region (``IPAdapterMaskProcessor``,
  regions from the control image's layout or a left-to-right split: ``character_regions``).
- The GPU part ends with decoded images (``render_pending``); PNG encoding and the
  per-character consistency score are ``PendingImage.finish`` (``sdxl_finish``), which the
  runtime runs on a worker beside the render thread, so the next batch starts meanwhile.
- With ``torch_compile`` every call is padded to a batch bucket (``sdxl.batch_buckets``), and
  each bucket is compiled at load: a new batch size never recompiles mid-run.
- The fast profile (``sdxl.fast_lora``): a step-distilled LoRA always active, every scene in
  ``fast_steps`` steps at ``fast_guidance``; the model label names the LoRA.
- CUDA out of memory: split the batch and retry (remembering the smaller batch size), then
  enable attention slicing and VAE tiling, and only then raise a PermanentError. Retries run
  outside the ``except`` block after ``gc.collect()`` and ``empty_cache()``; after
  ``sdxl.oom_recovery_calls`` successes in a row, low-memory mode goes off, then the cap doubles.
- Prompts past CLIP's 77 tokens are encoded in chunks (``sdxl_prompts``), up to
  ``sdxl.max_prompt_chunks`` windows; what lies beyond is named in ``RenderedImage.prompt_omitted``.
- Progress and cancel go through ``RenderHooks`` (``callback_on_step_end``; a cancel sets
  ``pipeline._interrupt`` so no further step runs) and end in ``RenderCancelled``.
"""

from __future__ import annotations

import gc
import hashlib
import io
import logging
import time
from collections import OrderedDict
from typing import Any, Sequence

import torch

# (issue 16: characters per region, deferred finishing, the fast profile)
from media_stream.render.image.canny import decode_control_image  # noqa: I001 - kept apart from the lines below
from media_stream.render.image.character_regions import Region, layout_bands, masks
from media_stream.render.image.sdxl_finish import PendingImage
from media_stream.render.image.sdxl_loading import FAST_ADAPTER

from media_stream.config import SdxlSettings
from media_stream.domain.errors import PermanentError, RenderCancelled
from media_stream.domain.scenes import SceneWork
from media_stream.domain.styles import image_style
from media_stream.render.image.base import RenderedImage, RenderHooks
from media_stream.render.image.canny import canny_control_image
from media_stream.render.image.sdxl_loading import LoadedPipelines, disable_low_memory, enable_low_memory, load_pipelines
from media_stream.render.image.sdxl_prompts import encode_long_prompts, omitted_text, window_count

log = logging.getLogger(__name__)

BATCH_PIXEL_TOLERANCE = 1  # max |batched - alone| per 8-bit channel: a float difference < 1/255 (see module doc)


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


class SdxlRenderer:
    name = "sdxl"

    def __init__(self, settings: SdxlSettings, max_batch_size: int = 4) -> None:
        self.settings = settings
        self.max_batch_size = max_batch_size
        self._loaded: LoadedPipelines | None = None
        self._batch_cap = max_batch_size  # lowered after an out-of-memory split, raised again after successes
        self._successes = 0  # pipeline calls in a row without running out of memory
        self._reference_embeds: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self._embedder: Any = None
        self.pipeline_calls: list[int] = []  # batch size of each pipeline call (observability, tests)

    # -- lifecycle -----------------------------------------------------------------------------

    def load(self) -> None:
        if self._loaded is not None:
            return
        self._loaded = load_pipelines(self.settings)
        for pipe in self._loaded.pipelines:
            per_item_ip_embeds(pipe)
        from media_stream.render.image.consistency import load_embedder

        self._embedder = load_embedder(self.settings, str(self._loaded.device))
        if self.settings.torch_compile and self.settings.compile_warmup:
            self._warm_up_buckets()

    @property
    def defers_finishing(self) -> bool:
        """The runtime may run ``PendingImage.finish`` on a worker (``sdxl.finish_on_worker``)."""
        return self.settings.finish_on_worker

    def _warm_up_buckets(self) -> None:
        """One render per batch bucket at 1024x1024 with guidance, without a reference and (with an
        IP-Adapter) with one, so compilation happens at load. Other sizes and several characters
        (masks) still compile on first use."""
        from media_stream.render.image.sdxl_finish import encode_png
        from PIL import Image

        from media_stream.domain.scenes import CharacterReference

        one = (CharacterReference("warmup", encode_png(Image.new("RGB", (64, 64), (128, 96, 64)))),)
        for size in self._buckets():
            if size > self.max_batch_size:
                break
            for refs in ((), one) if self.loaded.ip_adapter else ((),):
                works = [
                    SceneWork(f"warmup-{size}-{i}", 0, "warm up", "", "watercolor", 1024, 1024, 2, 7.5, i, references=refs)
                    for i in range(size)
                ]
                started = time.perf_counter()
                self._render_call(works, None)
                log.info("compiled batch bucket %d (%d reference) in %.1fs", size, len(refs), time.perf_counter() - started)
        self.pipeline_calls.clear()

    def _buckets(self) -> list[int]:
        pad = self.settings.pad_to_buckets
        if pad is None:
            pad = self.settings.torch_compile
        return sorted(set(self.settings.batch_buckets)) if pad else []

    @property
    def loaded(self) -> LoadedPipelines:
        if self._loaded is None:
            self.load()
        assert self._loaded is not None
        return self._loaded

    # -- rendering -----------------------------------------------------------------------------

    def render(self, batch: Sequence[SceneWork], hooks: RenderHooks | None = None) -> list[RenderedImage]:
        """Every item, in order; incompatible items (different batch keys) go in separate calls."""
        return [pending.finish() for pending in self.render_pending(batch, hooks)]

    def render_pending(self, batch: Sequence[SceneWork], hooks: RenderHooks | None = None) -> list[PendingImage]:
        """The GPU part of ``render``: decoded images, not yet encoded nor scored."""
        groups: OrderedDict[tuple, list[int]] = OrderedDict()
        for index, work in enumerate(batch):  # a long prompt's CLIP windows are part of its shape
            groups.setdefault((work.batch_key, self._windows(work)), []).append(index)
        results: list[PendingImage | None] = [None] * len(batch)
        for indices in groups.values():
            start = 0
            while start < len(indices):  # the cap may change between chunks (OOM, recovery)
                chunk = indices[start : start + self._batch_cap]
                for index, image in zip(chunk, self._render_resilient([batch[i] for i in chunk], hooks)):
                    results[index] = image
                start += len(chunk)
        return [image for image in results if image is not None]

    def _render_resilient(self, items: list[SceneWork], hooks: RenderHooks | None) -> list[PendingImage]:
        """The OOM policy: split the batch, then slicing + tiling, then a PermanentError.

        Every retry runs after leaving the ``except`` block, with the failure kept only as text:
        the exception's traceback holds the failed call's frames and with them its tensors
        (activations, latents), which would otherwise stay allocated during the retry."""
        while True:
            failure: str | None = None
            try:
                images = self._render_call(items, hooks)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                failure = f"{type(exc).__name__}: {exc}"
            if failure is None:
                self._note_success()
                return images
            self._free_memory()
            self._successes = 0
            if len(items) > 1:
                half = (len(items) + 1) // 2
                self._batch_cap = max(1, min(self._batch_cap, half))
                log.warning("CUDA out of memory at batch %d: splitting (batch cap now %d)", len(items), self._batch_cap)
                return self._render_resilient(items[:half], hooks) + self._render_resilient(items[half:], hooks)
            if self.loaded.low_memory:
                work = items[0]
                raise PermanentError(
                    f"CUDA out of memory rendering scene {work.scene_id!r} at {work.width}x{work.height}, "
                    f"{work.steps} steps, even alone with attention slicing (unless IP-Adapter is loaded) and VAE tiling: {failure}"
                )
            log.warning("CUDA out of memory at batch 1: enabling attention slicing (without IP-Adapter) and VAE tiling")
            enable_low_memory(self.loaded)

    def _note_success(self) -> None:
        """After ``oom_recovery_calls`` successful calls in a row, undo one step of the OOM policy:
        first leave low-memory mode, then double the batch cap (up to ``max_batch_size``).
        An out-of-memory that comes back simply takes the policy again."""
        if self._batch_cap >= self.max_batch_size and not self.loaded.low_memory:
            return
        self._successes += 1
        if self._successes < self.settings.oom_recovery_calls:
            return
        self._successes = 0
        if self.loaded.low_memory:
            disable_low_memory(self.loaded, self.settings)
            log.info("%d renders without running out of memory: low-memory mode off", self.settings.oom_recovery_calls)
        else:
            self._batch_cap = min(self.max_batch_size, self._batch_cap * 2)
            log.info("%d renders without running out of memory: batch cap back to %d", self.settings.oom_recovery_calls, self._batch_cap)

    def _free_memory(self) -> None:
        gc.collect()  # the failed call's tensors, now unreferenced, and any cycles holding them
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.empty_cache()

    def _render_call(self, real: list[SceneWork], hooks: RenderHooks | None) -> list[PendingImage]:
        if hooks is not None and hooks.cancelled():
            raise RenderCancelled(f"cancelled before rendering {len(real)} scene(s)")
        started = time.perf_counter()
        loaded = self.loaded
        items = self._padded(real)
        first = items[0]
        pipe = loaded.base
        steps, guidance = (self.settings.fast_steps, self.settings.fast_guidance) if loaded.fast else (first.steps, first.guidance)
        kwargs: dict[str, Any] = {
            "prompt": [w.prompt for w in items],
            "negative_prompt": [w.negative_prompt for w in items],
            "width": first.width,
            "height": first.height,
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "generator": [torch.Generator(device="cpu").manual_seed(w.seed) for w in items],
            "output_type": "pil",
        }
        if first.control_image is not None:
            if loaded.controlnet is None:
                raise PermanentError("scene has a control image but no ControlNet is configured (sdxl.controlnet_model)")
            pipe = loaded.controlnet
            kwargs["image"] = [self._control_image(w) for w in items]
            scale = first.control_scale if first.control_scale is not None else self.settings.controlnet_conditioning_scale
            kwargs["controlnet_conditioning_scale"] = scale
        if first.references and not loaded.ip_adapter:
            raise PermanentError("scene has character references but no IP-Adapter is configured (sdxl.ip_adapter_model)")
        regions = [tuple(layout_bands(self._layout(w), len(w.references), w.width, w.height)) for w in items]
        if loaded.ip_adapter:
            pipe.set_ip_adapter_scale(first.ip_adapter_scale)
            kwargs["ip_adapter_image_embeds"] = [self._ip_embeds(pipe, items, guidance > 1.0)]
            if len(first.references) > 1:
                kwargs["cross_attention_kwargs"] = {"ip_adapter_masks": [self._ip_masks(items, regions, guidance > 1.0)]}
        self._select_lora(pipe, first.style)
        omitted = self._encode_prompts(pipe, items, kwargs)

        state = {"steps": 0, "cancelled": False}

        def on_step_end(pipeline: Any, step: int, timestep: Any, callback_kwargs: dict) -> dict:
            state["steps"] = step + 1
            if hooks is not None:
                hooks.progress(step + 1, steps)
                if hooks.cancelled():
                    state["cancelled"] = True
                    pipeline._interrupt = True  # the denoising loop skips every later step
            return callback_kwargs

        kwargs["callback_on_step_end"] = on_step_end
        self.pipeline_calls.append(len(items))
        images = self._call_pipeline(pipe, kwargs)
        if state["cancelled"]:
            raise RenderCancelled(f"cancelled after {state['steps']} of {steps} steps")
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        return [
            PendingImage(work, image, self.model_label(work), elapsed_ms // len(items), region, self._embedder, prompt_omitted=lost)
            for work, image, region, lost in zip(real, images, regions, omitted)  # the padding's images are dropped
        ]

    def _windows(self, work: SceneWork) -> int:
        pipe, chunks = self.loaded.base, self.settings.max_prompt_chunks
        return max(window_count(pipe, work.prompt, chunks), window_count(pipe, work.negative_prompt, chunks))

    def _encode_prompts(self, pipe: Any, items: list[SceneWork], kwargs: dict[str, Any]) -> list[str | None]:
        """Prompts past one CLIP window become chunked embeddings in ``kwargs``; returns what each
        prompt lost past ``sdxl.max_prompt_chunks`` windows (None: all of it was encoded)."""
        chunks = self.settings.max_prompt_chunks
        if self._windows(items[0]) > 1:
            encoded = encode_long_prompts(pipe, kwargs.pop("prompt"), kwargs.pop("negative_prompt"), self.loaded.device, chunks)
            kwargs.update(encoded.kwargs)
            omitted = encoded.omitted
        else:
            omitted = [omitted_text(pipe, w.prompt, chunks) for w in items]
        for work, lost in zip(items, omitted):
            if lost:
                log.warning("scene %s: prompt past %d CLIP windows, not encoded: %r", work.scene_id, chunks, lost)
        return omitted

    def _padded(self, items: list[SceneWork]) -> list[SceneWork]:
        """``items`` padded (repeating the last) up to the next batch bucket, when bucketing."""
        bucket = next((b for b in self._buckets() if b >= len(items)), len(items))
        return list(items) + [items[-1]] * (bucket - len(items))

    def _call_pipeline(self, pipe: Any, kwargs: dict[str, Any]) -> list[Any]:
        """The one place the diffusers pipeline runs (tests patch it to simulate OOM)."""
        with torch.inference_mode():
            return pipe(**kwargs).images

    def model_label(self, work: SceneWork) -> str:
        parts = [f"sdxl:{self.settings.model}"]
        if self.settings.enabled(self.settings.vae_model):
            parts.append(f"vae:{self.settings.vae_model}")
        if self.settings.enabled(self.settings.fast_lora):
            weight = f"/{self.settings.fast_lora_weight_name}" if self.settings.fast_lora_weight_name else ""
            parts.append(f"fast-lora:{self.settings.fast_lora}{weight}")
        if work.control_image is not None:
            parts.append(f"controlnet:{self.settings.controlnet_model}")
        if work.references:
            parts.append(f"ip-adapter:{self.settings.ip_adapter_model}/{self.settings.ip_adapter_weight_name}")
        lora = image_style(work.style).lora
        if lora is not None:
            parts.append(f"lora:{lora.model}")
        return "+".join(parts)

    # -- conditioning --------------------------------------------------------------------------

    def _control_image(self, work: SceneWork) -> Any:
        assert work.control_image is not None
        return canny_control_image(
            work.control_image, work.width, work.height, self.settings.canny_low_threshold, self.settings.canny_high_threshold
        )

    def _layout(self, work: SceneWork) -> Any:
        """The scene's layout for character regions: its control image, at the scene's size."""
        if work.control_image is None or len(work.references) < 2:
            return None
        return decode_control_image(work.control_image, work.width, work.height)

    def _ip_masks(self, items: list[SceneWork], regions: list[tuple[Region, ...]], guided: bool) -> torch.Tensor:
        """(B, n, H, W) binary masks, mask k = character k's region ([negatives; positives]
        doubled with guidance, the same order as the image embeddings)."""
        from diffusers.image_processor import IPAdapterMaskProcessor

        processor = IPAdapterMaskProcessor()
        rows = []
        for work, item_regions in zip(items, regions):
            tensor = processor.preprocess(masks(list(item_regions)), height=work.height, width=work.width)
            rows.append(tensor.reshape(1, tensor.shape[0], tensor.shape[2], tensor.shape[3]))
        stacked = torch.cat(rows).to(self.loaded.device)
        return torch.cat([stacked, stacked]) if guided else stacked

    def _reference_embedding(self, pipe: Any, data: bytes) -> tuple[torch.Tensor, torch.Tensor]:
        """(positive, negative) IP-Adapter image embedding of one reference, cached by content."""
        from diffusers.models import ImageProjection
        from PIL import Image

        key = hashlib.sha256(data).hexdigest()
        cached = self._reference_embeds.get(key)
        if cached is not None:
            self._reference_embeds.move_to_end(key)
            return cached
        projection = pipe.unet.encoder_hid_proj.image_projection_layers[0]
        hidden_states = not isinstance(projection, ImageProjection)  # "plus" adapters use hidden states
        image = Image.open(io.BytesIO(data)).convert("RGB")
        with torch.inference_mode():
            positive, negative = pipe.encode_image(image, self.loaded.device, 1, hidden_states)
        self._reference_embeds[key] = (positive[0], negative[0])
        while len(self._reference_embeds) > 64:
            self._reference_embeds.popitem(last=False)
        return positive[0], negative[0]

    def _ip_embeds(self, pipe: Any, items: list[SceneWork], guided: bool) -> torch.Tensor:
        """[negatives; positives] of shape (2B, n, ...) (or (B, n, ...) unguided): one token group
        per character of the scene. A scene without references gets zeros, at IP scale 0."""
        positives, negatives = [], []
        for work in items:
            if work.references:
                pairs = [self._reference_embedding(pipe, r.image) for r in work.references]
                positives.append(torch.stack([p for p, _ in pairs]))
                negatives.append(torch.stack([n for _, n in pairs]))
            else:
                zero = torch.zeros_like(self._reference_embedding(pipe, _blank_png())[0])
                positives.append(zero[None])
                negatives.append(zero[None])
        positive, negative = torch.stack(positives), torch.stack(negatives)
        return torch.cat([negative, positive]) if guided else positive

    def _select_lora(self, pipe: Any, style: str) -> None:
        """The style's LoRA (if any) and, in the fast profile, the distilled LoRA, always."""
        loras = self.loaded.loras
        if not loras:
            return
        active = [name for name in ([style] if style != FAST_ADAPTER else []) + [FAST_ADAPTER] if name in loras]
        if active:
            pipe.enable_lora()
            pipe.set_adapters(active, adapter_weights=[loras[name] for name in active])
        else:
            pipe.disable_lora()


_BLANK: bytes | None = None


def _blank_png() -> bytes:
    """A tiny image whose embedding gives the shape of a reference embedding."""
    global _BLANK
    if _BLANK is None:
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, format="PNG")
        _BLANK = buffer.getvalue()
    return _BLANK


def per_item_ip_embeds(pipe: Any) -> None:
    """Let ``ip_adapter_image_embeds`` carry one row per image of the batch.

    diffusers repeats the given embeddings ``batch_size`` times (it expects one set shared by
    the whole batch): per-item embeddings of a batch of B would become B x B rows and the
    attention would fold several scenes' references into one. Embeddings that already hold a
    row per image ([negatives; positives] with guidance) are passed through unchanged."""
    original = pipe.prepare_ip_adapter_image_embeds

    def prepare(ip_adapter_image, ip_adapter_image_embeds, device, num_images, do_classifier_free_guidance):
        rows = num_images * (2 if do_classifier_free_guidance else 1)
        if ip_adapter_image_embeds is not None and all(e.shape[0] == rows for e in ip_adapter_image_embeds) and num_images > 1:
            return [e.to(device=device) for e in ip_adapter_image_embeds]
        return original(ip_adapter_image, ip_adapter_image_embeds, device, num_images, do_classifier_free_guidance)

    pipe.prepare_ip_adapter_image_embeds = prepare
