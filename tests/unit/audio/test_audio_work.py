"""Narration and music planning: sentence chunks, estimates, voices, prompts and seeds."""

from __future__ import annotations

import pytest

from media_stream.domain.audio_work import (
    CLAUSE_PAUSE_S,
    PARAGRAPH_PAUSE_S,
    SENTENCE_PAUSE_S,
    chunk_text,
    estimate_narration,
    estimated_duration_s,
    plan_music,
    plan_narration,
    split_sentences,
)
from media_stream.domain.errors import ValidationError
from media_stream.domain.requests import MusicRequested, NarrationRequested
from media_stream.domain.styles import MUSIC_STYLES, VOICES
from media_stream.domain.voices import VOICE_CATALOG, resolve_voice


def texts(chunks) -> list[str]:
    return [c.text for c in chunks]


def test_french_punctuation_and_quotes():
    text = "Léa demanda : « Où vont-ils donc ? » Le renard sourit… Puis il partit ! « Quoi ? dit-elle. » Fin."
    assert texts(split_sentences(text)) == [
        "Léa demanda : « Où vont-ils donc ? »",
        "Le renard sourit…",
        "Puis il partit !",
        "« Quoi ? dit-elle. »",  # a lower-case continuation after "?" is the same sentence
        "Fin.",
    ]


def test_abbreviations_and_initials_do_not_end_sentences():
    text = "M. Dupont et Mme. Martin virent le Dr. Roux. J. K. Rowling écrit. Mr. Smith went home, e.g. by bus. Done."
    assert texts(split_sentences(text)) == [
        "M. Dupont et Mme. Martin virent le Dr. Roux.",
        "J. K. Rowling écrit.",
        "Mr. Smith went home, e.g. by bus.",
        "Done.",
    ]


def test_pauses_sentence_paragraph_and_last():
    chunks = split_sentences("Un. Deux.\n\nTrois.")
    assert [c.pause_after_s for c in chunks] == [SENTENCE_PAUSE_S, PARAGRAPH_PAUSE_S, 0.0]


def test_very_long_sentence_is_cut_at_clauses_then_words():
    opening = "Il marchait le long de la mer depuis le matin,"  # a clause mark past a quarter of the limit
    sentence = opening + " " + " ".join(["longtemps"] * 80) + "; puis il s'arrêta."
    chunks = chunk_text(sentence, max_chars=100)
    assert all(len(c.text) <= 100 for c in chunks)
    assert chunks[0].text == opening
    assert " ".join(texts(chunks)).split() == sentence.split()  # nothing lost, nothing added
    assert all(c.pause_after_s == CLAUSE_PAUSE_S for c in chunks[:-1]) and chunks[-1].pause_after_s == 0.0
    # a "word" longer than the limit is cut hard
    assert all(len(c.text) <= 40 for c in chunk_text("a" * 130, max_chars=40))


def test_estimate_scales_with_words_and_speed_and_language():
    text = " ".join(["Un mot."] * 80)  # 160 words in 80 sentences: 79 pauses
    pauses = 79 * SENTENCE_PAUSE_S
    assert estimated_duration_s(text, 1.0, "fr") == pytest.approx(60.0 + pauses, abs=0.01)  # 160 wpm
    assert estimated_duration_s(text, 2.0, "fr") == pytest.approx((60.0 + pauses) / 2, abs=0.01)
    assert estimated_duration_s(text, 1.0, "en-US") == pytest.approx(64.0 + pauses, abs=0.01)  # 150 wpm
    request = NarrationRequested("r", "j", "p", text=text, voice="en-GB-Sonia", speed=1.5)
    assert estimate_narration(request) == estimated_duration_s(text, 1.5, "en")


def test_unknown_voice_lists_the_valid_ones():
    with pytest.raises(ValidationError) as caught:
        NarrationRequested("r", "j", "p", text="Bonjour.", voice="fr-FR-Nobody").validate()
    assert caught.value.field == "voice"
    for voice_id in VOICE_CATALOG:
        assert voice_id in str(caught.value)
    with pytest.raises(ValidationError, match="fr-FR-Denise"):
        resolve_voice("xx")


def test_catalog_and_request_validation_agree():
    assert set(VOICES) == set(VOICE_CATALOG)
    assert {"fr-FR-Denise", "fr-FR-Henri", "en-US-Jenny", "en-US-Guy", "en-GB-Sonia", "en-GB-Ryan"} <= set(VOICES)
    assert {v.gender for v in VOICE_CATALOG.values()} == {"female", "male"}


def test_plan_narration():
    work = plan_narration(NarrationRequested("r", "j", "p", text="Un. Deux.", voice="fr-FR-Henri", speed=1.2, pitch=0.9, emotion=" Happy "))
    assert work.voice.espeak_voice == "fr+m3" and work.emotion == "happy"
    assert texts(work.chunks) == ["Un.", "Deux."] and work.estimated_duration_s > 0


def test_music_prompt_seed_and_settings():
    request = MusicRequested("r-1", "j", "p", duration_seconds=12, style="ambient", intensity=0.2)
    work = plan_music(request)
    assert work.prompt.startswith("calm ambient music, soft pads, peaceful")
    assert "70 bpm" in work.prompt and not work.tempo_requested
    assert work.seed == plan_music(request).seed  # derived from the ids: a retry is the same
    assert work.seed != plan_music(MusicRequested("r-2", "j", "p", style="ambient")).seed
    assert plan_music(request, seed=7).seed == 7
    loud = plan_music(MusicRequested("r-1", "j", "p", style="dramatic", tempo=150, intensity=0.9))
    assert "150 bpm" in loud.prompt and "intense" in loud.prompt and loud.tempo_requested
    assert loud.guidance_scale > work.guidance_scale and loud.temperature > work.temperature
    for style in ("ambient", "dramatic", "happy", "sad"):
        assert MUSIC_STYLES[style] in plan_music(MusicRequested("r", "j", "p", style=style)).prompt
    assert len(MUSIC_STYLES) >= 7
