"""What a request may name: ``styles`` (the image styles, ``--previews`` renders each once) and
``voices`` (the narration voices and what each backend speaks them with)."""

from __future__ import annotations

import json

import typer
from rich.table import Column, Table

from media_stream.config import get_settings
from media_stream.terminal import console


def styles(
    previews: bool = typer.Option(False, "--previews", help="Render each style's preview with the configured backend (once per backend version; cached in storage) and print where it is."),
) -> None:
    """The image styles a request may name."""
    from media_stream.domain.styles import IMAGE_STYLES

    if previews:
        _style_previews()
        return

    table = Table("category", "premium", "steps / cfg", "prompt template", "negative prompt", "LoRA")
    table.columns.insert(0, Column("label", no_wrap=True))
    table.columns.insert(0, Column("style", no_wrap=True))
    for style in IMAGE_STYLES.values():
        table.add_row(
            style.name, style.label, style.category, "yes" if style.is_premium else "no",
            f"{style.default_steps} / {style.default_guidance:g}", style.prompt_template, style.negative_prompt,
            style.lora.model if style.lora else "-",
        )
    console.print(table)


def _style_previews() -> None:
    from media_stream import __version__
    from media_stream.domain.styles import IMAGE_STYLES
    from media_stream.render.image.registry import image_renderer
    from media_stream.render.image.style_previews import StylePreviews
    from media_stream.storage.factory import object_store

    settings = get_settings()
    renderer = image_renderer(settings.worker)
    renderer.load()
    cache = StylePreviews(renderer, object_store(settings.storage), f"{renderer.name}-{__version__}")
    for name in IMAGE_STYLES:
        shown = cache.preview(name)
        console.print(f"{name:14} {'rendered' if shown.rendered else 'cached  '}  {shown.url}")


def voices(as_json: bool = typer.Option(False, "--json", help="JSON (as GET /api/v1/audio/voices answers) instead of a table.")) -> None:
    """The narration voices a request may name, what each backend speaks them with, and whether
    each is distinct there ("= X": sounds like voice X; its outcome then lists voice in notApplied)."""
    from media_stream.domain.voices import VOICE_CATALOG, catalog_listing, catalog_renditions

    if as_json:
        print(json.dumps(catalog_listing(), indent=2))
        return
    shown = catalog_renditions()
    table = Table("voice", "language", "gender", "espeak voice (wpm)", "espeak distinct", "coqui model [speaker]", "coqui distinct")
    for v in VOICE_CATALOG.values():
        espeak, coqui = shown["espeak"][v.voice_id], shown["coqui"][v.voice_id]
        table.add_row(
            v.voice_id, v.language, v.gender, f"{v.espeak_voice} ({v.espeak_rate})",
            "yes" if espeak.distinct else f"= {espeak.same_as}", coqui.spoken_by, "yes" if coqui.distinct else f"= {coqui.same_as}",
        )
    console.print(table)
