"""What the SDK, the CLI and the gateway call for the catalog: list assets, rate one, read the
quality and consistency reports, build a rerender, forget a project."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from media_stream.catalog.quality import (
    ConsistencyLine,
    QualityLine,
    consistency_rollup,
    quality_report,
)
from media_stream.catalog.topics import CatalogTopics
from media_stream.catalog.view import CatalogView
from media_stream.config import Settings
from media_stream.domain.assets import (
    AssetCataloged,
    AssetRated,
    hash_rater,
    parse_asset_id,
    rating_key,
    with_render_version,
)
from media_stream.domain.errors import ConfigurationError, ValidationError
from media_stream.domain.ids import validate_id
from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.producer import EventProducer
from media_stream.observability.tracing import new_traceparent
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from media_stream.state.topic_view import views_dir

# Object-store prefixes that hold a project's files: {kind}/{projectId}/...
PROJECT_FILE_KINDS = ("images", "narration", "music", "characters")


@dataclass(frozen=True)
class ForgetReport:
    project_id: str
    assets: int  # tombstones on the assets topic
    ratings: int  # tombstones on the ratings topic
    files: int  # objects deleted


class AssetNotFound(ValidationError):
    def __init__(self, project_id: str, asset: str) -> None:
        super().__init__("assetId", f"no asset {asset!r} in project {project_id!r}")


def default_view_path(settings: Settings, topics: CatalogTopics) -> Path:
    if settings.catalog.view_path is not None:
        return Path(settings.catalog.view_path)
    return views_dir(settings) / f"{topics.assets}+{topics.asset_ratings}.sqlite"


class CatalogClient:
    def __init__(
        self,
        settings: Settings,
        bootstrap: str | None = None,
        topics: Mapping[str, str] | None = None,
        view_path: Path | None = None,
        store: Any = None,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.overrides = dict(topics or {})
        self.topics = CatalogTopics.resolve(settings, self.overrides)
        self.view = CatalogView(view_path or default_view_path(settings, self.topics), settings, self.topics, bootstrap)
        self.encoder = EventEncoder(EventCodec.from_settings(settings))
        self._store = store
        self._producer: EventProducer | None = None

    @property
    def producer(self) -> EventProducer:
        if self._producer is None:
            self._producer = EventProducer(self.settings, self.bootstrap)
        return self._producer

    @property
    def store(self) -> Any:
        if self._store is None:
            from media_stream.storage.factory import object_store

            self._store = object_store(self.settings.storage)
        return self._store

    # -- queries ----------------------------------------------------------------------------------
    def assets(self, project_id: str, render_version: int | None = None) -> list[AssetCataloged]:
        validate_id("projectId", project_id)
        self.view.catch_up()
        return self.view.assets(project_id, render_version)

    def projects(self) -> list[tuple[str, int]]:
        """(projectId, number of assets) of every cataloged project."""
        self.view.catch_up()
        return self.view.projects()

    def asset(self, project_id: str, asset: str) -> AssetCataloged:
        validate_id("projectId", project_id)
        parse_asset_id(asset)
        self.view.catch_up()
        found = self.view.asset(project_id, asset)
        if found is None:
            raise AssetNotFound(project_id, asset)
        return found

    def quality(self, now: datetime | None = None) -> list[QualityLine]:
        self.view.catch_up()
        now_ms = int((now or datetime.now(timezone.utc)).timestamp() * 1000)
        return quality_report(self.view.rating_facts(), now_ms)

    def consistency(self, project_id: str | None = None, threshold: float | None = None) -> list[ConsistencyLine]:
        self.view.catch_up()
        chosen = self.settings.worker.sdxl.consistency_threshold if threshold is None else threshold
        return consistency_rollup(self.view.consistency_facts(project_id), chosen)

    # -- writes -----------------------------------------------------------------------------------
    def rate(
        self, project_id: str, asset: str, rating: int, rater_id: str, comment: str | None = None, rated_at: datetime | None = None
    ) -> AssetRated:
        """Publish an AssetRated with the rater's keyed hash; a later rating by the same rater of
        the same asset replaces it (same key on the compacted topic)."""
        secret = self.settings.catalog.rater_hash_key
        if secret is None or not secret.get_secret_value():
            raise ConfigurationError("rating needs MEDIA_STREAM_CATALOG__RATER_HASH_KEY (the secret of the rater-id hash)")
        rater = hash_rater(rater_id, secret.get_secret_value().encode())
        event = AssetRated(project_id, asset, rating, rater, comment or None, rated_at or datetime.now(timezone.utc)).validate()
        self.producer.send(self.encoder.message(self.topics.asset_ratings, rating_key(project_id, asset, rater), event, new_traceparent()))
        self.producer.flush()
        return event

    def rerender_request(self, project_id: str, asset: str, render_version: int | None = None) -> tuple[Any, str | None]:
        """The asset's request under a new render version (default: one above every version of
        its job in the catalog) and the replay-of lineage to publish it with."""
        entry = self.asset(project_id, asset)
        request = entry.request
        if request is None:
            raise ValidationError("assetId", f"{asset} was cataloged without its request (an agent older than the catalog)")
        version = render_version if render_version is not None else max(self.view.versions_of_job(project_id, entry.job_id), default=entry.render_version) + 1
        if version in self.view.versions_of_job(project_id, entry.job_id):
            raise ValidationError("renderVersion", f"{version} already exists for job {entry.job_id}", "a version not rendered yet")
        return with_render_version(request, version), entry.request_source

    def forget_project(self, project_id: str, timeout_s: float = 30.0) -> ForgetReport:
        """Tombstones for every catalog entry and rating of the project, then delete its files.
        Returns once the view has read the tombstones back."""
        validate_id("projectId", project_id)
        self.view.catch_up()
        assets = self.view.asset_keys(project_id)
        ratings = self.view.rating_keys(project_id)
        for key, _ in assets:
            self.producer.send(OutgoingMessage(self.topics.assets, key.encode(), None))
        for key in ratings:
            self.producer.send(OutgoingMessage(self.topics.asset_ratings, key.encode(), None))
        self.producer.flush()
        files = {storage_key for _, storage_key in assets if storage_key}
        for kind in PROJECT_FILE_KINDS:
            files.update(self.store.list(f"{kind}/{project_id}/"))
        for key in sorted(files):
            self.store.delete(key)
        deadline = time.monotonic() + timeout_s
        while self.view.catch_up() and (self.view.asset_keys(project_id) or self.view.rating_keys(project_id)):
            if time.monotonic() > deadline:
                break
        return ForgetReport(project_id, len(assets), len(ratings), len(files))

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
            self._producer = None
        self.view.close()
