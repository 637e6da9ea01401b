"""MusicGen through transformers on a tiny model: durations, windowed continuation, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from media_stream.config import AudioSettings
from media_stream.domain.audio_work import plan_music
from media_stream.domain.errors import ConfigurationError
from media_stream.domain.requests import MusicRequested
from media_stream.render.audio.registry import music_renderer
from media_stream.render.audio.musicgen import Window, plan_windows


@pytest.fixture(scope="module")
def musicgen(tiny_musicgen):
    # a 1 s window with 0.4 s of context and a 0.1 s crossfade: the 30 s production window, scaled down
    settings = AudioSettings(music_backend="musicgen", musicgen_model=str(tiny_musicgen), device="cpu",
                             musicgen_window_s=1.0, musicgen_overlap_s=0.4, musicgen_crossfade_s=0.1)
    renderer = music_renderer(settings)
    renderer.load()
    return renderer


def work(seconds, request_id="r", style="happy"):
    return plan_music(MusicRequested(request_id, "j", "p", duration_seconds=seconds, style=style))


def test_plan_windows_covers_the_piece():
    assert plan_windows(40, 50, 20, 5) == [Window(0, 40)]
    windows = plan_windows(165, 50, 20, 5)
    assert windows[0] == Window(0, 50) and all(w.context_frames == 20 for w in windows[1:])
    assert windows[0].new_frames + sum(w.new_frames - 5 for w in windows[1:]) == 165
    assert all(w.context_frames + w.new_frames <= 50 for w in windows)
    with pytest.raises(ValueError):
        plan_windows(100, 10, 10, 1)


def test_short_piece_is_one_generation_of_the_requested_duration(musicgen, tiny_musicgen):
    audio = musicgen.compose(work(0.7))
    assert audio.sample_rate == 32000 and audio.samples.size == round(0.7 * 32000)
    assert len(musicgen.last_windows) == 1 and np.std(audio.samples) > 1e-4
    assert audio.model == f"musicgen:{tiny_musicgen}" and np.max(np.abs(audio.samples)) <= 1.0


def test_long_piece_continues_window_by_window_with_crossfades(musicgen):
    audio = musicgen.compose(work(3.3))
    assert audio.samples.size == round(3.3 * 32000) and audio.duration_s == pytest.approx(3.3)
    windows = musicgen.last_windows
    assert len(windows) == 6 and all(w.context_frames == 20 for w in windows[1:])
    # no hole where windows join: every 50 ms has sound
    frames = audio.samples[: audio.samples.size // 1600 * 1600].reshape(-1, 1600)
    assert np.all(np.sqrt(np.mean(frames**2, axis=1)) > 1e-4)


def test_same_seed_same_music(musicgen):
    a, b, c = musicgen.compose(work(0.5, "x")), musicgen.compose(work(0.5, "x")), musicgen.compose(work(0.5, "y"))
    assert np.allclose(a.samples, b.samples, atol=1e-5)
    assert not np.allclose(a.samples, c.samples, atol=1e-3)


def test_missing_model_is_a_configuration_error(tmp_path):
    renderer = music_renderer(AudioSettings(music_backend="musicgen", musicgen_model=str(tmp_path / "nothing"), device="cpu"))
    with pytest.raises(ConfigurationError, match="nothing"):
        renderer.load()
