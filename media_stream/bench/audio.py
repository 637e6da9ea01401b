"""`media-stream bench audio`: real-time factor (render seconds / audio seconds; below 1 is
faster than real time) per audio backend, through the production renderers.

- ``espeak``: a French paragraph (~23 s of speech), eSpeak NG.
- ``procedural``: ``music_seconds`` of "happy" music at intensity 0.7.
- ``coqui_vits``: the same paragraph through ``CoquiRenderer`` on a VITS with the released
  models' architecture (VitsArgs defaults, ~36 M parameters) and random weights, unless
  ``MEDIA_STREAM_AUDIO__COQUI_MODEL`` names weights that exist. Random weights speak noise,
  at the real cost.
- ``musicgen``: ``min(music_seconds, 3)`` s through ``MusicgenRenderer`` on musicgen-small's
  architecture (T5-base encoder, 24-layer decoder, EnCodec 32 kHz; random weights) unless
  configured weights exist. On a CPU a full 30 s window takes minutes: 3 s (~40 s of work) is the CPU figure.

Progress goes to stderr; the last stdout line is one JSON object keyed by backend, each with
``rtf``, ``device``, ``audio_s``, ``render_s`` and ``model``.
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
    renderer.synthesize([work])  # warm-up
    best = None
    for _ in range(repeats):
        started = time.perf_counter()
        (audio,) = renderer.synthesize([work])
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    _say(f"{label}: {audio.duration_s:.1f} s of speech in {best:.3f} s")
    return _figure(audio.duration_s, best, device, audio.model)


def bench_music(renderer, label: str, device: str, seconds: float, **extra: Any) -> dict[str, Any]:
    renderer.load()
    work = plan_music(MusicRequested("bench", "bench", "bench", duration_seconds=seconds, style="happy", intensity=0.7))
    started = time.perf_counter()
    audio = renderer.compose(work)
    elapsed = time.perf_counter() - started
    _say(f"{label}: {audio.duration_s:.1f} s of music in {elapsed:.3f} s")
    return _figure(audio.duration_s, elapsed, device, audio.model, **extra)


def main(as_json: bool = False, music_seconds: float = 10.0, with_models: bool = True) -> dict[str, Any]:
    from media_stream.render.espeak import EspeakRenderer
    from media_stream.render.procedural_music import ProceduralMusicRenderer

    settings = get_settings().audio
    results: dict[str, Any] = {
        "espeak": bench_speech(EspeakRenderer(), "espeak", _cpu()),
        "procedural": bench_music(ProceduralMusicRenderer(), "procedural", _cpu(), music_seconds),
    }
    if with_models:
        results.update(_model_backends(settings, music_seconds))
    line = json.dumps(results)
    if not as_json:
        _say(json.dumps(results, indent=2))
    print(line, flush=True)
    return results


def _model_backends(settings: AudioSettings, music_seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        from media_stream.bench.random_audio_models import build_musicgen_folder, build_vits_folder
        from media_stream.render.coqui import CoquiRenderer, resolve_model_dir
        from media_stream.render.musicgen import MusicgenRenderer
    except ImportError as exc:
        return {"coqui_vits": {"skipped": f"audio extra missing: {exc}"}, "musicgen": {"skipped": f"audio extra missing: {exc}"}}
    device = _device(settings)
    on_gpu = device.startswith("cuda")
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
        try:
            mg_settings, weights = settings, "configured"
            renderer = MusicgenRenderer(mg_settings)
            renderer.load()
        except ConfigurationError:
            _say("musicgen: no weights for the configured model: musicgen-small architecture with random weights")
            folder = build_musicgen_folder(Path(tmp) / "musicgen", full_size=True)
            mg_settings, weights = settings.model_copy(update={"musicgen_model": str(folder)}), "random"
            renderer = MusicgenRenderer(mg_settings)
        out["musicgen"] = {**bench_music(renderer, "musicgen", device, seconds, weights=weights), "architecture": "musicgen-small"}
    return out
