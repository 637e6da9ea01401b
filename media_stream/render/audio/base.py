"""The narrow audio renderer interfaces: one Protocol for speech, one for music.

Renderers return raw mono float32 samples in [-1, 1] at their own sample rate;
``render/audio/encoding.py`` normalises loudness, limits peaks and encodes (WAV, MP3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from media_stream.domain.audio_work import MusicWork, NarrationWork


@dataclass(frozen=True)
class RenderedAudio:
    """Mono float32 samples (or already-encoded bytes plus their format) and what made them.

    ``not_applied`` names the request parameters this backend could not honour, e.g.
    ``("emotion",)`` for a model without emotion control; the runtime publishes it in
    ``AudioReady.notApplied``. ``notes`` says, per parameter, why it was not applied (the
    model that spoke instead of the voice) or how it was approximated (pitch by a phase vocoder);
    published as ``AudioReady.parameterNotes``.
    """

    sample_rate: int
    duration_s: float
    model: str  # backend and model id, e.g. "espeak-ng:fr+f3", "coqui:tts_models/fr/css10/vits"
    render_ms: int
    samples: np.ndarray | None = field(default=None, repr=False)  # float32 mono, [-1, 1]
    data: bytes | None = field(default=None, repr=False)  # encoded bytes, when not samples
    format: str | None = None  # format of ``data``
    not_applied: tuple[str, ...] = ()
    seed: int | None = None
    notes: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class SpeechRenderer(Protocol):
    """A narration backend: loads once, stays warm, synthesizes batches of narration work."""

    name: str
    max_batch_size: int

    def load(self) -> None:
        """Load the model (or the library); raise ConfigurationError naming what is missing."""

    def synthesize(self, batch: Sequence[NarrationWork]) -> list[RenderedAudio]:
        """One RenderedAudio per work item, in order: every chunk spoken and joined with pauses."""
        ...


@runtime_checkable
class MusicRenderer(Protocol):
    """A music backend: loads once, composes one piece at a time."""

    name: str

    def load(self) -> None:
        """Load the model (or nothing)."""

    def compose(self, work: MusicWork) -> RenderedAudio:
        """``work.duration_s`` seconds of music (exactly, to the sample)."""
        ...
