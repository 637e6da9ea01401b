"""Narration on Coqui TTS (the maintained ``coqui-tts`` fork, ``import TTS``) through
``TTS.utils.synthesizer.Synthesizer``: VITS models by default, XTTS-v2 for the catalog voices on
its studio speakers and for voice cloning (conditioning latents once per clip: ``xtts.py``).

Models come from a local folder (``config.json`` + a ``.pth`` checkpoint) or from the TTS
cache (``$TTS_HOME`` or ``~/.local/share/tts/<name with / as -->``); nothing is downloaded.
Speed is VITS's ``length_scale`` (XTTS's ``speed``); pitch is a pitch shift at constant
duration; emotion has no control in these models and is reported in ``not_applied``.
Imports torch: only the registry imports this module, and only when configured.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from media_stream.config import AudioSettings
from media_stream.domain.audio_work import NarrationWork
from media_stream.domain.errors import ConfigurationError
from media_stream.domain.scenes import derived_seed
from media_stream.domain.voices import XTTS_V2, Voice, VoiceRendition, coqui_spoken_by, renditions
from media_stream.render.audio.base import RenderedAudio
from media_stream.render.audio.dsp import join_with_pauses, pitch_shift, time_stretch, trim_silence
from media_stream.render.audio.xtts import XttsVoices, accept_transformers_cache

log = logging.getLogger(__name__)

_CHECKPOINT_NAMES = ("model_file.pth", "model.pth", "best_model.pth", "checkpoint.pth")
_NOT_CHECKPOINTS = {"speakers.pth", "speakers_xtts.pth", "dvae.pth", "mel_stats.pth"}


def tts_cache_dir() -> Path:
    """Where Coqui keeps downloaded models ($TTS_HOME/tts, $XDG_DATA_HOME/tts or ~/.local/share/tts)."""
    from trainer.io import get_user_data_dir

    return Path(get_user_data_dir("tts"))


def resolve_model_dir(name_or_path: str) -> Path:
    """A folder as given, else the cached model of that name; ConfigurationError if neither."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    cached = tts_cache_dir() / name_or_path.replace("/", "--")
    if cached.is_dir():
        return cached
    raise ConfigurationError(
        f"Coqui model {name_or_path!r} not found: not a folder, and not in the TTS cache ({cached}). "
        "Point MEDIA_STREAM_AUDIO__COQUI_MODEL at a folder with config.json and a .pth checkpoint."
    )


def find_checkpoint(folder: Path) -> Path:
    for name in _CHECKPOINT_NAMES:
        if (folder / name).is_file():
            return folder / name
    candidates = sorted(p for p in folder.glob("*.pth") if p.name not in _NOT_CHECKPOINTS)
    if not candidates:
        raise ConfigurationError(f"no .pth checkpoint in {folder}")
    return candidates[0]


def _use_cuda(device: str) -> bool:
    import torch

    if device == "auto":
        return torch.cuda.is_available()
    return device.startswith("cuda")


class _Model:
    """One loaded Synthesizer and what it needs to speak."""

    def __init__(self, name: str, folder: Path, use_cuda: bool) -> None:
        from TTS.utils.synthesizer import Synthesizer

        if not (folder / "config.json").is_file():
            raise ConfigurationError(f"Coqui model {name!r}: no config.json in {folder}")
        check_phonemizer(name, json.loads((folder / "config.json").read_text()))
        self.name = name
        self.is_xtts = _is_xtts(folder)
        checkpoint = folder if self.is_xtts else find_checkpoint(folder)
        self.synth = Synthesizer(tts_checkpoint=checkpoint, tts_config_path=folder / "config.json", use_cuda=use_cuda)
        model = self.synth.tts_model
        self.sample_rate = int(self.synth.output_sample_rate)
        self.base_length_scale = float(getattr(model, "length_scale", 1.0))
        manager = getattr(model, "speaker_manager", None)
        self.speakers = list(manager.name_to_id) if manager is not None and getattr(manager, "name_to_id", None) else []
        languages = getattr(model, "language_manager", None)
        self.languages = list(languages.name_to_id) if languages is not None and getattr(languages, "name_to_id", None) else []
        self.voices: XttsVoices | None = None
        if self.is_xtts:
            accept_transformers_cache(model)
            self.languages = list(model.config.languages)
            self.voices = XttsVoices(model)
        self.lock = threading.Lock()


