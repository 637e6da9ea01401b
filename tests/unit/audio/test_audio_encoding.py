"""Loudness (BS.1770), the limiter, and WAV / MP3 round trips."""

from __future__ import annotations

import numpy as np
import pytest

from media_stream.domain.audio_work import plan_music, plan_narration
from media_stream.domain.requests import MusicRequested, NarrationRequested
from media_stream.render.audio.encoding import decode, encode, integrated_loudness, limit, normalise_loudness, true_peak
from media_stream.render.audio.procedural_music import ProceduralMusicRenderer


def sine(freq, amplitude, seconds, sr):
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("sr", [48000, 44100, 32000, 22050])
def test_reference_sine_reads_its_standard_loudness(sr):
    # BS.1770: a 997 Hz sine at 0 dBFS (mono) reads -3.01 LUFS
    assert integrated_loudness(sine(997, 0.1, 5, sr), sr) == pytest.approx(-23.01, abs=0.15)


def test_gating_ignores_silence():
    sr = 48000
    tone = sine(997, 0.1, 5, sr)
    padded = np.concatenate([np.zeros(5 * sr, np.float32), tone, np.zeros(5 * sr, np.float32)])
    # silence is gated out (ungated, 15 s with 5 s of tone would read ~4.8 dB lower); only the
    # 400 ms blocks that straddle the edges pull it down a little
    assert integrated_loudness(padded, sr) == pytest.approx(integrated_loudness(tone, sr), abs=0.5)
    assert integrated_loudness(np.zeros(sr, np.float32), sr) == float("-inf")


def test_speech_and_music_reach_their_targets(espeak):
    work = plan_narration(NarrationRequested("r", "j", "p", text="Bonjour Léa. Où vont les bateaux ? Personne ne le sait.", voice="fr-FR-Denise"))
    (speech,) = espeak.synthesize([work])
    music = ProceduralMusicRenderer().compose(plan_music(MusicRequested("r", "j", "p", duration_seconds=10, style="dramatic", intensity=1.0)))
    for audio, target in ((speech, -16.0), (music, -14.0)):
        result = normalise_loudness(audio.samples, audio.sample_rate, target)
        assert integrated_loudness(result.samples, audio.sample_rate) == pytest.approx(target, abs=1.0)
        assert result.true_peak_dbtp <= -1.0 + 1e-6 and np.max(np.abs(result.samples)) < 1.0
        assert result.samples.size == audio.samples.size


def test_limiter_caps_the_true_peak_and_keeps_quiet_parts():
    sr = 32000
    x = sine(440, 0.2, 2, sr)
    x[sr: sr + 200] += 1.5  # a loud transient
    y = limit(x, sr, ceiling_db=-1.0)
    assert true_peak(y) <= 10 ** (-1 / 20) + 1e-6
    assert np.allclose(y[: sr // 2], x[: sr // 2], atol=1e-4)  # far from the peak: untouched


@pytest.mark.parametrize("fmt", ["wav", "mp3", "flac", "ogg"])
@pytest.mark.parametrize("sr,seconds", [(22050, 3.37), (32000, 5.0)])
def test_encode_round_trip_keeps_duration_and_rate(fmt, sr, seconds):
    x = sine(330, 0.5, seconds, sr)
    data = encode(x, sr, fmt)
    back = decode(data)
    assert back.sample_rate == sr
    assert back.duration_s == pytest.approx(seconds, abs=0.03)
    if fmt == "mp3":
        assert data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")
        assert len(data) < x.size  # compressed (16-bit WAV would be 2 bytes a sample)
    if fmt == "wav":
        assert data[:4] == b"RIFF" and np.allclose(back.samples, x, atol=1 / 32768 * 2)


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="wav, mp3"):
        encode(np.zeros(10, np.float32), 8000, "aiff")
