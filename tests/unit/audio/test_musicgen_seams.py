"""No click where MusicGen windows join: at each seam the largest sample-to-sample jump and the
spectral flux stay within the level of the windows' interiors, and the level does not bump.

Two sources: the tiny MusicGen through the production renderer, and the same renderer (its
real window / continuation / crossfade code) with the model call replaced by a codec-like tone
whose continuation re-decodes the audio prompt exactly, as a trained codec nearly does. On
such correlated audio the old equal-power crossfade lifted the middle of each seam by 3 dB."""

from __future__ import annotations

import math

import numpy as np
import pytest

from media_stream.bench.seams import measure_seams
from media_stream.config import AudioSettings
from media_stream.domain.audio_work import plan_music
from media_stream.domain.requests import MusicRequested
from media_stream.render.audio.dsp import correlation, crossfade_append, crossfade_gains
from media_stream.render.audio.registry import music_renderer
from media_stream.render.audio.musicgen import MusicgenRenderer

RATE, FRAME_RATE = 32000, 50
SCALED = dict(musicgen_window_s=1.0, musicgen_overlap_s=0.4, musicgen_crossfade_s=0.1)  # the 30 s / 5 s / 1 s production plan, scaled


def chord(start: int, n: int, freqs=(220.0, 277.2, 329.6)) -> np.ndarray:
    t = (start + np.arange(n)) / RATE
    return (0.2 * sum(np.sin(2 * math.pi * f * t) for f in freqs)).astype(np.float32)


class CodecLikeTone(MusicgenRenderer):
    """The model call answers with a chord that runs on in time: the audio prompt comes back
    as it went in (re-decoded by a perfect codec), then the continuation, phase-coherent.
    ``new_chord_after`` switches to an unrelated chord in later windows (uncorrelated seams)."""

    def __init__(self, settings: AudioSettings, new_chord_after: bool = False) -> None:
        super().__init__(settings)
        self.new_chord_after = new_chord_after

    def load(self) -> None:
        self.sample_rate, self.frame_rate, self.hop, self.num_codebooks = RATE, FRAME_RATE, RATE // FRAME_RATE, 4
        self.model, self._end, self._calls = object(), 0, 0

    def _generate(self, work, context, new_frames):
        self._calls += 1
        start = self._end - (0 if context is None else context.size)
        n = (0 if context is None else context.size) + new_frames * self.hop
        out = chord(start, n)
        if self.new_chord_after and context is not None:
            fresh = chord(start, n, freqs=(311.1, 392.0, 466.2))
            out[context.size - int(self.settings.musicgen_crossfade_s * RATE):] = fresh[context.size - int(self.settings.musicgen_crossfade_s * RATE):]
        self._end = start + n
        return out


def compose(renderer, seconds=3.3):
    audio = renderer.compose(plan_music(MusicRequested("r", "j", "p", duration_seconds=seconds, style="happy")))
    assert len(renderer.last_seams) >= 3
    return audio.samples, measure_seams(audio.samples, renderer.last_seams)


def test_crossfade_gains_follow_the_correlation():
    same_out, same_in = crossfade_gains(1000, 1.0)
    np.testing.assert_allclose(same_out + same_in, 1.0, atol=1e-6)  # equal gain
    apart_out, apart_in = crossfade_gains(1000, 0.0)
    np.testing.assert_allclose(apart_out**2 + apart_in**2, 1.0, atol=1e-6)  # equal power
    assert same_out[0] == pytest.approx(1.0) and same_in[-1] == pytest.approx(1.0)


def test_crossfading_audio_with_itself_changes_nothing():
    x = chord(0, 8000)
    joined = crossfade_append(x[:5000], x[3000:], 2000)  # the overlap is the same audio
    assert correlation(x[3000:5000], x[3000:5000]) == pytest.approx(1.0)
    np.testing.assert_allclose(joined, x, atol=1e-5)  # equal power would be 1.41x in the middle


def test_no_click_and_no_bump_at_correlated_seams():
    renderer = CodecLikeTone(AudioSettings(device="cpu", **SCALED))
    renderer.load()
    samples, report = compose(renderer)
    worst = report.worst()
    assert worst["jump_ratio"] <= 1.05, report
    assert worst["flux_ratio"] <= 1.5, report
    assert worst["rms_deviation_db"] <= 0.25, report
    np.testing.assert_allclose(samples, chord(0, samples.size) * (0.99 / max(0.99, float(np.max(np.abs(chord(0, samples.size)))))), atol=1e-4)


def test_unrelated_seams_keep_their_power():
    renderer = CodecLikeTone(AudioSettings(device="cpu", **SCALED), new_chord_after=True)
    renderer.load()
    _, report = compose(renderer)
    worst = report.worst()
    assert worst["jump_ratio"] <= 1.05, report
    assert worst["rms_deviation_db"] <= 1.0, report  # equal power on uncorrelated audio


def test_tiny_musicgen_seams_are_within_the_interiors(tiny_musicgen):
    renderer = music_renderer(AudioSettings(music_backend="musicgen", musicgen_model=str(tiny_musicgen), device="cpu", **SCALED))
    renderer.load()
    _, report = compose(renderer)
    worst = report.worst()
    assert worst["jump_ratio"] <= 1.2 and worst["flux_ratio"] <= 1.2, report
    assert worst["rms_deviation_db"] <= 1.0, report


def test_the_seam_measure_sees_a_click():
    """The measure can fail: a butt splice with a phase jump is a click at the seam."""
    x = np.concatenate([chord(0, 16000), chord(16000 + 37, 16000)])
    report = measure_seams(x, [(15990, 16010)])
    assert report.worst()["jump_ratio"] > 1.5 and report.worst()["flux_ratio"] > 1.5
