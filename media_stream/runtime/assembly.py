"""Assemble an agent from settings and run it until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import socket
from typing import Any

from media_stream.config import Settings, agent_group_id
from media_stream.domain.errors import ConfigurationError
from media_stream.kafka.consumer import EventConsumer
from media_stream.kafka.producer import TransactionalProducer
from media_stream.observability.health import AgentHealth
from media_stream.observability.metrics import AgentMetrics, backend_label
from media_stream.runtime.agent import Agent
from media_stream.runtime.control_feed import ControlFeed
from media_stream.runtime.medium import Medium
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from media_stream.state.changelog import ChangelogTable, TableSpec
from media_stream.state.character_registry import KafkaCharacterRegistry
from media_stream.state.characters import CharacterIdentity
from media_stream.storage.base import ObjectStore
from media_stream.storage.factory import object_store
from media_stream.topics.spec import TopicResolver

log = logging.getLogger(__name__)
MEDIA = ("image", "audio")


def build_medium(
    settings: Settings,
    medium: str,
    routes: AgentRoutes,
    encoder: EventEncoder,
    store: ObjectStore,
    renderer: Any = None,
    characters: KafkaCharacterRegistry | None = None,
) -> Medium:
    if medium == "image":
        from media_stream.render.image.registry import image_renderer
        from media_stream.runtime.character_references import CharacterReferences
        from media_stream.runtime.image_medium import ImageMedium

        renderer = renderer or image_renderer(settings.worker)
        references = None
        if characters is not None and _conditions_on_references(settings, renderer):
            sdxl = settings.worker.sdxl
            references = CharacterReferences(characters, store, renderer, reference_scale=sdxl.ip_adapter_scale)
        return ImageMedium(renderer, store, routes, encoder, references)
    if medium == "audio":
        from media_stream.render.audio.registry import music_renderer, speech_renderer
        from media_stream.runtime.audio_medium import AudioMedium

        speech, music = renderer if renderer is not None else (speech_renderer(settings.audio), music_renderer(settings.audio))
        return AudioMedium(speech, music, store, routes, encoder, settings.audio)
    raise ConfigurationError(f"unknown medium {medium!r} (allowed: {', '.join(MEDIA)})")


def _conditions_on_references(settings: Settings, renderer: Any) -> bool:
    """SDXL needs an IP-Adapter for references; the preview renderer takes them (and ignores the pixels)."""
    if getattr(renderer, "name", "") == "sdxl":
        return bool(settings.worker.sdxl.ip_adapter_model)
    return True


def build_agent(
    settings: Settings,
    medium: str = "image",
    bootstrap: str | None = None,
    group_id: str | None = None,
    routes: AgentRoutes | None = None,
    renderer: Any = None,
    store: ObjectStore | None = None,
) -> Agent:
    routes = routes or AgentRoutes.from_topics(TopicResolver.load(settings.topics_file), medium)
    codec = EventCodec.from_settings(settings)
    encoder = EventEncoder(codec)
    store = store or object_store(settings.storage)
    store.check()
    group = group_id or agent_group_id(settings, medium)
    w = settings.worker
    transactional_id = f"{group}-{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"

    def shard_producer(shard: int) -> TransactionalProducer:
        """Shard 0 keeps the agent's transactional.id; shard i adds -i (runtime/commit_shards.py)."""
        return TransactionalProducer(settings, f"{transactional_id}-{shard}" if shard else transactional_id, bootstrap, **{"transaction.timeout.ms": w.transaction_timeout_ms})

    producer = shard_producer(0)

    def consumer(on_assign: Any, on_revoke: Any, on_lost: Any) -> EventConsumer:
        return EventConsumer(
            settings, group, [routes.requests], bootstrap, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost,
            **{"max.poll.interval.ms": w.max_poll_interval_ms, "session.timeout.ms": w.session_timeout_ms},
        )

    control = ControlFeed(settings, bootstrap, routes.control, codec)
    characters = None
    if medium == "image" and routes.character_registry:
        characters = KafkaCharacterRegistry(ChangelogTable(TableSpec(routes.character_registry, CharacterIdentity), codec))
    built = build_medium(settings, medium, routes, encoder, store, renderer, characters)
    obs = settings.observability
    return Agent(
        settings,
        built,
        routes,
        producer,
        consumer,
        codec,
        control,
        bootstrap,
        characters=characters,
        shard_producer=shard_producer,
        metrics=AgentMetrics(medium, backend_label(built), max_project_labels=obs.max_project_labels, sample_interval_s=obs.sample_interval_s),
        health=AgentHealth(obs.live_within_s, store.check, obs.storage_check_interval_s),
    )


def run_agent(settings: Settings, medium: str = "image", bootstrap: str | None = None) -> None:
    from media_stream.kafka.connection import refuse_misconfigured_security
    from media_stream.observability.health_server import HealthServer
    from media_stream.observability.logging_setup import configure_logging
    from media_stream.observability.tracing_setup import configure_tracing

    obs = settings.observability
    root = logging.getLogger()
    configure_logging(obs.log_format, root.level if root.handlers else logging.INFO)
    tracer_provider = configure_tracing(obs)
    refuse_misconfigured_security(settings, bootstrap)  # wrong credentials: one clear error, now
    agent = build_agent(settings, medium, bootstrap)
    port = obs.port_for(medium)
    try:
        server = HealthServer(agent.health, agent.metrics.registry, obs.host, port).start() if port else None
    except ConfigurationError:
        agent.consumer.close()
        agent.producer.close()
        raise

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: finishing the step in hand, then leaving", signum)
        agent.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("%s agent up: store=%s", medium, settings.storage.backend)
    from media_stream.runtime.announcer import AgentAnnouncer

    announcer = AgentAnnouncer(settings, bootstrap, medium, agent.medium)
    announcer.announce_when(lambda: agent.health.model_loaded, agent.stopping)
    try:
        agent.run()
    finally:
        announcer.close()
        if server is not None:
            server.stop()
        if tracer_provider is not None:
            tracer_provider.shutdown()  # flushes the spans still queued
