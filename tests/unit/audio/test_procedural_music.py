"""The procedural composer: exact duration, deterministic, never clips, style and tempo heard."""

from __future__ import annotations

import numpy as np
import pytest

from media_stream.domain.audio_work import plan_music
from media_stream.domain.requests import MusicRequested
from media_stream.domain.styles import MUSIC_STYLES
from media_stream.render.audio.base import MusicRenderer
from media_stream.render.audio.procedural_music import PROFILES, ProceduralMusicRenderer


def compose(style="happy", seconds=12.0, tempo=None, intensity=0.7, request_id="r"):
    work = plan_music(MusicRequested(request_id, "j", "p", duration_seconds=seconds, style=style, tempo=tempo, intensity=intensity))
    return ProceduralMusicRenderer().compose(work)


def tempo_of(samples: np.ndarray, sample_rate: int) -> float:
    import librosa

    return float(librosa.feature.tempo(y=samples, sr=sample_rate)[0])


def test_every_style_has_a_profile():
    assert set(MUSIC_STYLES) <= set(PROFILES)


@pytest.mark.parametrize("seconds", [1.0, 7.3, 30.0])
def test_exact_duration_and_never_clips(seconds):
    audio = compose(seconds=seconds, intensity=1.0)
    assert isinstance(ProceduralMusicRenderer(), MusicRenderer)
    assert audio.samples.size == round(seconds * audio.sample_rate) and audio.duration_s == pytest.approx(seconds)
    assert 0.5 < np.max(np.abs(audio.samples)) <= 10 ** (-1 / 20)
    assert audio.model == "procedural-v1"


def test_deterministic_by_seed():
    a, b = compose(request_id="same"), compose(request_id="same")
    c = compose(request_id="other")
    assert np.array_equal(a.samples, b.samples) and a.seed == b.seed
    assert not np.allclose(a.samples, c.samples)


def test_styles_differ():
    spectra = {}
    for style in ("ambient", "dramatic", "happy", "sad", "lullaby"):
        x = compose(style=style, seconds=8.0, tempo=100).samples
        spectrum = np.abs(np.fft.rfft(x))
        spectra[style] = spectrum / spectrum.sum()
    names = list(spectra)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            # total-variation distance between normalised magnitude spectra
            assert 0.5 * np.abs(spectra[first] - spectra[second]).sum() > 0.2, (first, second)


def beat_strength(samples: np.ndarray, sample_rate: int, bpm: float) -> float:
    """Normalised autocorrelation of the onset envelope at the beat period of ``bpm``."""
    import librosa

    hop = 256
    env = librosa.onset.onset_strength(y=samples, sr=sample_rate, hop_length=hop)
    env = env - env.mean()
    ac = np.correlate(env, env, "full")[env.size - 1:]
    lag = 60.0 / bpm * sample_rate / hop
    return float(ac[int(np.floor(lag)): int(np.ceil(lag)) + 1].max() / ac[0])


@pytest.mark.parametrize("style", ["happy", "dramatic", "adventure", "suspense", "playful"])
def test_tempo_is_heard(style):
    slow, fast = compose(style=style, seconds=16.0, tempo=90), compose(style=style, seconds=16.0, tempo=140)
    # each piece pulses at its own beat period, not at the other one's
    assert beat_strength(slow.samples, slow.sample_rate, 90) > beat_strength(slow.samples, slow.sample_rate, 140) + 0.1
    assert beat_strength(fast.samples, fast.sample_rate, 140) > beat_strength(fast.samples, fast.sample_rate, 90) + 0.1
    # and a tempo estimator (librosa's, default prior) finds it for the drum-led style
    if style == "happy":
        assert tempo_of(slow.samples, slow.sample_rate) == pytest.approx(90, rel=0.04)
        assert tempo_of(fast.samples, fast.sample_rate) == pytest.approx(140, rel=0.04)


def test_intensity_adds_drums_and_density():
    import librosa

    quiet, loud = compose(style="ambient", intensity=0.1), compose(style="ambient", intensity=0.9)
    onsets = [librosa.onset.onset_detect(y=a.samples, sr=a.sample_rate).size for a in (quiet, loud)]
    assert onsets[1] > 1.5 * onsets[0]
