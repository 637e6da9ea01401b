"""Character consistency: each project's characters get one reference image, fixed on first sight.

On a character's first appearance in a project, ``CharacterReferences.ensure`` either takes the
request's ``referenceImage`` (a key in our own storage) or renders a seeded portrait from the
character's name and description, stores it at the deterministic key
``characters/{projectId}/{characterId}/reference/1.png`` and records a ``CharacterIdentity`` in
the registry. Every later scene and request of the project reuses that image, including after
an agent restart: the registry (a compacted changelog in production) and the store outlive the
process, and a portrait already stored at its key is reused rather than rendered again.

Call it on the render thread (it may render), before rendering a request's scenes:

    refs = character_refs.ensure(request.project_id, all_characters, style, request.consistency_mode)
    works = attach_references(plan_scenes(request), refs)

A scene with several characters carries one reference per character; the SDXL renderer gives
each its own IP-Adapter image, masked to the character's region (see ``render/image/sdxl.py``).

What conditions a scene is the reference *cropped to the character* (``crop_to_subject``: the
portrait's plain background cut away) and, for a rendered portrait, *in the request's style*:
the first portrait is rendered in the style of the request that first shows the character and
also stored as that style's reference; a request in another style renders, once, the same
portrait (same seed and description) in its style, conditioned on the first one through the
IP-Adapter so that the character stays itself, and stores it at
``characters/{projectId}/{characterId}/reference-{style}/1.png``. A provided ``referenceImage``
is the user's choice of look: it is only cropped, never restyled.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from typing import Iterable, Sequence

from media_stream.domain.errors import PermanentError
from media_stream.domain.ids import storage_key
from media_stream.domain.requests import Character
from media_stream.domain.scenes import CharacterReference, SceneWork, derived_seed
from media_stream.domain.styles import image_style
from media_stream.render.image.base import ImageRenderer
from media_stream.render.image.character_regions import crop_to_subject
from media_stream.state.characters import CharacterIdentity, CharacterRegistry
from media_stream.storage.base import ObjectStore
from media_stream.storage.inputs import InputReader

log = logging.getLogger(__name__)

PORTRAIT_PROMPT = (
    "character reference portrait of {name}, {description}, full body, centered, facing the viewer, "
    "plain light background"
)
REFERENCE_VERSION = 1


def reference_key(project_id: str, character_id: str) -> str:
    return storage_key("characters", project_id, character_id, "reference", REFERENCE_VERSION, "png")


def styled_reference_key(project_id: str, character_id: str, style: str) -> str:
    return storage_key("characters", project_id, character_id, f"reference-{style}", REFERENCE_VERSION, "png")


class CharacterReferences:
    def __init__(
        self,
        registry: CharacterRegistry,
        store: ObjectStore,
        renderer: ImageRenderer,
        *,
        portrait_width: int = 1024,
        portrait_height: int = 1024,
        portrait_steps: int | None = None,
        portrait_guidance: float | None = None,
        reference_scale: float = 0.6,
        cache_size: int = 64,
        restyle: bool = True,
    ) -> None:
        self.registry = registry
        self.store = store
        self.renderer = renderer
        self.portrait_size = (portrait_width, portrait_height)
        self.portrait_steps = portrait_steps
        self.portrait_guidance = portrait_guidance
        self.reference_scale = reference_scale
        self.restyle = restyle
        self.portraits_rendered = 0
        self.inputs = InputReader(store)
        self._images: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size

    def ensure(
        self, project_id: str, characters: Iterable[Character], style: str, consistency_mode: bool
    ) -> tuple[CharacterReference, ...]:
        """One reference per distinct character (first-seen order); () when consistency is off."""
        if not consistency_mode:
            return ()
        references: list[CharacterReference] = []
        seen: set[str] = set()
        for character in characters:
            if character.character_id in seen:
                continue
            seen.add(character.character_id)
            identity = self.identity(project_id, character, style)
            references.append(
                CharacterReference(
                    character_id=character.character_id,
                    image=self._cropped(self._styled_key(identity, character, style)),
                    seed=identity.seed,
                    scale=self.reference_scale,
                )
            )
        return tuple(references)

    def _styled_key(self, identity: CharacterIdentity, character: Character, style: str) -> str:
        """The key of the identity's reference in ``style``, rendering it once if it is missing."""
        if identity.source != "rendered" or not self.restyle:
            return identity.reference_key
        key = styled_reference_key(identity.project_id, identity.character_id, style)
        if not self.store.exists(key):
            base = CharacterReference(identity.character_id, self._cropped(identity.reference_key), identity.seed, self.reference_scale)
            self._render_portrait(identity.project_id, character, style, identity.seed, key, conditioned_on=base)
        return key

    def identity(self, project_id: str, character: Character, style: str) -> CharacterIdentity:
        """The registered identity, or a new one (rendering and storing its portrait if needed)."""
        existing = self.registry.get(project_id, character.character_id)
        if existing is not None:
            return existing
        seed = derived_seed(project_id, character.character_id, "reference")
        if character.reference_image is not None:
            if not self.store.exists(character.reference_image):
                raise PermanentError(
                    f"referenceImage {character.reference_image!r} of character {character.character_id!r} is not in storage"
                )
            key, source = character.reference_image, "provided"
        else:
            key, source = reference_key(project_id, character.character_id), "rendered"
            if not self.store.exists(key):  # stored before a crash, not yet registered: reuse it
                self._render_portrait(project_id, character, style, seed, key)
                if self.restyle:  # the first portrait is also this style's reference
                    self._put(styled_reference_key(project_id, character.character_id, style), self._image(key), project_id, character, seed, "")
        identity = CharacterIdentity(
            project_id=project_id,
            character_id=character.character_id,
            name=character.name,
            description=character.description,
            seed=seed,
            reference_key=key,
            source=source,
        )
        self.registry.put(identity)
        log.info("character %s/%s fixed: %s reference %s", project_id, character.character_id, source, key)
        return identity

    def _render_portrait(
        self, project_id: str, character: Character, style_name: str, seed: int, key: str,
        conditioned_on: CharacterReference | None = None,
    ) -> None:  # fmt: skip
        style = image_style(style_name)
        description = character.description or "a storybook character"
        width, height = self.portrait_size
        suffix = f"-{style_name}" if conditioned_on is not None else ""
        work = SceneWork(
            scene_id=f"reference-{character.character_id}{suffix}",
            scene_index=0,
            prompt=style.apply(PORTRAIT_PROMPT.format(name=character.name, description=description)),
            negative_prompt=style.negative_prompt + ", several people, crowd, cropped",
            style=style_name,
            width=width,
            height=height,
            steps=self.portrait_steps or style.default_steps,
            guidance=self.portrait_guidance if self.portrait_guidance is not None else style.default_guidance,
            seed=seed,
            references=(conditioned_on,) if conditioned_on is not None else (),
        )
        (image,) = self.renderer.render([work])
        self._put(key, image.data, project_id, character, seed, image.model)
        self.portraits_rendered += 1

    def _put(self, key: str, data: bytes, project_id: str, character: Character, seed: int, model: str) -> None:
        metadata = {"projectId": project_id, "characterId": character.character_id, "seed": str(seed), "model": model}
        self.store.put(key, data, "image/png", {k: v for k, v in metadata.items() if v})
        self._remember(key, data)

    def _cropped(self, key: str) -> bytes:
        """The reference at ``key`` cropped to its subject (cached like the stored bytes)."""
        cropped_key = f"{key}#cropped"
        data = self._images.get(cropped_key)
        if data is None:
            data = crop_to_subject(self._image(key))
            self._remember(cropped_key, data)
        return data

    def _image(self, key: str) -> bytes:
        data = self._images.get(key)
        if data is None:
            data = self.inputs.read_image_bytes("referenceImage", key)  # byte and pixel caps
            self._remember(key, data)
        else:
            self._images.move_to_end(key)
        return data

    def _remember(self, key: str, data: bytes) -> None:
        self._images[key] = data
        while len(self._images) > self._cache_size:
            self._images.popitem(last=False)


def attach_references(works: Sequence[SceneWork], references: Sequence[CharacterReference]) -> list[SceneWork]:
    """Each scene gets the references of the characters it shows, in the scene's order."""
    by_id = {r.character_id: r for r in references}
    attached = []
    for work in works:
        ids = dict.fromkeys(c.character_id for c in work.characters if c.character_id in by_id)
        refs = tuple(by_id[i] for i in ids)
        attached.append(dataclasses.replace(work, references=refs) if refs else work)
    return attached
