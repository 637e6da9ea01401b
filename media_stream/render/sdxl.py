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
  their CLIP image embeddings to the IP-Adapter, several characters as several image tokens.
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

from media_stream.config import SdxlSettings
from media_stream.domain.errors import PermanentError, RenderCancelled
from media_stream.domain.scenes import SceneWork
from media_stream.domain.styles import image_style
from media_stream.render.base import RenderedImage, RenderHooks
from media_stream.render.canny import canny_control_image
from media_stream.render.sdxl_loading import LoadedPipelines, disable_low_memory, enable_low_memory, load_pipelines
from media_stream.render.sdxl_prompts import encode_long_prompts, omitted_text, window_count

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
        if self.settings.enabled(self.settings.consistency_model):
            from media_stream.render.consistency import ClipImageEmbedder

            self._embedder = ClipImageEmbedder(
                self.settings.consistency_model or "",
                device=str(self._loaded.device),
                cache_dir=str(self.settings.cache_dir) if self.settings.cache_dir else None,
            )
            self._embedder.load()

    @property
    def loaded(self) -> LoadedPipelines:
        if self._loaded is None:
            self.load()
        assert self._loaded is not None
        return self._loaded

    # -- rendering -----------------------------------------------------------------------------

    def render(self, batch: Sequence[SceneWork], hooks: RenderHooks | None = None) -> list[RenderedImage]:
        """Every item, in order; incompatible items (different batch keys) go in separate calls."""
        groups: OrderedDict[tuple, list[int]] = OrderedDict()
        for index, work in enumerate(batch):  # a long prompt's CLIP windows are part of its shape
            groups.setdefault((work.batch_key, self._windows(work)), []).append(index)
        results: list[RenderedImage | None] = [None] * len(batch)
        for indices in groups.values():
            start = 0
            while start < len(indices):  # the cap may change between chunks (OOM, recovery)
                chunk = indices[start : start + self._batch_cap]
                for index, image in zip(chunk, self._render_resilient([batch[i] for i in chunk], hooks)):
                    results[index] = image
                start += len(chunk)
        return [image for image in results if image is not None]

    def _render_resilient(self, items: list[SceneWork], hooks: RenderHooks | None) -> list[RenderedImage]:
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

    def _render_call(self, items: list[SceneWork], hooks: RenderHooks | None) -> list[RenderedImage]:
        if hooks is not None and hooks.cancelled():
            raise RenderCancelled(f"cancelled before rendering {len(items)} scene(s)")
        started = time.perf_counter()
        loaded = self.loaded
        first = items[0]
        pipe = loaded.base
        kwargs: dict[str, Any] = {
            "prompt": [w.prompt for w in items],
            "negative_prompt": [w.negative_prompt for w in items],
            "width": first.width,
            "height": first.height,
            "num_inference_steps": first.steps,
            "guidance_scale": first.guidance,
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
        if loaded.ip_adapter:
            pipe.set_ip_adapter_scale(first.ip_adapter_scale)
            kwargs["ip_adapter_image_embeds"] = [self._ip_embeds(pipe, items, first.guidance > 1.0)]
        self._select_lora(pipe, first.style)
        omitted = self._encode_prompts(pipe, items, kwargs)

        state = {"steps": 0, "cancelled": False}

        def on_step_end(pipeline: Any, step: int, timestep: Any, callback_kwargs: dict) -> dict:
            state["steps"] = step + 1
            if hooks is not None:
                hooks.progress(step + 1, first.steps)
                if hooks.cancelled():
                    state["cancelled"] = True
                    pipeline._interrupt = True  # the denoising loop skips every later step
            return callback_kwargs

        kwargs["callback_on_step_end"] = on_step_end
        self.pipeline_calls.append(len(items))
        images = self._call_pipeline(pipe, kwargs)
        if state["cancelled"]:
            raise RenderCancelled(f"cancelled after {state['steps']} of {first.steps} steps")
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        return [
            self._rendered(work, image, elapsed_ms // len(items), lost) for work, image, lost in zip(items, images, omitted)
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

    def _call_pipeline(self, pipe: Any, kwargs: dict[str, Any]) -> list[Any]:
        """The one place the diffusers pipeline runs (tests patch it to simulate OOM)."""
        with torch.inference_mode():
            return pipe(**kwargs).images

    def _rendered(self, work: SceneWork, image: Any, render_ms: int, prompt_omitted: str | None = None) -> RenderedImage:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
        consistency = None
        if self._embedder is not None and work.references:
            from media_stream.render.consistency import scene_score

            consistency = scene_score(self._embedder, data, [r.image for r in work.references])
        return RenderedImage(
            data=data,
            content_type="image/png",
            extension="png",
            width=image.width,
            height=image.height,
            seed=work.seed,
            model=self.model_label(work),
            render_ms=render_ms,
            consistency=consistency,
            prompt_omitted=prompt_omitted,
        )

    def model_label(self, work: SceneWork) -> str:
        parts = [f"sdxl:{self.settings.model}"]
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
        loras = self.loaded.loras
        if not loras:
            return
        if style in loras:
            pipe.enable_lora()
            pipe.set_adapters([style], adapter_weights=[loras[style]])
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
