"""The catalog's topics by role (topics.yaml), or overridden per role (tests, the SDK's ``topics``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from media_stream.config import Settings
from media_stream.topics.spec import TopicResolver, load_topics

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
        declared = load_topics(settings.topics_file) if any(not overrides.get(r) for r in ROLES) else None
        topics = TopicResolver(declared, overrides)
        return cls(**{r: topics.name(r) for r in ROLES})

    def roles(self) -> dict[str, str]:
        return {r: getattr(self, r) for r in ROLES}

    @property
    def outcomes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.image_ready, self.audio_ready)))
