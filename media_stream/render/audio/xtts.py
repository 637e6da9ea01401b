"""XTTS v2 inside the Coqui backend: its voices are conditioning latents (a GPT conditioning
latent and a speaker embedding), either a studio speaker's (``speakers_xtts.pth``) or computed
from a reference clip. A clip's latents are computed once (keyed by the clip's SHA-256, kept
for the last ``capacity`` clips) and reused for every chunk of every narration that clones it;
each chunk is then one ``Xtts.inference`` call with the model's own sampling settings.

The clip arrives as bytes read from our storage within the input byte cap; it is decoded here
(soundfile: WAV, FLAC, OGG, MP3), made mono, resampled and cut to the model's ``max_ref_len``
seconds, then passed to the model's own latent functions, the same steps as
``Xtts.get_conditioning_latents`` without its file loader (torchaudio/torchcodec, which needs
FFmpeg's libraries). Imports torch: only ``coqui.py`` imports this module.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from media_stream.domain.errors import ConfigurationError, ValidationError

LOAD_RATE = 22050  # the rate XTTS computes its conditioning at (get_conditioning_latents' load_sr)


def accept_transformers_cache(model: Any) -> None:
    """transformers 5.2x passes the KV cache to the model's forward as ``cache`` (it was
    ``past_key_values``); coqui-tts 0.28's XTTS GPT still reads ``past_key_values``, so every
    step after the first would run without its cache and fail. Hand it over under the old name.
    Remove when coqui-tts reads ``cache``."""
    inference = model.gpt.gpt_inference
    if getattr(inference, "_media_stream_cache_shim", False):
        return
    forward = inference.forward

    def forward_with_cache(*args: Any, cache: Any = None, **kwargs: Any) -> Any:
        if cache is not None and kwargs.get("past_key_values") is None:
            kwargs["past_key_values"] = cache
        return forward(*args, **kwargs)

    inference.forward = forward_with_cache
    inference._media_stream_cache_shim = True


def decode_clip(data: bytes, max_seconds: float) -> np.ndarray:
    """Mono float32 at LOAD_RATE, at most ``max_seconds``; ValidationError if unreadable."""
    import soundfile as sf

    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise ValidationError("referenceAudio", f"is not a readable audio clip: {exc}", "WAV, FLAC, OGG or MP3") from exc
    mono = samples.mean(axis=1)
    if mono.size < rate // 3:
        raise ValidationError("referenceAudio", f"is {mono.size / rate:.2f} s long", "at least 0.33 s of speech")
    mono = mono[: int(max_seconds * rate)]
    if rate != LOAD_RATE:
        import torch
        import torchaudio

        mono = torchaudio.functional.resample(torch.from_numpy(np.ascontiguousarray(mono)), rate, LOAD_RATE).numpy()
    return np.clip(mono, -1.0, 1.0).astype(np.float32)


class XttsVoices:
    """Conditioning latents per voice for one XTTS model: studio speakers and cloned clips."""

    def __init__(self, model: Any, capacity: int = 32) -> None:
        self.model = model
        self.capacity = capacity
        self._clips: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # clips whose latents were computed (not found in the cache)

    @property
    def speakers(self) -> list[str]:
        manager = getattr(self.model, "speaker_manager", None)
        return list(manager.speakers) if manager is not None else []

    def studio(self, speaker: str) -> tuple[Any, Any]:
        latents = self.model.speaker_manager.speakers[speaker]
        return latents["gpt_cond_latent"], latents["speaker_embedding"]

    def clip(self, data: bytes) -> tuple[Any, Any]:
        """The clip's latents, computed on first use and then reused."""
        key = hashlib.sha256(data).hexdigest()
        with self._lock:
            if key in self._clips:
                self._clips.move_to_end(key)
                return self._clips[key]
        latents = self._compute(data)
        with self._lock:
            self._clips[key] = latents
            self.computed += 1
            while len(self._clips) > self.capacity:
                self._clips.popitem(last=False)
        return latents

    def _compute(self, data: bytes) -> tuple[Any, Any]:
        import torch

        config = self.model.config
        audio = torch.from_numpy(decode_clip(data, float(config.max_ref_len))).unsqueeze(0).to(self.model.device)
        if config.sound_norm_refs:
            audio = (audio / torch.abs(audio).max()) * 0.75
        with torch.inference_mode():
            speaker_embedding = self.model.get_speaker_embedding(audio, LOAD_RATE)
            gpt_cond_latent = self.model.get_gpt_cond_latents(
                audio, LOAD_RATE, length=config.gpt_cond_len, chunk_length=config.gpt_cond_chunk_len
            )
        return gpt_cond_latent, speaker_embedding

    def speak(self, text: str, language: str, latents: tuple[Any, Any], speed: float) -> np.ndarray:
        """One chunk with the model's sampling settings (what ``Xtts.synthesize`` passes)."""
        config = self.model.config
        if language not in config.languages:
            raise ConfigurationError(f"XTTS model does not speak {language!r} (it speaks {', '.join(config.languages)})")
        gpt_cond_latent, speaker_embedding = latents
        out = self.model.inference(
            text, language, gpt_cond_latent, speaker_embedding, speed=speed,
            temperature=config.temperature, length_penalty=config.length_penalty,
            repetition_penalty=config.repetition_penalty, top_k=config.top_k, top_p=config.top_p,
        )
        return np.asarray(out["wav"], dtype=np.float32)
