"""The gateway against the real broker: fresh topics per test, tokens of each kind, a TestClient."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from media_stream.catalog.processor import CatalogProcessor
from media_stream.catalog.topics import CatalogTopics
from media_stream.config import GatewayToken, Settings
from media_stream.domain.records import from_record
from media_stream.domain.requests import REQUEST_TYPES
from media_stream.gateway.app import create_app
from media_stream.kafka.partition_reader import read_to_end
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from media_stream.storage.filesystem import FilesystemStore
from tests.helpers.agents import RunningAgent
from tests.helpers.routes import COMPACT, make_routes
from tests.helpers.scripted_renderer import ScriptedRenderer

USER = "user-token-0123456789abcdef"
SERVICE = "service-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"
OPERATOR = "console-operator-token-0123456789"  # a service token: cancel is for service tokens
OPERATOR_SCOPES = ["images:write", "images:read", "audio:write", "jobs:read", "assets:read", "assets:rate"]
VIEWER = "viewer-token-0123456789abcdef"  # reads, cannot write or rate
PROJECT = "proj-console"
USER_SCOPES = ["images:write", "images:read", "audio:write", "audio:read", "jobs:read"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Gateway:
    http: TestClient
    settings: Settings
    routes: AgentRoutes
    audio_routes: AgentRoutes
    topics: dict[str, str]
    bootstrap: str

    def events_on(self, topic: str) -> list[object]:
        """Every request event on ``topic`` (all partitions), decoded."""
        codec = EventCodec.from_settings(self.settings)
        partitions = 3 if topic in (self.routes.requests, self.audio_routes.requests, self.routes.control) else 1
        read = read_to_end(self.settings, self.bootstrap, [(topic, p) for p in range(partitions)], 30)
        events = []
        for messages in read.values():
            for message in messages:
                decoded = codec.decode(message.value)
                events.append(from_record(REQUEST_TYPES[decoded.record_name], decoded.value))
        return events


def gateway_topics(routes: AgentRoutes, audio_routes: AgentRoutes, agents: str) -> dict[str, str]:
    """{role: topic} for the gateway: the image routes, the audio routes' requests and audio-ready."""
    roles = {f.name: getattr(routes, f.name) for f in dataclasses.fields(routes) if isinstance(getattr(routes, f.name), str)}
    roles.update(
        image_requests=routes.requests,
        audio_requests=audio_routes.requests,
        audio_ready=audio_routes.audio_ready,
        job_progress=routes.progress,
        agents=agents,
    )
    return roles


@pytest.fixture
def gateway_settings(settings: Settings, tmp_path: Path) -> Settings:  # noqa: F811 - the runtime fixture
    settings.gateway.tokens = [
        GatewayToken(name="alice", token=USER, kind="user", scopes=USER_SCOPES),
        GatewayToken(name="renderfarm", token=SERVICE, kind="service", scopes=["*"]),
        GatewayToken(name="viewer", token=READER, kind="user", scopes=["images:read"]),
    ]
    settings.gateway.status_view_path = tmp_path / "views" / "status.sqlite"
    settings.gateway.max_body_bytes = 64 * 1024
    settings.gateway.sse_idle_timeout_s = 30.0
    return settings


@pytest.fixture
def audio_routes(unique_topic: Callable[..., str]) -> AgentRoutes:
    return make_routes(unique_topic, medium="audio")


@pytest.fixture
def gateway(
    gateway_settings: Settings, routes: AgentRoutes, audio_routes: AgentRoutes, unique_topic: Callable[..., str], kafka_bootstrap: str  # noqa: F811
) -> Iterator[Gateway]:
    topics = gateway_topics(routes, audio_routes, unique_topic("agents", config=COMPACT))
    app = create_app(gateway_settings, kafka_bootstrap, topics=topics, store=FilesystemStore(gateway_settings.storage.root))
    with TestClient(app) as http:
        yield Gateway(http, gateway_settings, routes, audio_routes, topics, kafka_bootstrap)


@dataclass
class ServedGateway:
    url: str
    gateway: Gateway


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under a real uvicorn on a free port, on a thread; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name="gateway-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def served_gateway(gateway: Gateway) -> Iterator[ServedGateway]:
    """The same app under a real uvicorn on a free port (streaming as a client sees it)."""
    with serving(gateway.http.app) as url:
        yield ServedGateway(url, gateway)


@dataclass
class ConsoleEnv:
    url: str
    settings: Settings
    bootstrap: str
    image: AgentRoutes
    topics: CatalogTopics

    @property
    def audio_ready(self) -> str:
        return self.topics.audio_ready

    def on_topic(self, topic: str, partitions: int, cls: type) -> list:
        """Every event of type ``cls`` on ``topic`` (all partitions, up to the end offsets)."""
        codec = EventCodec.from_settings(self.settings)
        found = []
        for messages in read_to_end(self.settings, self.bootstrap, [(topic, p) for p in range(partitions)], 30).values():
            for message in messages:
                if message.value is None:
                    continue
                decoded = codec.decode(message.value)
                if decoded.record_name == cls.__name__:
                    found.append(from_record(cls, decoded.value))
        return found


@pytest.fixture
def console_env(
    catalog_settings: Settings,  # noqa: F811 - the catalog's fixture
    kafka_bootstrap: str,
    unique_topic: Callable[..., str],
    start_agent: Callable[..., RunningAgent],
    start_processor: Callable[[CatalogTopics], CatalogProcessor],  # noqa: F811
    tmp_path: Path,
) -> Iterator[ConsoleEnv]:
    """What the console talks to: the gateway under uvicorn on fresh image and audio routes with
    the catalog's topics, an image agent (the scripted stand-in: ``slow=N`` and ``fail=permanent``
    in a prompt), an audio agent and the catalog processor; tokens OPERATOR and VIEWER."""
    settings = catalog_settings
    settings.gateway.tokens = [
        GatewayToken(name="operator", token=OPERATOR, kind="service", scopes=OPERATOR_SCOPES),
        GatewayToken(name="viewer", token=VIEWER, kind="user", scopes=["assets:read", "jobs:read"]),
    ]
    settings.gateway.status_view_path = tmp_path / "views" / "status.sqlite"
    settings.gateway.sse_idle_timeout_s = 60.0
    image = make_routes(unique_topic, partitions=2)
    audio = dataclasses.replace(make_routes(unique_topic, partitions=2, medium="audio"), job_status=image.job_status, job_failed=image.job_failed)
    topics = CatalogTopics(
        image_ready=image.image_ready,  # type: ignore[arg-type]
        audio_ready=audio.audio_ready,  # type: ignore[arg-type]
        assets=unique_topic("assets", partitions=3, config=COMPACT),
        asset_ratings=unique_topic("ratings", partitions=3, config=COMPACT),
        assets_dlq=unique_topic("assets-dlq"),
    )
    roles = gateway_topics(image, audio, unique_topic("agents", config=COMPACT)) | {
        "assets": topics.assets, "asset_ratings": topics.asset_ratings, "assets_dlq": topics.assets_dlq,
    }  # fmt: skip
    start_agent(ScriptedRenderer(max_batch_size=1), on=image)  # one scene a render: a cancel lands between scenes
    start_agent(on=audio, medium="audio")  # eSpeak NG and procedural music
    start_processor(topics)
    app = create_app(settings, kafka_bootstrap, topics=roles, store=FilesystemStore(settings.storage.root))
    with serving(app) as url:
        yield ConsoleEnv(url, settings, kafka_bootstrap, image, topics)
    app.state.services.close()
