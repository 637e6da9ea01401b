"""Voices are what they say: every catalog voice has its own rendition on each backend, and a
Coqui agent that cannot speak a voice as the catalog says reports ``voice`` in notApplied with
the reason (published as AudioReady.parameterNotes)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from media_stream.config import AudioSettings
from media_stream.domain.audio_work import plan_narration
from media_stream.domain.requests import NarrationRequested
from media_stream.domain.voices import VOICE_CATALOG, XTTS_V2, catalog_listing, catalog_renditions, renditions
from media_stream.render.audio.registry import finish_audio, speech_renderer
from tests.unit.audio.conftest import median_f0

TEXT = "Bonjour Léa. Le renard la regarde."


def test_every_catalog_voice_is_distinct_on_every_backend():
    shown = catalog_renditions()
    assert set(shown) == {"espeak", "coqui"}
    for backend, per_voice in shown.items():
        assert list(per_voice) == list(VOICE_CATALOG)
        same = {v: r.same_as for v, r in per_voice.items() if not r.distinct}
        assert same == {}, f"{backend}: voices that sound like another: {same}"
        assert len({r.spoken_by for r in per_voice.values()}) == len(VOICE_CATALOG)


def test_a_real_male_french_voice_on_coqui():
    henri, denise = VOICE_CATALOG["fr-FR-Henri"], VOICE_CATALOG["fr-FR-Denise"]
    assert henri.gender == "male" and henri.coqui_model == XTTS_V2 and henri.coqui_speaker  # an XTTS v2 studio speaker
    assert (henri.coqui_model, henri.coqui_speaker) != (denise.coqui_model, denise.coqui_speaker)
    assert henri.coqui_language == "fr"


def test_renditions_name_the_owner_of_a_shared_rendition():
    by_language = renditions("test", lambda v: v.language_code)
    assert by_language["fr-FR-Denise"].distinct  # first in catalog order owns "fr"
    assert by_language["fr-FR-Henri"].same_as == "fr-FR-Denise"
    assert by_language["fr-BE-Charline"].same_as == "fr-FR-Denise"
    assert by_language["en-US-Guy"].same_as == "en-US-Jenny"


def test_cli_and_gateway_show_per_backend_distinctness():
    from media_stream.cli import app
    from media_stream.gateway.schemas import VoiceOut

    result = CliRunner().invoke(app, ["voices", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert listed == catalog_listing()
    henri = next(v for v in listed if v["voiceId"] == "fr-FR-Henri")
    assert {b["backend"]: b["distinct"] for b in henri["backends"]} == {"espeak": True, "coqui": True}
    coqui = next(b for b in henri["backends"] if b["backend"] == "coqui")
    assert coqui["spokenBy"] == f"{XTTS_V2} [Damien Black]"
    for voice in listed:  # the gateway's response model accepts the listing as is
        assert VoiceOut.model_validate(voice).model_dump(by_alias=True) == voice
    table = CliRunner().invoke(app, ["voices"], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "coqui distinct" in table.output


def narrate(renderer, voice: str, **kwargs):
    (audio,) = renderer.synthesize([plan_narration(NarrationRequested("r", "j", "p", text=TEXT, voice=voice, **kwargs))])
    return audio


@pytest.fixture(scope="module")
def single_speaker_vits(tmp_path_factory):
    pytest.importorskip("TTS", reason="the audio extra is not installed")
    from tests.tiny_models.vits import build_vits_folder

    return build_vits_folder(tmp_path_factory.mktemp("tiny-vits-1") / "vits", seed=1)


@pytest.fixture
def css10_installed(single_speaker_vits, tmp_path, monkeypatch):
    """A TTS cache holding only the catalog's French VITS (a tiny single-speaker stand-in)."""
    monkeypatch.setenv("TTS_HOME", str(tmp_path))
    shutil.copytree(single_speaker_vits, tmp_path / "tts" / "tts_models--fr--css10--vits")
    renderer = speech_renderer(AudioSettings(speech_backend="coqui", device="cpu"))
    renderer.load()
    return renderer


