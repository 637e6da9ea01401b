"""Measure the seams where MusicGen windows join, against the windows' interiors: the largest
sample-to-sample jump (a click), the spectral flux (a sudden change of spectrum) and the RMS
level (a crossfade law that lifts or dips the seam). numpy only; used by the seam tests and by
``media-stream bench audio``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

N_FFT = 4096
HOP = 1024


@dataclass(frozen=True)
class SeamReport:
    """Per seam: the largest jump, the largest flux and the RMS over the crossfade; for the
    interiors (everything at least one FFT frame away from a seam and from the ends): the
    largest jump and flux and the median RMS of blocks as long as a crossfade."""

    seam_jumps: tuple[float, ...]
    seam_flux: tuple[float, ...]
    seam_rms_db: tuple[float, ...]
    interior_jump: float
    interior_flux: float
    interior_rms_db: float

    def worst(self) -> dict[str, float]:
        """Seam over interior: jump and flux ratios (<= 1: within the interiors' level), and the
        largest RMS deviation of a seam from the interiors' median, in dB."""
        return {
            "jump_ratio": max(self.seam_jumps, default=0.0) / self.interior_jump if self.interior_jump else 0.0,
            "flux_ratio": max(self.seam_flux, default=0.0) / self.interior_flux if self.interior_flux else 0.0,
            "rms_deviation_db": max((abs(r - self.interior_rms_db) for r in self.seam_rms_db), default=0.0),
        }


def spectral_flux(samples: np.ndarray) -> np.ndarray:
    """Per STFT frame (Hann, N_FFT, HOP): the L2 norm of the magnitude increase over the
    previous frame, over the mean frame magnitude sum (so it does not scale with loudness)."""
    if samples.size < N_FFT + HOP:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float64), N_FFT)[::HOP]
    mags = np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1))
    rise = np.maximum(mags[1:] - mags[:-1], 0.0)
    scale = float(np.mean(np.sum(mags, axis=1))) or 1.0
    return np.concatenate([[0.0], np.sqrt(np.sum(rise**2, axis=1)) / scale * np.sqrt(mags.shape[1])])


def _rms_db(x: np.ndarray) -> float:
    return 20.0 * float(np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12))


def measure_seams(samples: np.ndarray, seams: Sequence[tuple[int, int]]) -> SeamReport:
    """``seams``: (first, last + 1) sample of each crossfade in ``samples``."""
    n = samples.size
    jumps = np.abs(np.diff(samples.astype(np.float64)))
    flux = spectral_flux(samples)
    centres = np.arange(flux.size) * HOP + N_FFT // 2
    near_seam = np.zeros(n, dtype=bool)
    seam_jumps, seam_flux, seam_rms = [], [], []
    for a, b in seams:
        lo, hi = max(0, a - N_FFT), min(n, b + N_FFT)
        near_seam[lo:hi] = True
        seam_jumps.append(float(jumps[max(0, a - 1):min(n - 1, b + 1)].max()) if b > a else 0.0)
        frames = (centres >= a - N_FFT // 2) & (centres < b + N_FFT // 2)
        seam_flux.append(float(flux[frames].max()) if frames.any() else 0.0)
        seam_rms.append(_rms_db(samples[a:b]))
    interior = ~near_seam
    interior[: N_FFT] = interior[n - N_FFT:] = False
    interior_jump = float(jumps[interior[:-1]].max()) if interior[:-1].any() else 0.0
    frame_ok = interior[np.clip(centres, 0, n - 1)] if flux.size else np.zeros(0, dtype=bool)
    interior_flux = float(flux[frame_ok].max()) if frame_ok.any() else 0.0
    width = max((b - a for a, b in seams), default=N_FFT)
    blocks = [samples[i:i + width] for i in range(0, n - width, width) if interior[i:i + width].all()]
    interior_rms = float(np.median([_rms_db(bl) for bl in blocks])) if blocks else _rms_db(samples)
    return SeamReport(tuple(seam_jumps), tuple(seam_flux), tuple(seam_rms), interior_jump, interior_flux, interior_rms)
