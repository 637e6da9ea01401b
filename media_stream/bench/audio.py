"""`media-stream bench audio`: real-time factor (render seconds / audio seconds; below 1 is
faster than real time) per audio backend, through the production renderers, each after a
warm-up render (first-call costs: kernels, allocator, caches) that is not timed.

- ``espeak``: a French paragraph (~23 s of speech), eSpeak NG.
- ``procedural``: ``music_seconds`` of "happy" music at intensity 0.7.
- ``coqui_vits``: the same paragraph through ``CoquiRenderer`` on a VITS with the released
  models' architecture (VitsArgs defaults, ~36 M parameters) and random weights, unless
  ``MEDIA_STREAM_AUDIO__COQUI_MODEL`` names weights that exist. Random weights speak noise,
  at the real cost.
- ``musicgen``: through ``MusicgenRenderer`` on the configured weights, else the released
  architecture of ``musicgen_size`` with random weights ("auto": medium on CUDA, small on a
  CPU). On CUDA ``music_seconds``; on a CPU ``min(music_seconds, 3)`` s (a 30 s window takes
  minutes there).
- On CUDA only: ``musicgen_30s`` (the card's figure: 30 s, one window, goal < 5 s; the issue's
  3 s on an H200) and ``musicgen_seams`` (45 s: two windows joined by the crossfade, with each
  seam's largest jump and spectral flux over the interiors' and its level deviation, from
  ``bench/seams.py``).

Progress goes to stderr; the last stdout line is one JSON object keyed by backend, each with
``rtf``, ``device``, ``audio_s``, ``render_s``, ``warmup_s`` and ``model``. The CLI flags
(``--json``, ``--seconds``, ``--no-models``, ``--musicgen-size``) are what scripts/gpu-check calls:
keep them stable.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from media_stream.config import AudioSettings, get_settings
from media_stream.domain.audio_work import plan_music, plan_narration
from media_stream.domain.errors import ConfigurationError
from media_stream.domain.requests import MusicRequested, NarrationRequested

PARAGRAPH = (
    "Il était une fois, dans un petit village au bord de la mer, une jeune fille nommée Léa. "
    "Chaque matin, elle marchait jusqu'au port pour regarder les bateaux partir. Un jour, un renard "
    "au foulard bleu s'assit à côté d'elle et lui demanda : « Où vont-ils donc, tous ces bateaux ? » "
    "Léa sourit et répondit qu'elle ne le savait pas encore."
)
MUSICGEN_CPU_SECONDS = 3.0


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _cpu() -> str:
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {_torch_threads()})"


def _torch_threads() -> int | None:
    try:
        import torch

        return torch.get_num_threads()
    except ImportError:
        return None


def _device(settings: AudioSettings) -> str:
    try:
        import torch
    except ImportError:
        return _cpu()
    if settings.device == "auto" and torch.cuda.is_available() or settings.device.startswith("cuda"):
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return _cpu()


def _figure(audio_s: float, render_s: float, device: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"rtf": round(render_s / audio_s, 4), "audio_s": round(audio_s, 2), "render_s": round(render_s, 3),
            "device": device, "model": model, **extra}


def bench_speech(renderer, label: str, device: str, repeats: int = 2) -> dict[str, Any]:
    renderer.load()
    work = plan_narration(NarrationRequested("bench", "bench", "bench", text=PARAGRAPH, voice="fr-FR-Denise"))
    started = time.perf_counter()
    renderer.synthesize([work])  # warm-up
    warmup = time.perf_counter() - started
    best = None
    for _ in range(repeats):
        started = time.perf_counter()
        (audio,) = renderer.synthesize([work])
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    _say(f"{label}: {audio.duration_s:.1f} s of speech in {best:.3f} s (warm-up {warmup:.2f} s)")
    return _figure(audio.duration_s, best, device, audio.model, warmup_s=round(warmup, 3))


def bench_music(renderer, label: str, device: str, seconds: float, warmup_seconds: float = 1.0, **extra: Any) -> dict[str, Any]:
    """One timed composition of ``seconds``, after an untimed one of ``warmup_seconds``."""
    renderer.load()
    warm = plan_music(MusicRequested("bench-warm", "bench", "bench", duration_seconds=min(seconds, warmup_seconds), style="happy", intensity=0.7))
    started = time.perf_counter()
    renderer.compose(warm)
    warmup = time.perf_counter() - started
    work = plan_music(MusicRequested("bench", "bench", "bench", duration_seconds=seconds, style="happy", intensity=0.7))
    started = time.perf_counter()
    audio = renderer.compose(work)
    elapsed = time.perf_counter() - started
    _say(f"{label}: {audio.duration_s:.1f} s of music in {elapsed:.3f} s (warm-up {warmup:.2f} s)")
    seams = getattr(renderer, "last_seams", None)
    if seams:
        from media_stream.bench.seams import measure_seams

        extra = {**extra, "seams": len(seams), **{f"seam_{k}": round(v, 3) for k, v in measure_seams(audio.samples, seams).worst().items()}}
    return _figure(audio.duration_s, elapsed, device, audio.model, warmup_s=round(warmup, 3), **extra)


def main(as_json: bool = False, music_seconds: float = 10.0, with_models: bool = True, musicgen_size: str = "auto") -> dict[str, Any]:
    from media_stream.render.audio.espeak import EspeakRenderer
    from media_stream.render.audio.procedural_music import ProceduralMusicRenderer

    settings = get_settings().audio
    results: dict[str, Any] = {
        "espeak": bench_speech(EspeakRenderer(), "espeak", _cpu()),
        "procedural": bench_music(ProceduralMusicRenderer(), "procedural", _cpu(), music_seconds),
    }
    if with_models:
        results.update(_model_backends(settings, music_seconds, musicgen_size))
    line = json.dumps(results)
    if not as_json:
        _say(json.dumps(results, indent=2))
    print(line, flush=True)
    return results


def _model_backends(settings: AudioSettings, music_seconds: float, musicgen_size: str = "auto") -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        from media_stream.bench.random_audio_models import build_musicgen_folder, build_vits_folder
        from media_stream.render.audio.coqui import CoquiRenderer, resolve_model_dir
        from media_stream.render.audio.musicgen import MusicgenRenderer
    except ImportError as exc:
        return {"coqui_vits": {"skipped": f"audio extra missing: {exc}"}, "musicgen": {"skipped": f"audio extra missing: {exc}"}}
    device = _device(settings)
    on_gpu = device.startswith("cuda")
    size = musicgen_size if musicgen_size != "auto" else ("medium" if on_gpu else "small")
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        try:
            resolve_model_dir(settings.coqui_model)
            coqui_settings, weights = settings, "configured"
        except ConfigurationError:
            _say("coqui: no weights for the configured model: VITS architecture (VitsArgs defaults) with random weights")
            folder = build_vits_folder(Path(tmp) / "vits", full_size=True)
            coqui_settings, weights = settings.model_copy(update={"coqui_model": str(folder), "coqui_models": {}}), "random"
        out["coqui_vits"] = {**bench_speech(CoquiRenderer(coqui_settings), "coqui_vits", device), "weights": weights}

        seconds = music_seconds if on_gpu else min(music_seconds, MUSICGEN_CPU_SECONDS)
        renderer, weights, architecture = _musicgen(settings, size, Path(tmp), MusicgenRenderer, build_musicgen_folder)
        out["musicgen"] = {**bench_music(renderer, "musicgen", device, seconds, weights=weights), "architecture": architecture}
        if on_gpu:  # the card's figure, and the seams of a two-window piece
            out["musicgen_30s"] = {**bench_music(renderer, "musicgen_30s", device, 30.0, weights=weights), "architecture": architecture}
            out["musicgen_seams"] = {**bench_music(renderer, "musicgen_seams", device, 45.0, weights=weights), "architecture": architecture}
    return out


def _musicgen(settings: AudioSettings, size: str, tmp: Path, renderer_cls, build) -> tuple[Any, str, str]:  # noqa: ANN001
    """The configured weights if they load (and match ``size`` when one was asked), else the
    released architecture of ``size`` with random weights."""
    configured = settings.musicgen_model
    if size in configured or not any(name in configured for name in ("small", "medium", "large")):
        try:
            renderer = renderer_cls(settings)
            renderer.load()
            return renderer, "configured", configured
        except ConfigurationError:
            pass
    _say(f"musicgen: no weights for {configured}: musicgen-{size}'s architecture with random weights")
    folder = build(tmp / "musicgen", full_size=True, size=size)
    return renderer_cls(settings.model_copy(update={"musicgen_model": str(folder)})), "random", f"musicgen-{size}"
