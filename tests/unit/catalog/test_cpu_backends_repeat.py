"""The CPU backends render the same work to the same bytes every time, in one process: what makes
`media-stream rerender` bitwise equal (the broker test checks it end to end)."""

from __future__ import annotations

import dataclasses

from media_stream.config import AudioSettings
from media_stream.domain.audio_work import plan_music, plan_narration
from media_stream.domain.requests import MusicRequested, NarrationRequested, Scene, StoryboardRequested, StyleConfig
from media_stream.domain.scenes import plan_scenes
from media_stream.render.audio.registry import finish_audio, music_renderer, speech_renderer
from media_stream.render.image.preview import PreviewRenderer


def test_espeak_says_the_same_narration_twice_with_the_same_bytes() -> None:
    settings = AudioSettings()
    speech = speech_renderer(settings)
    speech.load()
    text = "Léa ouvre la porte. Le renard la regarde, puis il sourit. " * 3
    work = plan_narration(NarrationRequested("req", "job", "proj", text=text, voice="fr-FR-Denise", speed=1.1), settings.max_chunk_chars)
    other = plan_narration(NarrationRequested("req2", "job2", "proj", text="Something else entirely.", voice="en-GB-Ryan"), settings.max_chunk_chars)
    first = finish_audio(speech.synthesize([work])[0], settings, "narration").data
    speech.synthesize([other])  # whatever was spoken in between
    again = finish_audio(speech.synthesize([work])[0], settings, "narration").data
    assert first == again


def test_procedural_music_twice_is_the_same_file() -> None:
    settings = AudioSettings()
    music = music_renderer(settings)
    music.load()
    work = plan_music(MusicRequested("req", "job", "proj", duration_seconds=2.0, style="ambient", tempo=90, intensity=0.7))
    first = finish_audio(music.compose(work), settings, "music").data
    assert finish_audio(music.compose(work), settings, "music").data == first


def test_preview_pixels_do_not_depend_on_the_scene_position() -> None:
    board = StoryboardRequested("r", "j", "p", scenes=(Scene("s0", "a fox"), Scene("s1", "an owl")), style_config=StyleConfig(width=64, height=64, seed=5))
    work = plan_scenes(board)[1]
    renderer = PreviewRenderer()
    assert renderer.render([work])[0].data == renderer.render([dataclasses.replace(work, scene_index=0)])[0].data
