"""Pytest plugin (listed in tests/conftest.py): the catalog against the real broker — fresh agent
routes (image and audio sharing status and failure topics), fresh assets and ratings topics, the
catalog processor on a thread, and an SDK client wired to all of them."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from media_stream.catalog.processor import CatalogProcessor
from media_stream.catalog.topics import CatalogTopics
from media_stream.client.sdk import MediaStreamClient
from media_stream.config import Settings
from media_stream.runtime.routes import AgentRoutes
from tests.helpers.routes import COMPACT, make_routes

RATER_KEY = "test-rater-hash-key"


@dataclass
class CatalogEnv:
    settings: Settings
    bootstrap: str
    image: AgentRoutes
    audio: AgentRoutes
    topics: CatalogTopics
    client: MediaStreamClient

    @property
    def roles(self) -> dict[str, str]:
        return client_roles(self.image, self.audio, self.topics)


def client_roles(image: AgentRoutes, audio: AgentRoutes, topics: CatalogTopics) -> dict[str, str]:
    return {
        "image_requests": image.requests, "audio_requests": audio.requests, "control": image.control,
        "image_ready": image.image_ready, "batch_completed": image.batch_completed, "audio_ready": audio.audio_ready,
        "job_failed": image.job_failed, "job_status": image.job_status,
        "assets": topics.assets, "asset_ratings": topics.asset_ratings, "assets_dlq": topics.assets_dlq,
    }  # fmt: skip


@pytest.fixture
def catalog_settings(settings: Settings, tmp_path: Path) -> Settings:  # the agent fixtures' settings, extended
    settings.catalog.view_path = tmp_path / "catalog.sqlite"
    settings.catalog.rater_hash_key = SecretStr(RATER_KEY)
    settings.catalog.poll_timeout_s = 0.1
    return settings


@pytest.fixture
def catalog_env(catalog_settings: Settings, kafka_bootstrap: str, unique_topic: Callable[..., str]) -> Iterator[CatalogEnv]:
    image = make_routes(unique_topic, partitions=2)
    audio = dataclasses.replace(
        make_routes(unique_topic, partitions=2, medium="audio"),
        job_status=image.job_status, job_failed=image.job_failed, control=unique_topic("audio-control", partitions=2),
    )  # fmt: skip
    topics = CatalogTopics(
        image_ready=image.image_ready,  # type: ignore[arg-type]
        audio_ready=audio.audio_ready,  # type: ignore[arg-type]
        assets=unique_topic("assets", partitions=3, config=COMPACT),
        asset_ratings=unique_topic("ratings", partitions=3, config=COMPACT),
        assets_dlq=unique_topic("assets-dlq"),
    )
    client = MediaStreamClient(catalog_settings, kafka_bootstrap, client_roles(image, audio, topics))
    yield CatalogEnv(catalog_settings, kafka_bootstrap, image, audio, topics, client)
    client.close()


@pytest.fixture
def start_processor(catalog_settings: Settings, kafka_bootstrap: str) -> Iterator[Callable[[CatalogTopics], CatalogProcessor]]:
    """``start_processor(topics)``: a catalog processor on a thread, stopped at the end."""
    running: list[tuple[CatalogProcessor, threading.Thread, list]] = []

    def start(topics: CatalogTopics) -> CatalogProcessor:
        processor = CatalogProcessor(catalog_settings, topics, kafka_bootstrap, group_id=f"catalog-{topics.assets}")
        errors: list[BaseException] = []

        def run() -> None:
            try:
                processor.run()
            except BaseException as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)

        thread = threading.Thread(target=run, name="catalog-processor", daemon=True)
        thread.start()
        processor.thread = thread  # type: ignore[attr-defined] - so a test can wait for it to stop
        running.append((processor, thread, errors))
        return processor

    yield start
    for processor, thread, errors in running:
        processor.stopping.set()
        thread.join(30)
        assert not thread.is_alive(), "the catalog processor did not stop"
        assert not errors, f"the catalog processor failed: {errors!r}"
