"""eSpeak NG (embedded default): real speech, duration near the estimate, speed and pitch."""

from __future__ import annotations

import numpy as np
import pytest

from media_stream.domain.audio_work import plan_narration
from media_stream.domain.requests import NarrationRequested
from media_stream.render.audio.base import SpeechRenderer
from tests.unit.audio.conftest import median_f0, rms_db

FR = (
    "Il était une fois, dans un petit village au bord de la mer, une jeune fille nommée Léa. "
    "Chaque matin, elle marchait jusqu'au port pour regarder les bateaux partir. "
    "Un jour, un renard lui demanda : « Où vont-ils donc, tous ces bateaux ? »"
)
EN = "Once upon a time, a young girl named Lea lived by the sea. Every morning she watched the boats sail away."


def speak(espeak, text=FR, **kwargs):
    work = plan_narration(NarrationRequested("r", "j", "p", text=text, **kwargs))
    (audio,) = espeak.synthesize([work])
    return work, audio


@pytest.mark.parametrize("voice,text", [("fr-FR-Denise", FR), ("fr-FR-Henri", FR), ("en-US-Jenny", EN), ("en-GB-Ryan", EN)])
def test_speech_is_real_and_near_the_estimate(espeak, voice, text):
    work, audio = speak(espeak, text, voice=voice)
    assert isinstance(espeak, SpeechRenderer)
    assert audio.sample_rate == 22050 and audio.samples.dtype == np.float32
    assert audio.duration_s == pytest.approx(audio.samples.size / audio.sample_rate, abs=1e-3)
    assert rms_db(audio.samples) > -35 and np.max(np.abs(audio.samples)) <= 1.0
    assert abs(audio.duration_s - work.estimated_duration_s) <= 0.3 * work.estimated_duration_s
    assert audio.model.startswith("espeak-ng ") and audio.not_applied == ()
    # speech has pauses: a good share of 20 ms frames are much quieter than the loud ones
    frames = audio.samples[: audio.samples.size // 441 * 441].reshape(-1, 441)
    energy = np.sqrt(np.mean(frames**2, axis=1))
    assert np.mean(energy < 0.05 * energy.max()) > 0.1


def test_speed_changes_duration(espeak):
    _, normal = speak(espeak, speed=1.0)
    _, fast = speak(espeak, speed=2.0)
    _, slow = speak(espeak, speed=0.5)  # below eSpeak's 80 wpm: time-stretched
    assert fast.duration_s == pytest.approx(normal.duration_s / 2, rel=0.15)
    assert slow.duration_s == pytest.approx(normal.duration_s * 2, rel=0.15)


@pytest.mark.parametrize("pitch", [0.7, 1.4, 2.0])
def test_pitch_shifts_the_fundamental(espeak, pitch):
    _, base = speak(espeak, voice="fr-FR-Henri")
    _, shifted = speak(espeak, voice="fr-FR-Henri", pitch=pitch)
    ratio = median_f0(shifted.samples, shifted.sample_rate) / median_f0(base.samples, base.sample_rate)
    assert ratio == pytest.approx(pitch, rel=0.12)
    assert shifted.duration_s == pytest.approx(base.duration_s, rel=0.05)  # pitch leaves tempo alone


def test_emotion_is_prosody_or_reported(espeak):
    _, neutral = speak(espeak, voice="fr-FR-Denise")
    _, sad = speak(espeak, voice="fr-FR-Denise", emotion="sad")
    _, odd = speak(espeak, voice="fr-FR-Denise", emotion="sarcastic")
    assert sad.not_applied == () and sad.duration_s > neutral.duration_s  # sad: slower, lower
    assert median_f0(sad.samples, sad.sample_rate) < median_f0(neutral.samples, neutral.sample_rate)
    assert odd.not_applied == ("emotion",)


def test_a_batch_gives_one_result_per_work_in_order(espeak):
    works = [plan_narration(NarrationRequested("r", "j", "p", text=t, voice="en-US-Guy")) for t in ("Hello.", EN)]
    short, long = espeak.synthesize(works)
    assert short.duration_s < long.duration_s
