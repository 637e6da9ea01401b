"""From a validated narration or music request to the exact work a renderer does.

Pure: text split into speakable chunks at sentence boundaries (French and English
punctuation, abbreviations, very long sentences cut at clauses then words), the voice
resolved from the catalog, the music prompt and generation settings from style, tempo and
intensity, and a deterministic seed. No numpy, no backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from media_stream.domain.requests import MusicRequested, NarrationRequested
from media_stream.domain.scenes import derived_seed
from media_stream.domain.styles import MUSIC_STYLES
from media_stream.domain.voices import (
    CHUNK_PAUSE_S,
    DEFAULT_WORDS_PER_MINUTE,
    WORDS_PER_MINUTE,
    Voice,
    resolve_voice,
)

DEFAULT_MAX_CHUNK_CHARS = 250
SENTENCE_PAUSE_S = CHUNK_PAUSE_S  # between sentences
PARAGRAPH_PAUSE_S = 0.6  # at a blank line
CLAUSE_PAUSE_S = 0.15  # where a too-long sentence was cut

# Lower-cased tokens (with their final period) after which a period does not end a sentence.
ABBREVIATIONS = frozenset(
    """
    m. mm. mme. mmes. mlle. mlles. dr. drs. pr. me. mgr. st. ste. cf. ex. env. av. apr. j.-c.
    p. pp. vol. chap. fig. no. n°. tél. vs. mr. mrs. ms. prof. sr. jr. e.g. i.e. approx.
    jan. feb. fév. mar. apr. avr. aug. sept. oct. nov. dec. déc. u.s. u.k. a.m. p.m.
    """.split()
)
_CLOSERS = "»”\"’')]"
_OPENERS = "«“\"‘'(["
# A candidate end: terminal punctuation (French puts a space before ? ! and »), closers, space.
_END = re.compile(r"(\.{3}|…|[.!?])(?:[\s\u00a0\u202f]*[" + re.escape(_CLOSERS) + r"])*(?=\s|$)")
_CLAUSE = re.compile(r"[;:,—–](?:[\s\u00a0\u202f]*[" + re.escape(_CLOSERS) + r"])*\s")


@dataclass(frozen=True)
class TextChunk:
    """One piece of text synthesized in one call, and the pause that follows it."""

    text: str
    pause_after_s: float


def _ends_sentence(text: str, match: re.Match) -> bool:
    """Whether the punctuation at ``match`` ends a sentence (abbreviations, initials, and a
    lower-case continuation such as French « Quoi ? dit-il » do not)."""
    rest = text[match.end():].lstrip()
    if rest and rest[0].islower():
        return False
    if match.group(1) == ".":
        word = text[: match.start() + 1].split()[-1].lstrip(_OPENERS).lower()
        if word in ABBREVIATIONS:
            return False
        if len(word) == 2 and word[0].isalpha():  # an initial: "J. K. Rowling"
            return False
    return True


def split_sentences(text: str) -> list[TextChunk]:
    """Sentences in order; the last one's pause is 0, a paragraph break's is longer."""
    chunks: list[TextChunk] = []
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    for p_index, paragraph in enumerate(paragraphs):
        flat = re.sub(r"\s+", " ", paragraph).strip()
        start = 0
        for match in _END.finditer(flat):
            if _ends_sentence(flat, match):
                sentence = flat[start: match.end()].strip()
                if sentence:
                    chunks.append(TextChunk(sentence, SENTENCE_PAUSE_S))
                start = match.end()
        tail = flat[start:].strip()
        if tail:
            chunks.append(TextChunk(tail, SENTENCE_PAUSE_S))
        if chunks and p_index < len(paragraphs) - 1:
            chunks[-1] = TextChunk(chunks[-1].text, PARAGRAPH_PAUSE_S)
    if chunks:
        chunks[-1] = TextChunk(chunks[-1].text, 0.0)
    return chunks


def _cut_long(sentence: TextChunk, max_chars: int) -> list[TextChunk]:
    """A sentence longer than ``max_chars`` cut at the last clause mark that fits, else at the
    last space, else hard; each piece at most ``max_chars``."""
    pieces: list[TextChunk] = []
    rest = sentence.text
    while len(rest) > max_chars:
        window = rest[: max_chars + 1]
        cut = max((m.end() for m in _CLAUSE.finditer(window) if m.end() <= max_chars + 1), default=0)
        if cut < max_chars // 4:
            space = window.rfind(" ")
            cut = space + 1 if space > 0 else max_chars
        pieces.append(TextChunk(rest[:cut].strip(), CLAUSE_PAUSE_S))
        rest = rest[cut:].strip()
    if rest:
        pieces.append(TextChunk(rest, sentence.pause_after_s))
    return pieces


def chunk_text(text: str, max_chars: int = DEFAULT_MAX_CHUNK_CHARS) -> tuple[TextChunk, ...]:
    """Speakable chunks: one per sentence, long sentences cut so that none exceeds ``max_chars``."""
    if max_chars < 20:
        raise ValueError("max_chars must be at least 20")
    out: list[TextChunk] = []
    for sentence in split_sentences(text):
        out.extend(_cut_long(sentence, max_chars) if len(sentence.text) > max_chars else [sentence])
    return tuple(out)


def _words(text: str) -> int:
    return sum(1 for w in text.split() if any(c.isalnum() for c in w))


def estimated_duration_s(text: str, speed: float = 1.0, language: str = "fr", max_chunk_chars: int = DEFAULT_MAX_CHUNK_CHARS) -> float:
    """Seconds of narration at narration pace for ``language`` ("fr", "fr-FR", "en-US"...),
    with the pauses between chunks; known when the request arrives (the original API's
    ``estimatedDuration``)."""
    wpm = WORDS_PER_MINUTE.get(language.split("-")[0].lower(), DEFAULT_WORDS_PER_MINUTE)
    speech = _words(text) / wpm * 60.0
    pauses = sum(c.pause_after_s for c in chunk_text(text, max_chunk_chars)) if text.strip() else 0.0
    return round((speech + pauses) / speed, 2)


def estimate_narration(request: NarrationRequested) -> float:
    """The estimate for a request (its voice's language and speed)."""
    return estimated_duration_s(request.text, request.speed, resolve_voice(request.voice).language)


@dataclass(frozen=True)
class NarrationWork:
    """One narration to synthesize: everything a SpeechRenderer needs, nothing about Kafka.

    ``reference_audio``: bytes of a reference clip (WAV/MP3/...) already read from our
    storage by the runtime, for backends that clone a voice (XTTS-v2); None otherwise.
    """

    request_id: str
    job_id: str
    project_id: str
    render_version: int
    voice: Voice
    chunks: tuple[TextChunk, ...]
    speed: float = 1.0
    pitch: float = 1.0
    emotion: str | None = None
    estimated_duration_s: float = 0.0
    reference_audio: bytes | None = field(default=None, repr=False)
    reference_key: str | None = None  # where reference_audio comes from; the runtime reads it

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.chunks)

    @property
    def batch_key(self) -> tuple:
        """Works with equal keys may share one synthesize() call (same voice and prosody)."""
        return (self.voice.voice_id, self.speed, self.pitch, self.emotion, self.reference_audio is not None or self.reference_key is not None)


