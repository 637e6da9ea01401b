"""The voice catalog: public voice ids and what each backend speaks them with.

A request names a public id (``fr-FR-Denise``); the catalog says its language and gender and
how each backend renders it: the eSpeak NG voice (``language+variant``) and its rate at
narration pace, and the Coqui model (and speaker, for multi-speaker models). Pure data: no
backend is imported here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from media_stream.domain.errors import ValidationError


@dataclass(frozen=True)
class Voice:
    voice_id: str
    language: str  # BCP 47, e.g. "fr-FR"
    gender: str  # "female" | "male"
    label: str
    espeak_voice: str  # eSpeak NG voice name, "+variant" picks the timbre (f* female, m* male)
    # eSpeak NG words per minute at speed 1.0: calibrated so eSpeak's output matches
    # estimated_duration_s (its own default, 175, is faster than narration pace).
    espeak_rate: int
    coqui_model: str  # Coqui model name (TTS cache) for this voice's language
    coqui_speaker: str | None = None  # speaker of a multi-speaker model; None: single speaker
    coqui_language: str | None = None  # language id for multilingual models (XTTS)

    @property
    def language_code(self) -> str:
        """The two-letter language: "fr", "en"."""
        return self.language.split("-")[0].lower()


# Coqui's multilingual XTTS v2: its shipped studio speakers (speakers_xtts.pth) give the voices a
# single-speaker VITS cannot (a male French narrator); a catalog name, resolved like any other.
XTTS_V2 = "tts_models/multilingual/multi-dataset/xtts_v2"

VOICE_CATALOG: dict[str, Voice] = {
    v.voice_id: v
    for v in (
        Voice("fr-FR-Denise", "fr-FR", "female", "Denise (French, female)", "fr+f3", 118, "tts_models/fr/css10/vits", None, "fr"),
        Voice("fr-FR-Henri", "fr-FR", "male", "Henri (French, male)", "fr+m3", 116, XTTS_V2, "Damien Black", "fr"),
        Voice("fr-FR-Eloise", "fr-FR", "female", "Eloise (French, young female)", "fr+f4", 122, XTTS_V2, "Ana Florence", "fr"),
        Voice("fr-BE-Charline", "fr-BE", "female", "Charline (Belgian French, female)", "fr-be+f2", 122, XTTS_V2, "Henriette Usha", "fr"),
        Voice("en-US-Jenny", "en-US", "female", "Jenny (US English, female)", "en-us+f2", 122, "tts_models/en/vctk/vits", "p225", "en"),
        Voice("en-US-Guy", "en-US", "male", "Guy (US English, male)", "en-us+m3", 115, "tts_models/en/vctk/vits", "p226", "en"),
        Voice("en-GB-Sonia", "en-GB", "female", "Sonia (British English, female)", "en+f3", 116, "tts_models/en/vctk/vits", "p228", "en"),
        Voice("en-GB-Ryan", "en-GB", "male", "Ryan (British English, male)", "en+m1", 116, "tts_models/en/vctk/vits", "p232", "en"),
        Voice("de-DE-Katja", "de-DE", "female", "Katja (German, female)", "de+f2", 127, XTTS_V2, "Gitta Nikolina", "de"),
        Voice("de-DE-Conrad", "de-DE", "male", "Conrad (German, male)", "de+m3", 119, "tts_models/de/thorsten/vits", None, "de"),
        Voice("es-ES-Elvira", "es-ES", "female", "Elvira (Spanish, female)", "es+f3", 132, "tts_models/es/css10/vits", None, "es"),
        Voice("es-ES-Alvaro", "es-ES", "male", "Alvaro (Spanish, male)", "es+m3", 127, XTTS_V2, "Gilberto Mathias", "es"),
    )
}

# Narration pace used for the estimate a client gets at request time (words per minute at
# speed 1.0). Counted on whitespace-separated words, so French elisions ("l'histoire") count once.
WORDS_PER_MINUTE: dict[str, float] = {"fr": 160.0, "en": 150.0, "de": 130.0, "es": 165.0}
DEFAULT_WORDS_PER_MINUTE = 150.0
# Pause inserted between synthesized chunks (see render/audio_join.py); part of the estimate.
CHUNK_PAUSE_S = 0.3

EMOTIONS = ("neutral", "happy", "sad", "excited", "calm", "angry", "fearful", "tender")


@dataclass(frozen=True)
class VoiceRendition:
    """How one backend speaks one catalog voice: ``spoken_by`` names the model/speaker (or the
    eSpeak voice); ``same_as`` is the catalog voice that already owns that rendition, so this
    one would sound the same (None: the voice is distinct)."""

    backend: str
    voice_id: str
    spoken_by: str
    same_as: str | None = None

    @property
    def distinct(self) -> bool:
        return self.same_as is None


def renditions(backend: str, spoken_by: Callable[[Voice], str]) -> dict[str, VoiceRendition]:
    """Every catalog voice as ``backend`` speaks it; the first voice (catalog order) with a
    given rendition owns it, later ones are ``same_as`` that owner."""
    owners: dict[str, str] = {}
    out: dict[str, VoiceRendition] = {}
    for voice in VOICE_CATALOG.values():
        key = spoken_by(voice)
        owner = owners.setdefault(key, voice.voice_id)
        out[voice.voice_id] = VoiceRendition(backend, voice.voice_id, key, None if owner == voice.voice_id else owner)
    return out


def coqui_spoken_by(model: str, speaker: str | None) -> str:
    return f"{model} [{speaker}]" if speaker else model


def catalog_renditions() -> dict[str, dict[str, VoiceRendition]]:
    """Per backend, per voice: what the catalog says speaks it, with every catalog model
    installed (a Coqui agent lacking one reports ``voice`` in the outcome's notApplied)."""
    return {
        "espeak": renditions("espeak", lambda v: v.espeak_voice),
        "coqui": renditions("coqui", lambda v: coqui_spoken_by(v.coqui_model, v.coqui_speaker)),
    }


def catalog_listing() -> list[dict]:
    """The catalog as ``GET /api/v1/audio/voices`` and ``media-stream voices --json`` show it."""
    shown = catalog_renditions()
    return [
        {
            "voiceId": v.voice_id, "language": v.language, "gender": v.gender, "label": v.label,
            "backends": [
                {"backend": b, "spokenBy": r.spoken_by, "distinct": r.distinct, "sameAs": r.same_as}
                for b, r in ((b, per_voice[v.voice_id]) for b, per_voice in shown.items())
            ],
        }
        for v in VOICE_CATALOG.values()
    ]


def resolve_voice(voice_id: str, field: str = "voice") -> Voice:
    """The catalog entry, or a ValidationError that lists the valid voice ids."""
    try:
        return VOICE_CATALOG[voice_id]
    except KeyError:
        raise ValidationError(field, f"unknown voice {voice_id!r}", ", ".join(sorted(VOICE_CATALOG))) from None
