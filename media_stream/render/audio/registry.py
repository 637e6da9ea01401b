"""Audio backends chosen by configuration, and the one function that turns rendered samples
into stored bytes. torch, TTS and transformers are imported only inside ``coqui.py`` and
``musicgen.py``, and only when those backends are configured."""

from __future__ import annotations

from dataclasses import dataclass, field

from media_stream.config import AudioSettings
from media_stream.domain.errors import ConfigurationError
from media_stream.render.audio.base import MusicRenderer, RenderedAudio, SpeechRenderer


def speech_renderer(settings: AudioSettings) -> SpeechRenderer:
    if settings.speech_backend == "espeak":
        from media_stream.render.audio.espeak import EspeakRenderer

        return EspeakRenderer(max_batch_size=settings.max_batch_size)
    if settings.speech_backend == "coqui":
        try:
            from media_stream.render.audio.coqui import CoquiRenderer  # imports torch lazily at load()
        except ImportError as exc:
            raise ConfigurationError(f"speech backend 'coqui' needs the audio-models extra (uv sync --extra audio-models): {exc}") from exc
        return CoquiRenderer(settings)
    raise ConfigurationError(f"unknown speech backend {settings.speech_backend!r} (allowed: espeak, coqui)")


def music_renderer(settings: AudioSettings) -> MusicRenderer:
    if settings.music_backend == "procedural":
        from media_stream.render.audio.procedural_music import ProceduralMusicRenderer

        return ProceduralMusicRenderer()
    if settings.music_backend == "musicgen":
        from media_stream.render.audio.musicgen import MusicgenRenderer  # imports torch lazily at load()

        return MusicgenRenderer(settings)
    raise ConfigurationError(f"unknown music backend {settings.music_backend!r} (allowed: procedural, musicgen)")


@dataclass(frozen=True)
class EncodedAudio:
    """What the runtime stores and publishes (``AudioReady``)."""

    data: bytes
    format: str  # file extension and AudioReady.format: wav, mp3, flac, ogg
    content_type: str
    sample_rate: int
    duration_s: float
    loudness_lufs: float
    true_peak_dbtp: float
    model: str
    not_applied: tuple[str, ...]
    notes: dict[str, str] = field(default_factory=dict)


def finish_audio(rendered: RenderedAudio, settings: AudioSettings, kind: str) -> EncodedAudio:
    """Loudness-normalise (narration or music target), limit, and encode ``rendered`` in the
    configured format. ``kind``: "narration" or "music"."""
    from media_stream.render.audio.encoding import content_type, decode, encode, normalise_loudness

    if rendered.samples is None:  # already encoded by its backend: pass through
        assert rendered.data is not None and rendered.format is not None
        decoded = decode(rendered.data)
        return EncodedAudio(rendered.data, rendered.format, content_type(rendered.format), decoded.sample_rate,
                            round(decoded.duration_s, 3), float("nan"), float("nan"), rendered.model, rendered.not_applied, dict(rendered.notes))
    target = settings.narration_lufs if kind == "narration" else settings.music_lufs
    normalised = normalise_loudness(rendered.samples, rendered.sample_rate, target, settings.true_peak_dbtp)
    fmt = settings.output_format
    data = encode(normalised.samples, rendered.sample_rate, fmt)
    return EncodedAudio(
        data=data, format=fmt, content_type=content_type(fmt), sample_rate=rendered.sample_rate,
        duration_s=round(normalised.samples.size / rendered.sample_rate, 3),
        loudness_lufs=round(normalised.loudness_lufs, 2), true_peak_dbtp=round(normalised.true_peak_dbtp, 2),
        model=rendered.model, not_applied=rendered.not_applied, notes=dict(rendered.notes),
    )