def plan_narration(request: NarrationRequested, max_chunk_chars: int = DEFAULT_MAX_CHUNK_CHARS) -> NarrationWork:
    voice = resolve_voice(request.voice)
    return NarrationWork(
        request_id=request.request_id,
        job_id=request.job_id,
        project_id=request.project_id,
        render_version=request.render_version,
        voice=voice,
        chunks=chunk_text(request.text, max_chunk_chars),
        speed=request.speed,
        pitch=request.pitch,
        emotion=request.emotion.strip().lower() if request.emotion and request.emotion.strip() else None,
        estimated_duration_s=estimated_duration_s(request.text, request.speed, voice.language, max_chunk_chars),
        reference_key=request.reference_audio,
    )


# Tempo (bpm) a style plays at when the request names none.
MUSIC_DEFAULT_TEMPO: dict[str, int] = {
    "ambient": 70, "dramatic": 90, "happy": 120, "sad": 66, "adventure": 112,
    "mysterious": 80, "lullaby": 64, "playful": 128, "suspense": 96,
}


def _intensity_words(intensity: float) -> str:
    if intensity < 0.25:
        return "very soft, sparse, gentle dynamics"
    if intensity < 0.5:
        return "soft, relaxed"
    if intensity < 0.75:
        return "steady, full arrangement"
    return "intense, powerful, energetic, loud"


@dataclass(frozen=True)
class MusicWork:
    """One piece of music to compose. ``prompt`` is the text a generative model conditions on;
    ``guidance_scale`` and ``temperature`` its sampling settings (a mapping from intensity,
    not a measured one)."""

    request_id: str
    job_id: str
    project_id: str
    render_version: int
    style: str
    prompt: str
    duration_s: float
    tempo_bpm: int
    tempo_requested: bool
    intensity: float
    seed: int
    guidance_scale: float = 3.0
    temperature: float = 1.0


def music_prompt(style: str, tempo_bpm: int, intensity: float) -> str:
    return f"{MUSIC_STYLES[style]}, {tempo_bpm} bpm, {_intensity_words(intensity)}"


def plan_music(request: MusicRequested, seed: int | None = None) -> MusicWork:
    """The work for a request; the seed is the given one (or a ``seed`` field, should the
    request gain one), else derived from the ids so a retry renders the same music."""
    seed = seed if seed is not None else getattr(request, "seed", None)
    if seed is None:
        seed = derived_seed(request.project_id, request.request_id)
    tempo = request.tempo if request.tempo is not None else MUSIC_DEFAULT_TEMPO.get(request.style, 100)
    return MusicWork(
        request_id=request.request_id,
        job_id=request.job_id,
        project_id=request.project_id,
        render_version=request.render_version,
        style=request.style,
        prompt=music_prompt(request.style, tempo, request.intensity),
        duration_s=float(request.duration_seconds),
        tempo_bpm=int(tempo),
        tempo_requested=request.tempo is not None,
        intensity=float(request.intensity),
        seed=int(seed),
        guidance_scale=round(2.5 + 1.5 * request.intensity, 3),
        temperature=round(0.85 + 0.3 * request.intensity, 3),
    )