def test_henri_without_xtts_is_reported_not_silently_denise(css10_installed):
    denise, henri = narrate(css10_installed, "fr-FR-Denise"), narrate(css10_installed, "fr-FR-Henri")
    assert denise.not_applied == () and denise.notes == {}
    assert henri.model == denise.model == "coqui:tts_models/fr/css10/vits"
    assert henri.not_applied == ("voice",)
    assert XTTS_V2 in henri.notes["voice"] and "not installed" in henri.notes["voice"]
    assert "tts_models/fr/css10/vits" in henri.notes["voice"]
    encoded = finish_audio(henri, AudioSettings(output_format="wav"), "narration")
    assert encoded.not_applied == ("voice",) and encoded.notes == henri.notes  # on to AudioReady.parameterNotes


def test_a_language_override_shared_by_voices_reports_the_second(single_speaker_vits, tiny_vits, monkeypatch, tmp_path):
    monkeypatch.setenv("TTS_HOME", str(tmp_path))  # nothing in the cache
    settings = AudioSettings(speech_backend="coqui", device="cpu", coqui_model=str(single_speaker_vits), coqui_models={"en": str(tiny_vits)})
    renderer = speech_renderer(settings)
    renderer.load()
    jenny, guy, sonia = (narrate(renderer, v) for v in ("en-US-Jenny", "en-US-Guy", "en-GB-Sonia"))
    assert jenny.not_applied == () and guy.not_applied == ()  # p225 and p226 are in the model
    assert sonia.not_applied == ("voice",) and "no speaker 'p228'" in sonia.notes["voice"]
    assert "'p225' spoke" in sonia.notes["voice"]
    katja = narrate(renderer, "de-DE-Katja")  # neither XTTS nor thorsten installed: the default speaks
    assert katja.not_applied == ("voice",) and "not installed" in katja.notes["voice"]


def test_pitch_fallback_and_emotion_are_explained(css10_installed):
    audio = narrate(css10_installed, "fr-FR-Denise", pitch=1.2, emotion="happy")
    assert audio.not_applied == ("emotion",)
    assert "phase-vocoder" in audio.notes["pitch"] and "emotion" in audio.notes


def test_espeak_says_when_its_pitch_needed_the_phase_vocoder(espeak):
    (native,) = espeak.synthesize([plan_narration(NarrationRequested("r", "j", "p", text=TEXT, voice="fr-FR-Denise", pitch=1.2))])
    (beyond,) = espeak.synthesize([plan_narration(NarrationRequested("r", "j", "p", text=TEXT, voice="fr-FR-Denise", pitch=2.0))])
    assert "pitch" not in native.notes
    assert "phase-vocoder" in beyond.notes["pitch"]


SAY = {"fr": "Bonjour, je vais vous raconter une histoire.", "en": "Hello, let me tell you a story.",
       "de": "Hallo, ich erzähle euch eine Geschichte.", "es": "Hola, os voy a contar una historia."}


def test_every_voice_speaks_on_espeak_as_its_own_voice_and_gender(espeak):
    spoken = {}
    for voice in VOICE_CATALOG.values():
        (audio,) = espeak.synthesize([plan_narration(NarrationRequested("r", "j", "p", text=SAY[voice.language_code], voice=voice.voice_id))])
        assert audio.not_applied == () and audio.samples.size > audio.sample_rate // 2, voice.voice_id
        spoken[voice.voice_id] = (voice, audio.samples, median_f0(audio.samples, audio.sample_rate))
    ids = list(spoken)
    for i, a in enumerate(ids):  # no two voices render the same samples
        for b in ids[i + 1:]:
            sa, sb = spoken[a][1], spoken[b][1]
            assert sa.shape != sb.shape or not np.allclose(sa, sb, atol=1e-3), (a, b)
    for language in SAY:  # within a language, every male voice is lower than every female one
        female = [f0 for v, _, f0 in spoken.values() if v.language_code == language and v.gender == "female"]
        male = [f0 for v, _, f0 in spoken.values() if v.language_code == language and v.gender == "male"]
        assert female and male and max(male) < min(female), (language, female, male)
