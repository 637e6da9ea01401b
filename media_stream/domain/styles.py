"""The style catalog: each named style shapes the prompt and the negative prompt.

Image styles are data (``image_styles.yaml`` beside this module), loaded and checked once at
import; music styles and voices are below.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Literal

import yaml

from media_stream.domain.errors import ValidationError
from media_stream.domain.voices import VOICE_CATALOG

BASE_NEGATIVE = "blurry, low quality, deformed, watermark, text"
STYLE_CATEGORIES = ("cartoon", "realistic", "artistic")
PROMPT_PLACEHOLDER = "{prompt}"


@dataclass(frozen=True)
class StyleLora:
    """A LoRA a style applies on top of the base model (a hub id or a local folder)."""

    model: str
    weight_name: str | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class ImageStyle:
    name: str
    label: str
    description: str
    category: Literal["cartoon", "realistic", "artistic"]
    is_premium: bool
    prompt_template: str
    negative_prompt: str
    default_steps: int = 30
    default_guidance: float = 7.5
    lora: StyleLora | None = None

    def apply(self, prompt: str) -> str:
        """The prompt as rendered in this style."""
        return self.prompt_template.replace(PROMPT_PLACEHOLDER, prompt)

    @property
    def prompt_suffix(self) -> str:
        """What the template adds to the prompt (for listings)."""
        return self.prompt_template.replace(PROMPT_PLACEHOLDER, "").strip(" ,")


def _load_image_styles() -> dict[str, ImageStyle]:
    text = resources.files("media_stream.domain").joinpath("image_styles.yaml").read_text(encoding="utf-8")
    styles: dict[str, ImageStyle] = {}
    for entry in yaml.safe_load(text)["styles"]:
        lora = entry.pop("lora", None)
        style = ImageStyle(**entry, lora=StyleLora(**lora) if lora else None)
        if style.category not in STYLE_CATEGORIES:
            raise ValueError(f"image_styles.yaml: {style.name}: category {style.category!r} not in {STYLE_CATEGORIES}")
        if PROMPT_PLACEHOLDER not in style.prompt_template:
            raise ValueError(f"image_styles.yaml: {style.name}: prompt_template lacks {PROMPT_PLACEHOLDER}")
        if style.name in styles:
            raise ValueError(f"image_styles.yaml: {style.name} appears twice")
        styles[style.name] = style
    return styles


IMAGE_STYLES: dict[str, ImageStyle] = _load_image_styles()


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
    "playful": "playful pizzicato strings, light percussion, whimsical",
    "suspense": "suspenseful music, pulsing low synth, ticking percussion",
}

# Public voice ids; the full catalog (backend voices) is media_stream/domain/voices.py.
VOICES: dict[str, dict[str, str]] = {
    v.voice_id: {"language": v.language, "gender": v.gender} for v in VOICE_CATALOG.values()
}


def check_known(field: str, value: str, known: dict) -> str:
    if value not in known:
        raise ValidationError(field, f"unknown value {value!r}", ", ".join(sorted(known)))
    return value
