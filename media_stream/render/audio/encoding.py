"""From rendered samples to stored bytes: loudness normalisation (ITU-R BS.1770-4 integrated
loudness, K-weighted and gated), a true-peak limiter (4x oversampled peaks) so nothing clips,
and encoding to WAV (PCM 16) or MP3 (libsndfile's LAME encoder, bundled with soundfile).

Fixed decisions: mono only; MP3 at libsndfile's VBR default quality; a decoder of our MP3 gets
the duration from the stream (libsndfile writes a Xing/LAME header that carries the encoder
delay and padding, and ``decode`` checks it).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
BLOCK_S, OVERLAP = 0.4, 0.75
FORMATS = {"wav": ("WAV", "PCM_16", "audio/wav"), "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg"),
           "flac": ("FLAC", "PCM_16", "audio/flac"), "ogg": ("OGG", "VORBIS", "audio/ogg")}


def _biquad_high_shelf(fs: int, fc: float = 1500.0, gain_db: float = 4.0, q: float = 1 / math.sqrt(2)) -> tuple[np.ndarray, np.ndarray]:
    a = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * fc / fs
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    b = [a * ((a + 1) + (a - 1) * cos + 2 * math.sqrt(a) * alpha), -2 * a * ((a - 1) + (a + 1) * cos),
         a * ((a + 1) + (a - 1) * cos - 2 * math.sqrt(a) * alpha)]
    den = [(a + 1) - (a - 1) * cos + 2 * math.sqrt(a) * alpha, 2 * ((a - 1) - (a + 1) * cos),
           (a + 1) - (a - 1) * cos - 2 * math.sqrt(a) * alpha]
    return np.array(b) / den[0], np.array(den) / den[0]


def _biquad_high_pass(fs: int, fc: float = 38.0, q: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    w0 = 2 * math.pi * fc / fs
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    den = [1 + alpha, -2 * cos, 1 - alpha]
    return np.array(b) / den[0], np.array(den) / den[0]


def k_weight(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """BS.1770 K-weighting: the head shelf (+4 dB above ~1.5 kHz) then the RLB high-pass,
    designed for any sample rate (at 48 kHz they match the standard's coefficients)."""
    from scipy.signal import lfilter

    b1, a1 = _biquad_high_shelf(sample_rate)
    b2, a2 = _biquad_high_pass(sample_rate)
    return lfilter(b2, a2, lfilter(b1, a1, samples.astype(np.float64)))


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS of a mono signal (-inf for silence). Shorter than one
    400 ms block: the whole signal is one block."""
    weighted = k_weight(samples, sample_rate)
    block = int(round(BLOCK_S * sample_rate))
    step = max(1, int(round(block * (1 - OVERLAP))))
    if weighted.size < block:
        powers = np.array([np.mean(weighted ** 2)]) if weighted.size else np.array([0.0])
    else:
        starts = np.arange(0, weighted.size - block + 1, step)
        csum = np.concatenate([[0.0], np.cumsum(weighted ** 2)])
        powers = (csum[starts + block] - csum[starts]) / block
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(powers)
    gated = powers[loudness > ABSOLUTE_GATE_LUFS]
    if gated.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * math.log10(float(np.mean(gated))) + RELATIVE_GATE_LU
    gated = powers[(loudness > ABSOLUTE_GATE_LUFS) & (loudness > relative)]
    if gated.size == 0:
        return float("-inf")
    return -0.691 + 10 * math.log10(float(np.mean(gated)))


def true_peak(samples: np.ndarray) -> float:
    """Peak of the 4x oversampled signal (linear), BS.1770 annex 2's estimate of the true peak."""
    if samples.size == 0:
        return 0.0
    from scipy.signal import resample_poly

    return float(max(np.max(np.abs(samples)), np.max(np.abs(resample_poly(samples.astype(np.float64), 4, 1)))))


def limit(samples: np.ndarray, sample_rate: int, ceiling_db: float = -1.0, release_s: float = 0.08) -> np.ndarray:
    """A look-ahead peak limiter: the gain each (4x oversampled) peak needs is held for 5 ms
    either side, smoothed over that attack window (no clicks, still the full reduction at the
    peak), and released smoothly. Output true peak <= ceiling (a final scale guarantees it)."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d
    from scipy.signal import lfilter, resample_poly

    ceiling = 10 ** (ceiling_db / 20)
    x = samples.astype(np.float64)
    if x.size == 0 or true_peak(x) <= ceiling:
        return samples.astype(np.float32)
    over = np.abs(resample_poly(x, 4, 1))[: 4 * x.size]
    over = np.pad(over, (0, 4 * x.size - over.size)).reshape(-1, 4).max(axis=1)
    needed = np.minimum(1.0, ceiling / np.maximum(np.maximum(np.abs(x), over), 1e-12))
    attack = max(1, int(0.005 * sample_rate))
    held = minimum_filter1d(needed, size=2 * attack + 1, mode="nearest")
    attacked = uniform_filter1d(held, size=attack, mode="nearest")
    coeff = math.exp(-1.0 / (release_s * sample_rate))
    released = 1.0 - lfilter([1 - coeff], [1, -coeff], 1.0 - attacked)
    y = x * np.minimum(attacked, released)
    peak = true_peak(y)
    if peak > ceiling:  # what the oversampled estimate still sees over: scale it all
        y *= ceiling / peak
    return y.astype(np.float32)


@dataclass(frozen=True)
class Normalised:
    samples: np.ndarray
    loudness_lufs: float  # measured after normalisation
    true_peak_dbtp: float
    gain_db: float


def normalise_loudness(samples: np.ndarray, sample_rate: int, target_lufs: float, ceiling_dbtp: float = -1.0) -> Normalised:
    """Gain to ``target_lufs``, then the limiter; repeated (up to 4 times) while limiting left
    the result more than 0.2 LU under target. Silence stays silence."""
    y = samples.astype(np.float32)
    measured = integrated_loudness(y, sample_rate)
    if not math.isfinite(measured):
        return Normalised(y, measured, -math.inf, 0.0)
    total_gain = 0.0
    for _ in range(4):
        gain_db = target_lufs - measured
        total_gain += gain_db
        y = limit(y * np.float32(10 ** (gain_db / 20)), sample_rate, ceiling_dbtp)
        measured = integrated_loudness(y, sample_rate)
        if abs(target_lufs - measured) <= 0.2:
            break
    peak = true_peak(y)
    return Normalised(y, measured, 20 * math.log10(peak) if peak > 0 else -math.inf, total_gain)


def content_type(fmt: str) -> str:
    return FORMATS[fmt][2]


def encode(samples: np.ndarray, sample_rate: int, fmt: str = "wav") -> bytes:
    """Mono float samples in [-1, 1] as a file of format ``fmt`` (wav, mp3, flac, ogg)."""
    import soundfile as sf

    if fmt not in FORMATS:
        raise ValueError(f"unknown audio format {fmt!r} (allowed: {', '.join(FORMATS)})")
    container, subtype, _ = FORMATS[fmt]
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0).astype(np.float32), sample_rate, format=container, subtype=subtype)
    return buffer.getvalue()


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate


def decode(data: bytes) -> Decoded:
    """Any format ``encode`` writes, back to float32 mono samples."""
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    return Decoded(samples.astype(np.float32), int(rate))
