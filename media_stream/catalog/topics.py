"""The catalog's topics by role (topics.yaml), or overridden per role (tests, the SDK's ``topics``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from media_stream.config import Settings
from media_stream.topics.spec import load_topics

ROLES = ("image_ready", "audio_ready", "assets", "asset_ratings", "assets_dlq")


@dataclass(frozen=True)
class CatalogTopics:
    image_ready: str
    audio_ready: str
    assets: str
    asset_ratings: str
    assets_dlq: str  # the outcomes the processor could not fold, as DeadLetters

    @classmethod
    def resolve(cls, settings: Settings, overrides: Mapping[str, str] | None = None) -> CatalogTopics:
        overrides = dict(overrides or {})
        missing = [r for r in ROLES if not overrides.get(r)]
        declared = load_topics(settings.topics_file) if missing else None
        return cls(**{r: overrides.get(r) or declared.name(r) for r in ROLES})  # type: ignore[union-attr]

    @property
    def outcomes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.image_ready, self.audio_ready)))
