"""Signal processing shared by the audio backends: trim, join with pauses, crossfade, and
tempo / pitch changes that leave the other one alone.

numpy only, except ``time_stretch`` and ``pitch_shift`` which use librosa (phase vocoder +
resampling), imported when first needed: it comes with the audio extra (coqui-tts needs it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

FADE_S = 0.012  # short fades at chunk edges: no clicks where speech is cut or joined


def trim_silence(samples: np.ndarray, sample_rate: int, threshold_db: float = -45.0, keep_s: float = 0.03) -> np.ndarray:
    """Drop leading and trailing near-silence (below ``threshold_db`` of the peak), keeping
    ``keep_s`` of margin either side."""
    if samples.size == 0:
        return samples
    peak = float(np.max(np.abs(samples)))
    if peak == 0.0:
        return samples[:0]
    loud = np.flatnonzero(np.abs(samples) >= peak * 10 ** (threshold_db / 20))
    keep = int(keep_s * sample_rate)
    return samples[max(0, loud[0] - keep): min(samples.size, loud[-1] + 1 + keep)]


def fade(samples: np.ndarray, sample_rate: int, fade_in_s: float = FADE_S, fade_out_s: float = FADE_S) -> np.ndarray:
    out = np.array(samples, dtype=np.float32, copy=True)
    n_in = min(out.size // 2, int(fade_in_s * sample_rate))
    n_out = min(out.size // 2, int(fade_out_s * sample_rate))
    if n_in:
        out[:n_in] *= np.sin(np.linspace(0.0, math.pi / 2, n_in, dtype=np.float32)) ** 2
    if n_out:
        out[-n_out:] *= np.cos(np.linspace(0.0, math.pi / 2, n_out, dtype=np.float32)) ** 2
    return out


def join_with_pauses(pieces: Sequence[np.ndarray], pauses_s: Sequence[float], sample_rate: int) -> np.ndarray:
    """Pieces faded at their edges, each followed by its pause (seconds of silence)."""
    parts: list[np.ndarray] = []
    for piece, pause in zip(pieces, pauses_s, strict=True):
        if piece.size:
            parts.append(fade(piece, sample_rate))
        if pause > 0:
            parts.append(np.zeros(int(round(pause * sample_rate)), dtype=np.float32))
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, dtype=np.float32)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two equal-length signals, in [-1, 1] (0 when either is silent)."""
    energy = float(np.dot(a.astype(np.float64), a)) * float(np.dot(b.astype(np.float64), b))
    return float(np.dot(a.astype(np.float64), b)) / math.sqrt(energy) if energy > 0 else 0.0


def crossfade_gains(overlap: int, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Fade-out and fade-in gains that keep the mix's power constant for signals of correlation
    ``r`` (clipped to [0, 1]): a raised-cosine shape divided by sqrt(a² + b² + 2·r·a·b). At r = 1
    (the same audio on both sides) this is equal gain, a + b = 1; at r = 0 equal power,
    a² + b² = 1. Equal power on correlated audio would lift the middle of the seam by 3 dB."""
    r = min(1.0, max(0.0, r))
    x = (0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, overlap, dtype=np.float64)))
    a, b = 1.0 - x, x
    norm = np.sqrt(a * a + b * b + 2.0 * r * a * b)
    return (a / norm).astype(np.float32), (b / norm).astype(np.float32)


def crossfade_append(head: np.ndarray, tail: np.ndarray, overlap: int) -> np.ndarray:
    """``head`` then ``tail``, overlapping by ``overlap`` samples: the last ``overlap`` samples of
    head fade out while the first of tail fade in, with gains chosen for how correlated the two
    are there (``crossfade_gains``: equal gain for the same audio, equal power for unrelated)."""
    overlap = min(overlap, head.size, tail.size)
    if overlap <= 0:
        return np.concatenate([head, tail]).astype(np.float32)
    out_gain, in_gain = crossfade_gains(overlap, correlation(head[-overlap:], tail[:overlap]))
    mixed = head[-overlap:] * out_gain + tail[:overlap] * in_gain
    return np.concatenate([head[:-overlap], mixed, tail[overlap:]]).astype(np.float32)


def time_stretch(samples: np.ndarray, speed: float) -> np.ndarray:
    """Faster (speed > 1) or slower speech at the same pitch (phase vocoder)."""
    if abs(speed - 1.0) < 1e-3 or samples.size < 2048:
        return samples.astype(np.float32)
    import librosa

    return librosa.effects.time_stretch(samples.astype(np.float32), rate=float(speed)).astype(np.float32)


def pitch_shift(samples: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """Pitch multiplied by ``factor`` at the same duration."""
    if abs(factor - 1.0) < 1e-3 or samples.size < 2048:
        return samples.astype(np.float32)
    import librosa

    steps = 12.0 * math.log2(factor)
    return librosa.effects.pitch_shift(samples.astype(np.float32), sr=sample_rate, n_steps=steps).astype(np.float32)


def fit_length(samples: np.ndarray, n: int) -> np.ndarray:
    """Exactly ``n`` samples: cut, or padded with silence."""
    if samples.size >= n:
        return samples[:n]
    return np.concatenate([samples, np.zeros(n - samples.size, dtype=samples.dtype)])
