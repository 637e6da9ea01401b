"""The style catalog: each named style adds to the prompt and the negative prompt."""

from __future__ import annotations

from dataclasses import dataclass

from media_stream.domain.errors import ValidationError

BASE_NEGATIVE = "blurry, low quality, deformed, watermark, text"


@dataclass(frozen=True)
class ImageStyle:
    name: str
    description: str
    prompt_suffix: str
    negative_prompt: str


IMAGE_STYLES: dict[str, ImageStyle] = {
    s.name: s
    for s in (
        ImageStyle("default", "Clean children's book illustration", "storybook illustration, soft light", BASE_NEGATIVE),
        ImageStyle("watercolor", "Soft watercolor painting", "watercolor painting, paper texture, gentle washes", BASE_NEGATIVE + ", photo, 3d render"),
        ImageStyle("comic", "Inked comic panel", "comic book panel, bold ink lines, flat colors", BASE_NEGATIVE + ", photo"),
        ImageStyle("anime", "Anime key visual", "anime style, cel shading, vibrant", BASE_NEGATIVE + ", photo, realistic"),
        ImageStyle("photographic", "Cinematic photograph", "cinematic photo, 35mm, natural light", BASE_NEGATIVE + ", drawing, cartoon"),
        ImageStyle("pencil", "Pencil sketch", "graphite pencil sketch, cross-hatching", BASE_NEGATIVE + ", color"),
        ImageStyle("pixel-art", "Pixel art", "pixel art, 16-bit, limited palette", BASE_NEGATIVE + ", smooth, photo"),
    )
}


def image_style(name: str, field: str = "style") -> ImageStyle:
    try:
        return IMAGE_STYLES[name]
    except KeyError:
        raise ValidationError(field, f"unknown style {name!r}", ", ".join(sorted(IMAGE_STYLES))) from None


MUSIC_STYLES: dict[str, str] = {
    "ambient": "calm ambient music, soft pads, peaceful",
    "dramatic": "epic orchestral music, dramatic tension",
    "happy": "upbeat happy music, cheerful melody",
    "sad": "melancholic piano, emotional strings",
    "adventure": "adventurous orchestral theme, brass and drums",
    "mysterious": "mysterious music, low strings, celesta",
    "lullaby": "gentle lullaby, music box, soft",
}

# Public voice ids; the audio issue maps them to backend voices.
VOICES: dict[str, dict[str, str]] = {
    "fr-FR-Denise": {"language": "fr-FR", "gender": "female"},
    "fr-FR-Henri": {"language": "fr-FR", "gender": "male"},
    "en-US-Jenny": {"language": "en-US", "gender": "female"},
    "en-US-Guy": {"language": "en-US", "gender": "male"},
    "en-GB-Sonia": {"language": "en-GB", "gender": "female"},
}


def check_known(field: str, value: str, known: dict) -> str:
    if value not in known:
        raise ValidationError(field, f"unknown value {value!r}", ", ".join(sorted(known)))
    return value