def check_phonemizer(name: str, config: dict) -> None:
    """A model that reads phonemes through Coqui's eSpeak phonemizer needs the ``espeak-ng`` (or
    ``espeak``) program on PATH; say so at load, not with a FileNotFoundError mid-narration.
    (The released ``tts_models/fr/css10/vits`` is such a model; Debian package: espeak-ng.)"""
    if not config.get("use_phonemes"):
        return
    phonemizer = config.get("phonemizer") or "espeak"  # Coqui's default for most languages
    if phonemizer in ("espeak", "multi_phonemizer") and not (shutil.which("espeak-ng") or shutil.which("espeak")):
        raise ConfigurationError(
            f"Coqui model {name!r} reads phonemes through the eSpeak phonemizer "
            f"(phoneme_language {config.get('phoneme_language')!r}), which runs the espeak-ng program: "
            "none on PATH. Install it (Debian/Ubuntu: apt-get install espeak-ng; the CUDA image has it)."
        )


def _is_xtts(folder: Path) -> bool:
    try:
        return json.loads((folder / "config.json").read_text()).get("model") == "xtts"
    except (OSError, ValueError):
        return False


class CoquiRenderer:
    """SpeechRenderer on Coqui TTS. The default model loads at ``load()``; a voice whose
    language needs another model loads it on first use (then stays warm)."""

    name = "coqui"

    def __init__(self, settings: AudioSettings) -> None:
        self.settings = settings
        self.max_batch_size = settings.max_batch_size
        self._models: dict[str, _Model] = {}
        self._lock = threading.Lock()
        self._use_cuda = False
        self._renditions: dict[str, VoiceRendition] | None = None

    def load(self) -> None:
        try:
            import TTS  # noqa: F401
        except ImportError as exc:
            raise ConfigurationError(f"speech backend 'coqui' needs the audio-models extra (uv sync --extra audio-models): {exc}") from exc
        self._use_cuda = _use_cuda(self.settings.device)
        self._model(self.settings.coqui_model)
        if self.settings.xtts_model:
            self._model(self.settings.xtts_model)

    def _model(self, name: str) -> _Model:
        with self._lock:
            if name not in self._models:
                folder = resolve_model_dir(name)
                started = time.perf_counter()
                self._models[name] = _Model(name, folder, self._use_cuda)
                log.info("Coqui model %s loaded from %s in %.1f s", name, folder, time.perf_counter() - started)
            return self._models[name]

    def rendition(self, voice: Voice) -> tuple[str, str | None, str | None]:
        """(model, speaker, why not the catalog's) this agent speaks ``voice`` with: an override
        per voice id, language or two-letter language; else the catalog's model (XTTS v2: the
        configured ``xtts_model``) when it is the default or installed here; else the default
        model's own speaker, with the reason."""
        overrides = self.settings.coqui_models
        for key in (voice.voice_id, voice.language, voice.language_code):
            if key in overrides:
                return overrides[key], voice.coqui_speaker, None
        wanted = self.settings.xtts_model if voice.coqui_model == XTTS_V2 and self.settings.xtts_model else voice.coqui_model
        if wanted == self.settings.coqui_model or wanted in self._models:
            return wanted, voice.coqui_speaker, None
        try:
            resolve_model_dir(wanted)
            return wanted, voice.coqui_speaker, None
        except ConfigurationError:
            return self.settings.coqui_model, None, f"{voice.coqui_model} (the catalog's model for {voice.voice_id}) is not installed on this agent"

    def model_for(self, voice: Voice) -> str:
        return self.rendition(voice)[0]

    def voice_renditions(self) -> dict[str, VoiceRendition]:
        """Every catalog voice as this agent speaks it (computed once: models are installed at
        deploy time), so two voices that would sound the same are known."""
        if self._renditions is None:
            self._renditions = renditions("coqui", lambda v: coqui_spoken_by(*self.rendition(v)[:2]))
        return self._renditions

    def _voice_note(self, voice: Voice, model: _Model, speaker: str | None, cloning: bool) -> str | None:
        """Why ``voice`` is not what speaks, or None when it is."""
        if cloning:
            return None  # the reference clip is the voice
        _, wanted_speaker, fallback = self.rendition(voice)
        shown = self.voice_renditions()[voice.voice_id]
        if fallback is not None:
            return f"{fallback}; spoken by {coqui_spoken_by(model.name, speaker)} instead"
        if wanted_speaker is not None and wanted_speaker != speaker:
            has = f"its speaker {speaker!r} spoke" if speaker else "it has a single speaker"
            return f"{model.name} has no speaker {wanted_speaker!r}; {has}"
        if wanted_speaker is None and model.speakers:
            return f"{model.name} is multi-speaker and the catalog names no speaker for {voice.voice_id}; its speaker {speaker!r} spoke"
        if shown.same_as is not None:
            return f"spoken by {shown.spoken_by}, the same model and speaker as {shown.same_as}"
        return None

    def synthesize(self, batch: Sequence[NarrationWork]) -> list[RenderedAudio]:
        return [self._one(work) for work in batch]

    def _vits_chunks(self, model: _Model, work: NarrationWork, speaker: str | None, language: str | None) -> list[np.ndarray]:
        """Each chunk through ``Synthesizer.tts``; speed is the length scale (restored after)."""
        tts_model = model.synth.tts_model
        if hasattr(tts_model, "length_scale"):
            tts_model.length_scale = model.base_length_scale / work.speed
        try:
            return [
                trim_silence(np.asarray(model.synth.tts(text=c.text, speaker_name=speaker, language_name=language, split_sentences=False), dtype=np.float32), model.sample_rate)
                for c in work.chunks
            ]
        finally:
            if hasattr(tts_model, "length_scale"):
                tts_model.length_scale = model.base_length_scale

    def _xtts_chunks(self, model: _Model, work: NarrationWork, speaker: str | None, language: str | None, cloning: bool) -> list[np.ndarray]:
        """Each chunk through ``Xtts.inference`` with one voice's latents: the clip's (computed
        once per clip, see render/audio/xtts.py) or the studio speaker's."""
        voices = model.voices
        assert voices is not None and language is not None
        if cloning:
            latents = voices.clip(work.reference_audio)  # type: ignore[arg-type]
        elif speaker is not None:
            latents = voices.studio(speaker)
        else:
            raise ConfigurationError(f"XTTS model {model.name!r} has no studio speakers: a narration on it needs a referenceAudio clip")
        return [trim_silence(voices.speak(c.text, language, latents, work.speed), model.sample_rate) for c in work.chunks]

    def _one(self, work: NarrationWork) -> RenderedAudio:
        started = time.perf_counter()
        cloning = work.reference_audio is not None and bool(self.settings.xtts_model)
        model = self._model(self.settings.xtts_model if cloning else self.model_for(work.voice))  # type: ignore[arg-type]
        not_applied: list[str] = []
        notes: dict[str, str] = {}
        if work.emotion not in (None, "neutral"):
            not_applied.append("emotion")
            notes["emotion"] = f"{model.name} has no emotion control"
        if work.reference_audio is not None and not cloning:
            not_applied.append("reference_audio")
            notes["reference_audio"] = "no XTTS model is configured (MEDIA_STREAM_AUDIO__XTTS_MODEL) to clone from a clip"
        wanted = self.rendition(work.voice)[1]
        speaker = wanted if wanted in model.speakers else (model.speakers[0] if model.speakers else None)
        voice_note = self._voice_note(work.voice, model, speaker if not cloning else None, cloning)
        if voice_note is not None:
            not_applied.append("voice")
            notes["voice"] = voice_note
        language = work.voice.coqui_language if work.voice.coqui_language in model.languages else (model.languages[0] if model.languages else None)
        import torch

        with model.lock:
            # VITS and XTTS sample (durations, prosody, GPT codes): seeded from the ids, a retry says it the same way
            torch.manual_seed(derived_seed(work.project_id, work.request_id) % 2**32)
            if model.voices is not None:
                pieces = self._xtts_chunks(model, work, speaker, language, cloning)
            else:
                pieces = self._vits_chunks(model, work, speaker, language)
        if not model.is_xtts and not hasattr(model.synth.tts_model, "length_scale"):
            pieces = [time_stretch(p, work.speed) for p in pieces]  # no duration control: stretch
        samples = join_with_pauses(pieces, [c.pause_after_s / work.speed for c in work.chunks], model.sample_rate)
        samples = pitch_shift(samples, model.sample_rate, work.pitch)
        if abs(work.pitch - 1.0) > 1e-6:
            notes["pitch"] = "phase-vocoder shift after synthesis (the model has no pitch control)"
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if peak > 1.0:
            samples = samples / peak
        return RenderedAudio(
            sample_rate=model.sample_rate,
            duration_s=round(samples.size / model.sample_rate, 3),
            model=f"coqui:{model.name}",
            render_ms=int((time.perf_counter() - started) * 1000),
            samples=samples.astype(np.float32),
            not_applied=tuple(not_applied),
            notes=notes,
        )


