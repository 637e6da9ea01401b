"""Style previews: one sample image per style, rendered once per backend and version, kept in storage.

The key is ``style-previews/{backend}/{version}/{style}/1.png`` where ``version`` is a short
digest of what changes the pixels (the caller's backend version, e.g. the model id and render
version, plus the style's template, the sample prompt and the size). A preview already in the
store is never rendered again, by this agent or any other; a new model or template gets new keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from media_stream.domain.ids import storage_key
from media_stream.domain.scenes import SceneWork, derived_seed
from media_stream.domain.styles import IMAGE_STYLES, image_style
from media_stream.render.image.base import ImageRenderer
from media_stream.storage.base import ObjectStore

PREVIEW_PROMPT = "a little fox and a girl in a yellow raincoat walking through a forest at dawn"


@dataclass(frozen=True)
class StylePreview:
    style: str
    key: str
    url: str
    rendered: bool  # False: it was already in the store


class StylePreviews:
    def __init__(
        self,
        renderer: ImageRenderer,
        store: ObjectStore,
        backend_version: str,
        *,
        width: int = 512,
        height: int = 512,
        prompt: str = PREVIEW_PROMPT,
        steps: int | None = None,
    ) -> None:
        self.renderer = renderer
        self.store = store
        self.backend_version = backend_version
        self.width = width
        self.height = height
        self.prompt = prompt
        self.steps = steps  # None: each style's default_steps

    def key(self, style_name: str) -> str:
        style = image_style(style_name)
        identity = "\x1f".join(
            [self.backend_version, style.prompt_template, style.negative_prompt, self.prompt, f"{self.width}x{self.height}", str(self.steps)]
        )
        version = hashlib.sha256(identity.encode()).hexdigest()[:16]
        return storage_key("style-previews", self.renderer.name, version, style_name, 1, "png")

    def preview(self, style_name: str) -> StylePreview:
        key = self.key(style_name)
        if self.store.exists(key):
            return StylePreview(style_name, key, self.store.url(key), rendered=False)
        style = image_style(style_name)
        work = SceneWork(
            scene_id=f"style-preview-{style_name}",
            scene_index=0,
            prompt=style.apply(self.prompt),
            negative_prompt=style.negative_prompt,
            style=style_name,
            width=self.width,
            height=self.height,
            steps=self.steps or style.default_steps,
            guidance=style.default_guidance,
            seed=derived_seed("style-preview", style_name),
        )
        (image,) = self.renderer.render([work])
        stored = self.store.put(
            key, image.data, image.content_type, {"style": style_name, "model": image.model, "seed": str(work.seed)}
        )
        return StylePreview(style_name, key, stored.url, rendered=True)

    def all(self) -> list[StylePreview]:
        return [self.preview(name) for name in IMAGE_STYLES]
