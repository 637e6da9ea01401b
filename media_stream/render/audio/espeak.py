"""Embedded narration default: eSpeak NG through ctypes, from the library and voice data that
the ``espeakng-loader`` wheel ships (no system package, no model weights).

Real formant speech at 22,050 Hz in every catalog language. Speed is eSpeak's own rate
(words per minute; beyond its 80..450 a time-stretch), pitch is eSpeak's base pitch (0..100, about x0.64..x1.57) with the rest,
beyond that range, done by a pitch shift; emotions map to prosody (pitch, pitch range, rate).
The C library is one global engine per process: every call holds one lock.
"""

from __future__ import annotations

import ctypes
import logging
import math
import threading
import time
from collections.abc import Sequence

import numpy as np

from media_stream.domain.audio_work import NarrationWork
from media_stream.domain.errors import ConfigurationError, PermanentError
from media_stream.render.audio.base import RenderedAudio
from media_stream.render.audio.dsp import join_with_pauses, pitch_shift, time_stretch, trim_silence

log = logging.getLogger(__name__)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_RAND_SEED = 1  # reseeded before each narration: the same request renders the same samples
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_MIN_RATE, _MAX_RATE = 80, 450
# eSpeak's pitch parameter scales the voice's base pitch about 2 ** ((p - 50) / 77) (measured
# on fr and en voices: 25 -> x0.81, 75 -> x1.28).
_PITCH_OCTAVE = 77.0

# emotion -> (pitch factor, pitch range 0..100 (50 = voice default), rate factor)
EMOTION_PROSODY: dict[str, tuple[float, int, float]] = {
    "neutral": (1.0, 50, 1.0),
    "happy": (1.08, 75, 1.05),
    "excited": (1.12, 90, 1.12),
    "sad": (0.92, 25, 0.88),
    "calm": (0.97, 35, 0.92),
    "angry": (1.03, 80, 1.08),
    "fearful": (1.10, 70, 1.10),
    "tender": (0.98, 40, 0.90),
}

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Engine:
    """The process-wide eSpeak NG engine (the C library keeps global state)."""

    _instance: _Engine | None = None
    _create_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise ConfigurationError(f"speech backend 'espeak' needs espeakng-loader (uv sync --extra audio): {exc}") from exc
        self.lock = threading.Lock()
        self._library_path = espeakng_loader.get_library_path()
        self._data_path = espeakng_loader.get_data_path()
        self._chunks: list[np.ndarray] = []
        self._callback = _SynthCallback(self._on_samples)  # kept alive as long as the engine
        self._open()

    def _open(self) -> None:
        self.lib = ctypes.CDLL(self._library_path)
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]
        self.lib.espeak_Info.argtypes = [ctypes.c_void_p]
        self.lib.espeak_Info.restype = ctypes.c_char_p
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, self._data_path.encode(), _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise ConfigurationError(f"eSpeak NG failed to initialise (data: {self._data_path})")
        self.sample_rate = int(rate)
        self.version = (self.lib.espeak_Info(None) or b"?").decode()
        self.lib.espeak_SetSynthCallback(self._callback)

    def reset(self) -> None:
        """Unload and load the library again (caller holds ``self.lock``).

        eSpeak NG keeps synthesis state in C globals that outlive ``espeak_Terminate``, so the
        same text spoken twice in one process gave different samples (measured: three calls,
        three digests, lengths ~30 samples apart; a freshly loaded copy is stable). A narration
        starts from a freshly loaded library, so the same request renders the same bytes (~6 ms)."""
        import _ctypes

        self.lib.espeak_Terminate()
        handle = self.lib._handle
        del self.lib
        _ctypes.dlclose(handle)
        self._open()
        # Voice variants with breath noise (fr+f3...) draw from libc's rand(): seed it too.
        ctypes.CDLL(None).srand(_RAND_SEED)
        if hasattr(self.lib, "espeak_ng_SetRandSeed"):  # eSpeak NG 1.52+ has a generator of its own
            self.lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            self.lib.espeak_ng_SetRandSeed(_RAND_SEED)

    @classmethod
    def get(cls) -> _Engine:
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = _Engine()
            return cls._instance

    def _on_samples(self, wav, count, _events) -> int:
        if count > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0: continue

    def speak(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int) -> np.ndarray:
        """One utterance as float32 samples (caller holds ``self.lock``)."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise PermanentError(f"eSpeak NG has no voice {voice!r}")
        self.lib.espeak_SetParameter(_RATE, rate, 0)
        self.lib.espeak_SetParameter(_PITCH, pitch, 0)
        self.lib.espeak_SetParameter(_RANGE, pitch_range, 0)
        self._chunks = []
        data = text.encode("utf-8") + b"\0"
        status = self.lib.espeak_Synth(data, len(data), 0, 0, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        if status != 0:
            raise PermanentError(f"eSpeak NG failed to synthesize (status {status})")
        if not self._chunks:
            return np.zeros(0, dtype=np.float32)
        return (np.concatenate(self._chunks).astype(np.float32) / 32768.0).astype(np.float32)


def espeak_pitch(factor: float) -> tuple[int, float]:
    """eSpeak's pitch parameter for ``factor`` and the residual factor it cannot reach."""
    param = 50.0 + _PITCH_OCTAVE * math.log2(factor)
    clamped = min(100.0, max(0.0, param))
    residual = 2 ** ((param - clamped) / _PITCH_OCTAVE)
    return int(round(clamped)), residual


