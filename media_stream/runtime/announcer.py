"""Agents say what they loaded: one AgentAnnounced on the compacted ``agents`` topic (key: the
agent id) once the medium has loaded, and a tombstone when the agent leaves.

The gateway is not an agent, so this is how ``/api/v1/models`` (and ``media-stream models``)
learns which backends run where. What a backend is comes from the renderer itself
(``describe()`` when it has one) or else from its attributes and the settings.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from media_stream import __version__
from media_stream.config import Settings
from media_stream.domain.agents import AgentAnnounced, LoadedBackend
from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.producer import EventProducer
from media_stream.observability.tracing import new_traceparent
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from media_stream.topics.spec import load_topics

log = logging.getLogger(__name__)
NO_WEIGHTS = "n/a"


def _configured_model(settings: Settings, backend: str) -> str:
    return {
        "sdxl": settings.worker.sdxl.model,
        "musicgen": settings.audio.musicgen_model,
        "coqui": settings.audio.coqui_model,
    }.get(backend, backend)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).removeprefix("torch.")


def _cuda_memory(device: str) -> int | None:
    torch = sys.modules.get("torch")  # only when a backend imported it: never import torch here
    if torch is None or not device.startswith("cuda"):
        return None
    try:
        return int(torch.cuda.memory_allocated(torch.device(device)))
    except Exception:  # noqa: BLE001 - a figure for display; never stop an agent for it
        return None


def describe_backend(role: str, renderer: Any, settings: Settings) -> LoadedBackend:
    """The loaded backend of ``renderer``: its own ``describe()``, else attributes and settings."""
    describe = getattr(renderer, "describe", None)
    if callable(describe):
        return describe()
    backend = str(getattr(renderer, "name", None) or type(renderer).__name__)
    loaded = getattr(renderer, "_loaded", None)  # sdxl keeps its device and dtype there
    model = getattr(renderer, "model", None)
    model_name = model if isinstance(model, str) else _configured_model(settings, backend)
    device = _text(getattr(renderer, "device", None) or getattr(loaded, "device", None))
    dtype = _text(getattr(renderer, "dtype", None) or getattr(loaded, "dtype", None))
    if device is None:
        device = "cpu"
    return LoadedBackend(role, backend, model_name, device, dtype or NO_WEIGHTS, _cuda_memory(device))


def loaded_backends(medium: Any, settings: Settings) -> tuple[LoadedBackend, ...]:
    """The backends an ImageMedium (``renderer``) or AudioMedium (``speech``, ``music``) holds."""
    found = []
    for role, attribute in (("image", "renderer"), ("speech", "speech"), ("music", "music")):
        renderer = getattr(medium, attribute, None)
        if renderer is not None:
            found.append(describe_backend(role, renderer, settings))
    return tuple(found)


def agent_id(medium_name: str) -> str:
    return f"{medium_name}-{socket.gethostname()}-{os.getpid()}"


class AgentAnnouncer:
    def __init__(self, settings: Settings, bootstrap: str | None, medium_name: str, medium: Any, *, agent: str | None = None, topic: str | None = None) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.medium_name = medium_name
        self.medium = medium
        self.agent_id = agent or agent_id(medium_name)
        self.topic = topic or load_topics(settings.topics_file).name("agents")
        self.encoder = EventEncoder(EventCodec.from_settings(settings))
        self._producer: EventProducer | None = None

    def announcement(self) -> AgentAnnounced:
        return AgentAnnounced(self.agent_id, self.medium_name, socket.gethostname(), __version__, loaded_backends(self.medium, self.settings))

    def _send(self, message: OutgoingMessage) -> None:
        if self._producer is None:
            self._producer = EventProducer(self.settings, self.bootstrap)
        self._producer.send(message)
        self._producer.flush(10.0)

    def announce(self) -> AgentAnnounced:
        announced = self.announcement()
        self._send(self.encoder.message(self.topic, self.agent_id, announced, new_traceparent()))
        log.info("announced %s on %s: %s", self.agent_id, self.topic, ", ".join(f"{b.role}={b.backend} ({b.device})" for b in announced.backends))
        return announced

    def withdraw(self) -> None:
        """A tombstone: this agent no longer runs."""
        self._send(OutgoingMessage(self.topic, self.agent_id.encode(), None))

    def announce_when(self, loaded: Callable[[], bool], stopping: threading.Event, poll_s: float = 0.2) -> threading.Thread:
        """A daemon thread that announces once ``loaded()`` is true (the agent loads its medium
        inside its own run loop); a failure is logged, never raised into the agent."""

        def wait_then_announce() -> None:
            while not stopping.is_set():
                if loaded():
                    try:
                        self.announce()
                    except Exception:  # noqa: BLE001 - the announcement is informational
                        log.exception("could not announce %s on %s", self.agent_id, self.topic)
                    return
                stopping.wait(poll_s)

        thread = threading.Thread(target=wait_then_announce, name="agent-announcer", daemon=True)
        thread.start()
        return thread

    def close(self, withdraw: bool = True) -> None:
        try:
            if withdraw:
                self.withdraw()
        except Exception:  # noqa: BLE001 - leaving anyway
            log.warning("could not withdraw %s from %s", self.agent_id, self.topic)
        if self._producer is not None:
            self._producer.close(10.0)
            self._producer = None
