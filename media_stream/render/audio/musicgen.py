"""Music on MusicGen through transformers' ``MusicgenForConditionalGeneration`` (audiocraft
cannot be installed beside torch 2.9; transformers runs the same ``facebook/musicgen-*``
weights).

One generation covers at most ``musicgen_window_s`` (30 s, the model's training length).
Longer pieces continue window by window: each new window is conditioned on the text and on
the last ``musicgen_overlap_s`` of audio (MusicGen's audio prompt), and joins the piece with a
crossfade of ``musicgen_crossfade_s`` over the re-decoded context: equal gain where the two
sides are the same audio (a real codec re-decodes the context closely), equal power where they
are unrelated (``audio_dsp.crossfade_gains``). ``last_seams`` keeps where each crossfade lies,
for the seam measurements (tests, ``bench audio``). Style,
tempo and intensity are in the prompt; intensity also sets guidance and temperature.
float16 on CUDA, float32 on CPU. Imports torch: only the registry imports this module.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from media_stream.config import AudioSettings
from media_stream.domain.audio_work import MusicWork
from media_stream.domain.errors import ConfigurationError
from media_stream.render.audio.base import RenderedAudio
from media_stream.render.audio.dsp import crossfade_append, fit_length

log = logging.getLogger(__name__)
TOP_K = 250  # audiocraft's default sampling


@dataclass(frozen=True)
class Window:
    """One generation: ``new_frames`` frames after ``context_frames`` of audio prompt."""

    context_frames: int
    new_frames: int


def plan_windows(total_frames: int, window_frames: int, overlap_frames: int, crossfade_frames: int) -> list[Window]:
    """Windows that cover ``total_frames``: the first without context, then each with
    ``overlap_frames`` of context, generating what is left plus the crossfade."""
    if overlap_frames >= window_frames:
        raise ValueError("the overlap must be shorter than the window")
    first = min(window_frames, total_frames)
    windows, have = [Window(0, first)], first
    while have < total_frames:
        new = min(window_frames - overlap_frames, total_frames - have + crossfade_frames)
        windows.append(Window(overlap_frames, new))
        have += new - crossfade_frames
    return windows


class MusicgenRenderer:
    """MusicRenderer on MusicGen; ``model`` reads ``musicgen:<model id or folder>``."""

    name = "musicgen"

    def __init__(self, settings: AudioSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self.model = None
        self.processor = None
        self.last_windows: list[Window] = []
        self.last_seams: list[tuple[int, int]] = []  # (first, last + 1) sample of each crossfade

    def load(self) -> None:
        try:
            import torch
            from transformers import AutoProcessor, MusicgenForConditionalGeneration
        except ImportError as exc:
            raise ConfigurationError(f"music backend 'musicgen' needs the audio-models extra (uv sync --extra audio-models): {exc}") from exc
        device = self.settings.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype_name = self.settings.dtype
        if dtype_name == "auto":
            dtype_name = "float16" if device.startswith("cuda") else "float32"
        self.device, self.dtype = device, getattr(torch, dtype_name)
        name = self.settings.musicgen_model
        started = time.perf_counter()
        try:
            self.processor = AutoProcessor.from_pretrained(name)
            self.model = MusicgenForConditionalGeneration.from_pretrained(name, dtype=self.dtype).to(device).eval()
        except OSError as exc:
            raise ConfigurationError(
                f"MusicGen model {name!r} not found (a local folder, or a hub id in the Hugging Face cache): {exc}"
            ) from exc
        audio = self.model.config.audio_encoder
        self.sample_rate = int(audio.sampling_rate)
        self.frame_rate = int(audio.frame_rate)
        self.hop = int(np.prod(audio.upsampling_ratios))
        self.num_codebooks = int(self.model.decoder.config.num_codebooks)
        log.info("MusicGen %s loaded on %s (%s) in %.1f s", name, device, dtype_name, time.perf_counter() - started)

    def _generate(self, work: MusicWork, context: np.ndarray | None, new_frames: int) -> np.ndarray:
        import torch

        kwargs = {"text": [work.prompt], "padding": True, "return_tensors": "pt"}
        if context is not None:
            kwargs.update(audio=[context], sampling_rate=self.sample_rate)
        inputs = {k: v.to(self.device) for k, v in self.processor(**kwargs).items()}
        if "input_values" in inputs:
            inputs["input_values"] = inputs["input_values"].to(self.dtype)
        with torch.inference_mode():
            out = self.model.generate(
                **inputs, do_sample=True, guidance_scale=work.guidance_scale, temperature=work.temperature,
                top_k=TOP_K, max_new_tokens=new_frames + self.num_codebooks - 1,  # the delay pattern's extra steps
            )
        return out[0, 0].float().cpu().numpy()

    def compose(self, work: MusicWork) -> RenderedAudio:
        import torch

        if self.model is None:
            self.load()
        started = time.perf_counter()
        total = int(round(work.duration_s * self.sample_rate))
        window = max(2, int(self.settings.musicgen_window_s * self.frame_rate))
        overlap = min(window - 1, max(1, int(self.settings.musicgen_overlap_s * self.frame_rate)))
        xfade = min(overlap, int(round(self.settings.musicgen_crossfade_s * self.frame_rate)))
        windows = plan_windows(math.ceil(total / self.hop), window, overlap, xfade)
        with self._lock:
            torch.manual_seed(work.seed % 2**32)
            piece = np.zeros(0, dtype=np.float32)
            seams: list[tuple[int, int]] = []
            for w in windows:
                if w.context_frames == 0:
                    piece = self._generate(work, None, w.new_frames)
                    continue
                context = piece[-w.context_frames * self.hop:]
                full = self._generate(work, context, w.new_frames)
                continuation = full[context.size - xfade * self.hop:]
                seams.append((piece.size - xfade * self.hop, piece.size))
                piece = crossfade_append(piece, continuation, xfade * self.hop)
            self.last_windows, self.last_seams = windows, [(a, b) for a, b in seams if b <= total]
        samples = fit_length(piece.astype(np.float32), total)
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if peak > 0.99:
            samples = samples * np.float32(0.99 / peak)
        return RenderedAudio(
            sample_rate=self.sample_rate,
            duration_s=round(samples.size / self.sample_rate, 3),
            model=f"musicgen:{self.settings.musicgen_model}",
            render_ms=int((time.perf_counter() - started) * 1000),
            samples=samples,
            seed=work.seed,
        )