class EspeakRenderer:
    """SpeechRenderer on eSpeak NG. ``model`` reads ``espeak-ng <version>:<voice>``."""

    name = "espeak"

    def __init__(self, max_batch_size: int = 8) -> None:
        self.max_batch_size = max_batch_size
        self._engine: _Engine | None = None

    def load(self) -> None:
        self._engine = _Engine.get()
        log.info("eSpeak NG %s loaded (%d Hz)", self._engine.version, self._engine.sample_rate)

    @property
    def sample_rate(self) -> int:
        return self._ready().sample_rate

    def _ready(self) -> _Engine:
        if self._engine is None:
            self.load()
        assert self._engine is not None
        return self._engine

    def synthesize(self, batch: Sequence[NarrationWork]) -> list[RenderedAudio]:
        return [self._one(work) for work in batch]

    def _one(self, work: NarrationWork) -> RenderedAudio:
        engine = self._ready()
        started = time.perf_counter()
        not_applied: list[str] = []
        notes: dict[str, str] = {}
        pitch_factor, pitch_range, rate_factor = EMOTION_PROSODY["neutral"]
        if work.emotion is not None:
            if work.emotion in EMOTION_PROSODY:
                pitch_factor, pitch_range, rate_factor = EMOTION_PROSODY[work.emotion]
            else:
                not_applied.append("emotion")
                notes["emotion"] = f"eSpeak NG has prosody for {', '.join(EMOTION_PROSODY)} only"
        wanted_rate = work.voice.espeak_rate * work.speed * rate_factor
        rate = int(round(min(_MAX_RATE, max(_MIN_RATE, wanted_rate))))
        stretch = wanted_rate / rate  # beyond eSpeak's 80..450 wpm: time-stretch the rest
        pitch, residual = espeak_pitch(work.pitch * pitch_factor)
        pieces: list[np.ndarray] = []
        with engine.lock:
            engine.reset()  # the same narration, the same samples
            for chunk in work.chunks:
                pieces.append(trim_silence(engine.speak(chunk.text, work.voice.espeak_voice, rate, pitch, pitch_range), engine.sample_rate))
        if abs(stretch - 1.0) > 0.01:
            pieces = [time_stretch(piece, stretch) for piece in pieces]
        samples = join_with_pauses(pieces, [c.pause_after_s / work.speed for c in work.chunks], engine.sample_rate)
        if abs(residual - 1.0) > 0.01:
            samples = pitch_shift(samples, engine.sample_rate, residual)
            notes["pitch"] = f"beyond eSpeak's native pitch range: the last x{residual:.2f} is a phase-vocoder shift after synthesis"
        return RenderedAudio(
            sample_rate=engine.sample_rate,
            duration_s=round(samples.size / engine.sample_rate, 3),
            model=f"espeak-ng {engine.version}:{work.voice.espeak_voice}",
            render_ms=int((time.perf_counter() - started) * 1000),
            samples=samples,
            not_applied=tuple(not_applied),
            notes=notes,
        )
