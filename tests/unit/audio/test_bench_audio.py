"""`media-stream bench audio`: one JSON line keyed by backend, each figure after an untimed
warm-up; MusicGen pieces of several windows carry their seam measurements."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from media_stream.bench.audio import bench_music
from media_stream.config import AudioSettings
from media_stream.render.audio.registry import music_renderer


def test_bench_audio_cli_prints_one_json_line_with_warmups():
    from media_stream.cli import app

    result = CliRunner().invoke(app, ["bench", "audio", "--json", "--no-models", "--seconds", "2"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) == {"espeak", "procedural"}
    for figure in figures.values():
        assert figure["rtf"] > 0 and figure["warmup_s"] >= 0 and figure["render_s"] > 0
        assert figure["rtf"] == round(figure["render_s"] / figure["audio_s"], 4) or abs(figure["rtf"] - figure["render_s"] / figure["audio_s"]) < 1e-2
    assert figures["procedural"]["audio_s"] == 2.0


def test_bench_audio_rejects_an_unknown_musicgen_size():
    from media_stream.cli import app

    result = CliRunner().invoke(app, ["bench", "audio", "--musicgen-size", "huge"])
    assert result.exit_code != 0


def test_a_windowed_musicgen_piece_reports_its_seams(tiny_musicgen):
    renderer = music_renderer(AudioSettings(music_backend="musicgen", musicgen_model=str(tiny_musicgen), device="cpu",
                                            musicgen_window_s=1.0, musicgen_overlap_s=0.4, musicgen_crossfade_s=0.1))
    figure = bench_music(renderer, "musicgen", "cpu", 2.2, warmup_seconds=0.5)
    assert figure["audio_s"] == 2.2 and figure["seams"] >= 2
    assert figure["seam_jump_ratio"] <= 1.2 and figure["seam_flux_ratio"] <= 1.2 and figure["seam_rms_deviation_db"] <= 1.0
