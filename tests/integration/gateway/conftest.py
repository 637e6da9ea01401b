"""The gateway against the real broker: fresh topics per test, tokens of each kind, a TestClient."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from media_stream.config import GatewayToken, Settings
from media_stream.domain.records import from_record
from media_stream.domain.requests import REQUEST_TYPES
from media_stream.gateway.app import create_app
from media_stream.kafka.partition_reader import read_to_end
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from media_stream.storage.filesystem import FilesystemStore
from tests.integration.runtime.conftest import COMPACT, make_routes, routes, settings, start_agent  # noqa: F401 - pytest fixtures

USER = "user-token-0123456789abcdef"
SERVICE = "service-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"
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
