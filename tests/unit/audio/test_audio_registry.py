"""Backends by configuration, the finishing step, and the import boundary."""

from __future__ import annotations

import subprocess
import sys

import pytest

from media_stream.config import AudioSettings, Settings
from media_stream.domain.audio_work import plan_music, plan_narration
from media_stream.domain.errors import ConfigurationError
from media_stream.domain.outcomes import AudioReady
from media_stream.domain.records import to_record
from media_stream.domain.requests import MusicRequested, NarrationRequested
from media_stream.render.audio.encoding import decode, integrated_loudness
from media_stream.render.audio.registry import finish_audio, music_renderer, speech_renderer


def test_importing_the_registry_and_the_defaults_does_not_import_torch():
    code = (
        "import sys\n"
        "import media_stream.render.audio.registry as r\n"
        "from media_stream.config import AudioSettings\n"
        "s = AudioSettings()\n"
        "r.speech_renderer(s); r.music_renderer(s)\n"
        "r.speech_renderer(AudioSettings(speech_backend='coqui')); r.music_renderer(AudioSettings(music_backend='musicgen'))\n"
        "bad = [m for m in ('torch', 'TTS', 'transformers', 'librosa') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_defaults_are_the_embedded_backends_and_env_configures():
    settings = Settings()
    assert (settings.audio.speech_backend, settings.audio.music_backend) == ("espeak", "procedural")
    assert settings.audio.coqui_model == "tts_models/fr/css10/vits"
    assert speech_renderer(settings.audio).name == "espeak" and music_renderer(settings.audio).name == "procedural"


def test_env_selects_backends(monkeypatch):
    monkeypatch.setenv("MEDIA_STREAM_AUDIO__SPEECH_BACKEND", "coqui")
    monkeypatch.setenv("MEDIA_STREAM_AUDIO__MUSIC_LUFS", "-18")
    settings = Settings()
    assert settings.audio.speech_backend == "coqui" and settings.audio.music_lufs == -18


def test_unknown_backend_is_a_configuration_error():
    settings = AudioSettings().model_copy(update={"speech_backend": "festival", "music_backend": "midi"})
    with pytest.raises(ConfigurationError, match="espeak, coqui"):
        speech_renderer(settings)
    with pytest.raises(ConfigurationError, match="procedural, musicgen"):
        music_renderer(settings)


@pytest.mark.parametrize("fmt", ["mp3", "wav"])
def test_finish_audio_fills_audio_ready(espeak, fmt):
    settings = AudioSettings(output_format=fmt)
    work = plan_narration(NarrationRequested("r", "j", "p", text="Bonjour. Au revoir.", voice="fr-FR-Denise", emotion="smug"))
    (rendered,) = espeak.synthesize([work])
    encoded = finish_audio(rendered, settings, "narration")
    back = decode(encoded.data)
    assert back.sample_rate == encoded.sample_rate == 22050
    assert back.duration_s == pytest.approx(encoded.duration_s, abs=0.03)
    assert integrated_loudness(back.samples, back.sample_rate) == pytest.approx(-16.0, abs=1.0)
    assert encoded.content_type == {"mp3": "audio/mpeg", "wav": "audio/wav"}[fmt]
    ready = AudioReady(
        "j", "p", "r", 1, kind="narration", url="file:///x", storage_key=f"narration/p/j/narration/1.{fmt}",
        duration_seconds=encoded.duration_s, sample_rate=encoded.sample_rate, format=encoded.format,
        model=encoded.model, not_applied=encoded.not_applied, loudness_lufs=encoded.loudness_lufs,
    )
    record = to_record(ready)
    assert record["notApplied"] == ["emotion"] and record["format"] == fmt


def test_finish_music_hits_the_music_target():
    from media_stream.render.audio.procedural_music import ProceduralMusicRenderer

    rendered = ProceduralMusicRenderer().compose(plan_music(MusicRequested("r", "j", "p", duration_seconds=6, style="sad")))
    encoded = finish_audio(rendered, AudioSettings(output_format="wav"), "music")
    assert encoded.loudness_lufs == pytest.approx(-14.0, abs=1.0) and encoded.true_peak_dbtp <= -1.0
    assert decode(encoded.data).duration_s == pytest.approx(6.0, abs=1e-3)
