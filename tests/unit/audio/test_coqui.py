"""Coqui TTS through the production loader, on a tiny VITS (random weights, real code)."""

from __future__ import annotations

import numpy as np
import pytest

from media_stream.config import AudioSettings
from media_stream.domain.audio_work import plan_narration
from media_stream.domain.errors import ConfigurationError
from media_stream.domain.requests import NarrationRequested
from media_stream.render.audio.registry import speech_renderer

TEXT = "Bonjour Léa. Où vont-ils donc, tous ces bateaux ? Personne ne le sait."


@pytest.fixture(scope="module")
def coqui(tiny_vits):
    # the tiny two-speaker model stands for the English VCTK one (p225 and p226: Jenny and Guy)
    renderer = speech_renderer(AudioSettings(speech_backend="coqui", coqui_model=str(tiny_vits), coqui_models={"en": str(tiny_vits)}, device="cpu"))
    renderer.load()
    return renderer


def narrate(renderer, **kwargs):
    (audio,) = renderer.synthesize([plan_narration(NarrationRequested("r", "j", "p", text=TEXT, **{"voice": "en-US-Guy", **kwargs}))])
    return audio


def test_tiny_vits_speaks_through_the_production_loader(coqui, tiny_vits):
    audio = narrate(coqui)
    assert coqui.name == "coqui" and audio.sample_rate == 22050
    assert audio.samples.size > 0.5 * audio.sample_rate and np.std(audio.samples) > 1e-4
    assert np.max(np.abs(audio.samples)) <= 1.0
    assert audio.model == f"coqui:{tiny_vits}" and audio.not_applied == ()
    assert audio.duration_s == pytest.approx(audio.samples.size / audio.sample_rate, abs=1e-3)


def test_speed_is_the_length_scale_and_pitch_keeps_duration(coqui):
    normal, fast, slow = narrate(coqui, speed=1.0), narrate(coqui, speed=2.0), narrate(coqui, speed=0.5)
    # random weights predict ~1 frame per token, and durations are rounded up to whole frames,
    # so the change is less than proportional; trained models scale fully
    assert fast.duration_s < 0.85 * normal.duration_s and slow.duration_s > 1.3 * normal.duration_s
    assert coqui._models[coqui.settings.coqui_model].synth.tts_model.length_scale == 1  # restored
    high = narrate(coqui, pitch=1.5)  # same ids, same seed: the same utterance, shifted
    assert high.duration_s == pytest.approx(normal.duration_s, abs=0.01)
    assert not np.allclose(high.samples, normal.samples, atol=1e-3)


def test_same_request_same_audio(coqui):
    assert np.array_equal(narrate(coqui).samples, narrate(coqui).samples)


def test_emotion_and_unknown_speaker_are_reported(coqui):
    assert narrate(coqui, emotion="happy").not_applied == ("emotion",)
    assert narrate(coqui, voice="fr-FR-Denise").not_applied == ("voice",)  # single-speaker voice on a 2-speaker model


def test_missing_model_is_a_configuration_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TTS_HOME", str(tmp_path))
    renderer = speech_renderer(AudioSettings(speech_backend="coqui", coqui_model="tts_models/fr/css10/vits", device="cpu"))
    with pytest.raises(ConfigurationError, match="tts_models/fr/css10/vits"):
        renderer.load()


def test_model_name_resolves_in_the_tts_cache(tiny_vits, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("TTS_HOME", str(tmp_path))
    shutil.copytree(tiny_vits, tmp_path / "tts" / "tts_models--fr--css10--vits")
    renderer = speech_renderer(AudioSettings(speech_backend="coqui", device="cpu"))  # the default model name
    renderer.load()
    assert narrate(renderer, voice="fr-FR-Henri").model == "coqui:tts_models/fr/css10/vits"
