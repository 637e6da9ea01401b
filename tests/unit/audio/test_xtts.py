"""XTTS v2 on tiny weights through the production path: studio speakers for catalog voices,
and cloning from a reference clip read from our storage within the input caps, its
conditioning latents computed once per clip and reused across chunks and narrations."""

from __future__ import annotations

import io

import numpy as np
import pytest

from media_stream.config import AudioSettings
from media_stream.domain.audio_work import plan_narration
from media_stream.domain.errors import ValidationError
from media_stream.domain.outcomes import AudioReady
from media_stream.domain.requests import NarrationRequested
from media_stream.kafka.messages import ConsumedMessage
from media_stream.render.audio.registry import speech_renderer
from media_stream.runtime.audio_medium import AudioMedium
from media_stream.runtime.scheduler import Job
from media_stream.storage.inputs import InputReader
from media_stream.storage.memory import MemoryStore

THREE_SENTENCES = "Léa ouvre la porte. Le renard la regarde. Puis il sourit."
CLIP_KEY = "voices/proj-x/narrator.wav"


@pytest.fixture(scope="module")
def tiny_xtts(tmp_path_factory):
    pytest.importorskip("TTS", reason="the audio extra is not installed")
    from tests.tiny_models.xtts import build_xtts_folder

    return build_xtts_folder(tmp_path_factory.mktemp("tiny-xtts") / "xtts", speakers=("Damien Black", "Ana Florence"))


@pytest.fixture(scope="module")
def coqui(tiny_vits, tiny_xtts):
    settings = AudioSettings(speech_backend="coqui", coqui_model=str(tiny_vits), xtts_model=str(tiny_xtts), device="cpu", max_chunk_chars=40, output_format="wav")
    renderer = speech_renderer(settings)
    renderer.load()
    return renderer


