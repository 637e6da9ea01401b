"""The phoneme path for real: a tiny VITS that reads IPA through Coqui's eSpeak phonemizer
(``use_phonemes=True``, ``phonemizer="espeak"``, ``phoneme_language="fr-fr"``, as the released
``tts_models/fr/css10/vits`` does), loaded through the production loader, speaking French.

It needs the espeak-ng program (Debian package espeak-ng; ``scripts/test`` installs it where it
can, the CUDA image carries it): without it this test fails, and the loader says what is missing."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from media_stream.config import AudioSettings
from media_stream.domain.audio_work import plan_narration
from media_stream.domain.errors import ConfigurationError
from media_stream.domain.requests import NarrationRequested
from media_stream.render.audio.registry import speech_renderer

TEXT = "Bonjour Léa. Où vont-ils donc, tous ces bateaux ?"


@pytest.fixture(scope="module")
def phoneme_vits(tmp_path_factory):
    pytest.importorskip("TTS", reason="the audio extra is not installed")
    from tests.tiny_models.vits import build_vits_folder

    return build_vits_folder(tmp_path_factory.mktemp("tiny-vits-ipa") / "vits", phonemes="fr-fr", seed=2)


def test_the_espeak_ng_program_is_installed():
    assert shutil.which("espeak-ng"), "Coqui's eSpeak phonemizer runs the espeak-ng program: apt-get install espeak-ng"


def test_phoneme_vits_speaks_french_through_the_production_loader(phoneme_vits):
    renderer = speech_renderer(AudioSettings(speech_backend="coqui", coqui_model=str(phoneme_vits), device="cpu"))
    renderer.load()
    model = renderer._models[str(phoneme_vits)].synth.tts_model
    tokenizer = model.tokenizer
    assert tokenizer.use_phonemes and tokenizer.phonemizer.name() == "espeak"
    assert tokenizer.phonemizer.language == "fr-fr"
    # what the model reads is IPA from eSpeak NG: "bonjour" -> /bɔ̃ʒuʁ/
    ids = tokenizer.text_to_ids("Bonjour", language="fr-fr")
    read = tokenizer.decode(ids).replace(tokenizer.characters.blank, "")
    assert "ʒ" in read and "ʁ" in read and "j" not in read, read
    (audio,) = renderer.synthesize([plan_narration(NarrationRequested("r", "j", "p", text=TEXT, voice="fr-FR-Denise"))])
    assert audio.sample_rate == 22050 and audio.samples.size > 0.3 * audio.sample_rate
    assert np.std(audio.samples) > 1e-4 and np.max(np.abs(audio.samples)) <= 1.0


def test_without_espeak_ng_the_loader_names_it(phoneme_vits, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng, no espeak
    renderer = speech_renderer(AudioSettings(speech_backend="coqui", coqui_model=str(phoneme_vits), device="cpu"))
    with pytest.raises(ConfigurationError, match="espeak-ng"):
        renderer.load()


def test_a_character_model_needs_no_espeak(tiny_vits, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    renderer = speech_renderer(AudioSettings(speech_backend="coqui", coqui_model=str(tiny_vits), device="cpu"))
    renderer.load()  # raw characters: no phonemizer, nothing to run
