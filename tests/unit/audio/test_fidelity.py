"""Fidelity to the libraries: on CPU, what our backends render is what the library's own call
renders for the same text / prompt, speaker, sampling settings and seed, before loudness and
encoding. Only our documented post-processing is applied to the reference: for speech, trimming
each chunk's silence and joining the chunks with their pauses and 12 ms fades
(render/audio/dsp.py); for music, cutting to the requested length and the 0.99 peak guard.
A backend that called the model differently (another speaker, length scale, seed, prompt,
guidance, top-k, temperature, dtype or token budget) would differ from the reference."""

from __future__ import annotations

import numpy as np
import pytest

from media_stream.config import AudioSettings
from media_stream.domain.audio_work import plan_music, plan_narration
from media_stream.domain.requests import MusicRequested, NarrationRequested
from media_stream.domain.scenes import derived_seed
from media_stream.render.audio.dsp import fit_length, join_with_pauses, trim_silence
from media_stream.render.audio.registry import music_renderer, speech_renderer

TEXT = "Bonjour Léa. Le renard la regarde, puis il sourit."


@pytest.fixture(scope="module")
def coqui(tiny_vits):
    settings = AudioSettings(speech_backend="coqui", coqui_model=str(tiny_vits), coqui_models={"en": str(tiny_vits)}, device="cpu", max_chunk_chars=40)
    renderer = speech_renderer(settings)
    renderer.load()
    return renderer


@pytest.fixture(scope="module")
def library_vits(tiny_vits):
    """The library's own Synthesizer, loaded apart from ours."""
    from TTS.utils.synthesizer import Synthesizer

    return Synthesizer(tts_checkpoint=tiny_vits / "model_file.pth", tts_config_path=tiny_vits / "config.json", use_cuda=False)


def synthesizer_reference(synth, work, speaker):
    """The library's own call: same text chunks, speaker, seed."""
    import torch

    rate = int(synth.output_sample_rate)
    torch.manual_seed(derived_seed(work.project_id, work.request_id) % 2**32)
    pieces = [trim_silence(np.asarray(synth.tts(text=c.text, speaker_name=speaker, split_sentences=False), dtype=np.float32), rate) for c in work.chunks]
    return join_with_pauses(pieces, [c.pause_after_s for c in work.chunks], rate)


@pytest.mark.parametrize("voice,speaker", [("en-US-Guy", "p226"), ("en-US-Jenny", "p225")])
def test_vits_output_is_synthesizer_tts(coqui, library_vits, voice, speaker):
    work = plan_narration(NarrationRequested("req-f", "job-f", "proj-f", text=TEXT, voice=voice), max_chunk_chars=40)
    assert len(work.chunks) >= 2  # several chunks: the seed is drawn once, as the library's loop does
    (ours,) = coqui.synthesize([work])
    reference = synthesizer_reference(library_vits, work, speaker)
    assert ours.not_applied == ()
    assert ours.samples.shape == reference.shape
    np.testing.assert_allclose(ours.samples, reference, atol=1e-6)


def test_vits_fidelity_tells_speakers_apart(coqui, library_vits):
    """The comparison can fail: the other speaker's reference is not our output."""
    work = plan_narration(NarrationRequested("req-f", "job-f", "proj-f", text=TEXT, voice="en-US-Guy"), max_chunk_chars=40)
    (ours,) = coqui.synthesize([work])
    other = synthesizer_reference(library_vits, work, "p225")
    assert ours.samples.shape != other.shape or not np.allclose(ours.samples, other, atol=1e-4)


@pytest.fixture(scope="module")
def musicgen(tiny_musicgen):
    renderer = music_renderer(AudioSettings(music_backend="musicgen", musicgen_model=str(tiny_musicgen), device="cpu", musicgen_window_s=2.0))
    renderer.load()
    return renderer


@pytest.fixture(scope="module")
def library_musicgen(tiny_musicgen):
    """transformers' own processor and model, loaded apart from ours."""
    from transformers import AutoProcessor, MusicgenForConditionalGeneration

    return AutoProcessor.from_pretrained(tiny_musicgen), MusicgenForConditionalGeneration.from_pretrained(tiny_musicgen).eval()


def generate_reference(library, work, seconds):
    """transformers' own call: prompt, guidance, sampling and seed."""
    import torch

    processor, model = library
    frames = int(np.ceil(seconds * model.config.audio_encoder.frame_rate))
    torch.manual_seed(work.seed % 2**32)
    with torch.inference_mode():
        out = model.generate(
            **processor(text=[work.prompt], padding=True, return_tensors="pt"),
            do_sample=True, guidance_scale=work.guidance_scale, temperature=work.temperature, top_k=250,
            max_new_tokens=frames + model.decoder.config.num_codebooks - 1,
        )
    audio = fit_length(out[0, 0].float().numpy(), int(round(seconds * model.config.audio_encoder.sampling_rate)))
    peak = float(np.max(np.abs(audio)))
    return audio * np.float32(0.99 / peak) if peak > 0.99 else audio


@pytest.mark.parametrize("style,intensity", [("happy", 0.5), ("dramatic", 0.9)])
def test_musicgen_output_is_generate(musicgen, library_musicgen, style, intensity):
    work = plan_music(MusicRequested("req-m", "job-m", "proj-m", duration_seconds=1.2, style=style, intensity=intensity))
    ours = musicgen.compose(work)
    assert len(musicgen.last_windows) == 1  # one generation: what the library call makes
    reference = generate_reference(library_musicgen, work, 1.2)
    assert ours.samples.shape == reference.shape
    np.testing.assert_allclose(ours.samples, reference, atol=1e-5)


def test_musicgen_fidelity_sees_a_different_guidance(musicgen, library_musicgen):
    import dataclasses

    work = plan_music(MusicRequested("req-m", "job-m", "proj-m", duration_seconds=1.2, style="happy"))
    ours = musicgen.compose(work)
    other = generate_reference(library_musicgen, dataclasses.replace(work, guidance_scale=work.guidance_scale + 2.0), 1.2)
    assert not np.allclose(ours.samples, other, atol=1e-4)