def clip_bytes(seconds: float = 2.0, rate: int = 16000, hz: float = 140.0) -> bytes:
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    voice = 0.3 * np.sin(2 * np.pi * hz * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    buffer = io.BytesIO()
    sf.write(buffer, voice.astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def narrate(renderer, voice, text="Bonjour Léa."):
    (audio,) = renderer.synthesize([plan_narration(NarrationRequested("r", "j", "p", text=text, voice=voice))])
    return audio


def test_henri_is_an_xtts_studio_speaker(coqui, tiny_xtts):
    henri, eloise = narrate(coqui, "fr-FR-Henri"), narrate(coqui, "fr-FR-Eloise")
    assert henri.model == eloise.model == f"coqui:{tiny_xtts}"
    assert henri.not_applied == () and henri.notes == {}  # Damien Black is in speakers_xtts.pth
    assert henri.sample_rate == 24000 and np.std(henri.samples) > 1e-5
    assert henri.samples.shape != eloise.samples.shape or not np.allclose(henri.samples, eloise.samples, atol=1e-4)


def test_a_studio_speaker_the_model_lacks_is_reported(coqui):
    charline = narrate(coqui, "fr-BE-Charline")  # Henriette Usha is not in the tiny speakers file
    assert charline.not_applied == ("voice",)
    assert "no speaker 'Henriette Usha'" in charline.notes["voice"] and "'Damien Black' spoke" in charline.notes["voice"]


def _job(request: NarrationRequested, settings: AudioSettings) -> Job:
    return Job("proj-x", ConsumedMessage("media.audio.requested.v1", 0, 7, b"proj-x", b""), request, [plan_narration(request, settings.max_chunk_chars)], "00-" + "1" * 32 + "-" + "2" * 16 + "-01")


def test_clip_latents_are_computed_once_for_a_three_chunk_narration(coqui, tiny_xtts, monkeypatch):
    store = MemoryStore()
    store.put(CLIP_KEY, clip_bytes(), "audio/wav", {})
    medium = AudioMedium(coqui, None, store, None, None, coqui.settings)  # type: ignore[arg-type]
    model = coqui._models[str(tiny_xtts)]
    calls = {"speaker": 0, "gpt": 0}
    tts_model = model.synth.tts_model
    for name, key in (("get_speaker_embedding", "speaker"), ("get_gpt_cond_latents", "gpt")):
        original = getattr(tts_model, name)

        def counted(*args, _original=original, _key=key, **kwargs):
            calls[_key] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(tts_model, name, counted)
    request = NarrationRequested("req-c", "job-c", "proj-x", text=THREE_SENTENCES, voice="fr-FR-Denise", reference_audio=CLIP_KEY)
    job = _job(request, coqui.settings)
    assert len(job.steps[0].chunks) == 3
    (ready,) = medium.render([job], lambda _j: False)
    assert isinstance(ready, AudioReady), ready
    assert calls == {"speaker": 1, "gpt": 1}  # one clip, three chunks: latents once
    assert ready.model == f"coqui:{tiny_xtts}" and ready.not_applied == () and ready.duration_seconds > 0.5
    again = NarrationRequested("req-d", "job-d", "proj-x", text=THREE_SENTENCES, voice="fr-FR-Henri", reference_audio=CLIP_KEY)
    (second,) = medium.render([_job(again, coqui.settings)], lambda _j: False)
    assert isinstance(second, AudioReady) and calls == {"speaker": 1, "gpt": 1}  # the same clip: reused
    assert model.voices.computed == 1


def test_a_different_clip_is_a_different_voice(coqui, tiny_xtts):
    voices = coqui._models[str(tiny_xtts)].voices
    a, b = voices.clip(clip_bytes(hz=120.0)), voices.clip(clip_bytes(hz=220.0))
    assert not np.allclose(a[1].numpy(), b[1].numpy())  # the speaker embeddings differ


def test_the_clip_is_read_within_the_input_cap(coqui):
    store = MemoryStore()
    store.put(CLIP_KEY, clip_bytes(seconds=3.0), "audio/wav", {})
    reader = InputReader(store, max_audio_bytes=10_000)
    with pytest.raises(ValidationError) as caught:
        reader.read_audio("referenceAudio", CLIP_KEY)
    assert caught.value.field == "referenceAudio"


def test_an_unreadable_clip_is_a_validation_error(coqui, tiny_xtts):
    with pytest.raises(ValidationError, match="readable audio"):
        coqui._models[str(tiny_xtts)].voices.clip(b"RIFF not really a wave file")


def test_studio_speaker_output_is_synthesizer_tts(coqui, tiny_xtts):
    """Fidelity: our XTTS chunks equal the library's own call (Synthesizer.tts with the studio
    speaker, same seed), with only our trim and join applied. The library's XTTS needs the
    same transformers cache hand-over to run at all (render/audio/xtts.py)."""
    import torch
    from TTS.utils.synthesizer import PAD_SILENCE_SAMPLES, Synthesizer

    from media_stream.domain.scenes import derived_seed
    from media_stream.render.audio.dsp import join_with_pauses, trim_silence
    from media_stream.render.audio.xtts import accept_transformers_cache

    work = plan_narration(NarrationRequested("req-x", "job-x", "proj-x", text="Bonjour Léa. Le renard sourit.", voice="fr-FR-Henri"), 40)
    (ours,) = coqui.synthesize([work])
    synth = Synthesizer(tts_checkpoint=tiny_xtts, tts_config_path=tiny_xtts / "config.json", use_cuda=False)
    accept_transformers_cache(synth.tts_model)
    torch.manual_seed(derived_seed(work.project_id, work.request_id) % 2**32)
    # Synthesizer.tts appends PAD_SILENCE_SAMPLES of silence after each sentence: take it off
    # before our trim (whose 30 ms margin would otherwise reach into it where speech runs to the end)
    pieces = [
        trim_silence(np.asarray(synth.tts(text=c.text, speaker_name="Damien Black", language_name="fr", split_sentences=False), dtype=np.float32)[:-PAD_SILENCE_SAMPLES], 24000)
        for c in work.chunks
    ]
    reference = join_with_pauses(pieces, [c.pause_after_s for c in work.chunks], 24000)
    assert ours.samples.shape == reference.shape
    np.testing.assert_allclose(ours.samples, reference, atol=1e-5)
