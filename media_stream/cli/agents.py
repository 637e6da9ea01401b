"""The processes `media-stream` runs and what they announce: ``worker`` (a GPU agent), ``gateway``
(the REST API), ``demo`` (the main job end to end on the embedded defaults) and ``models`` (the
backends the running agents loaded)."""

from __future__ import annotations

import json
import logging
from typing import Optional

import typer
from rich.table import Table

from media_stream.config import get_settings
from media_stream.terminal import Bootstrap, console, exits_on_errors

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


@exits_on_errors
def worker(
    medium: str = typer.Argument("image", help="image or audio"),
    max_batch_size: Optional[int] = typer.Option(None, help="Largest renderer batch."),
    in_flight: Optional[int] = typer.Option(None, help="Requests in work before the agent pauses its partitions."),
    bootstrap: Bootstrap = None,
    log_level: str = typer.Option("INFO"),
) -> None:
    """Run a GPU agent in the consumer group until SIGTERM."""
    from media_stream.runtime.assembly import MEDIA, run_agent

    logging.basicConfig(level=log_level, format=LOG_FORMAT)
    settings = get_settings()
    if max_batch_size is not None:
        settings.worker.max_batch_size = max_batch_size
    if in_flight is not None:
        settings.worker.in_flight_window = in_flight
    if medium not in MEDIA:
        raise typer.BadParameter(f"unknown medium {medium!r} (allowed: {', '.join(MEDIA)})")
    run_agent(settings, medium, bootstrap)


def gateway(
    host: Optional[str] = typer.Option(None, help="Listen address (default: gateway.host, 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (default: gateway.port, 8080)."),
    bootstrap: Bootstrap = None,
    log_level: str = typer.Option("INFO"),
) -> None:
    """Serve the REST API (/api/v1/...) over the Kafka topics; tokens from MEDIA_STREAM_GATEWAY__TOKENS."""
    from media_stream.gateway.server import serve

    logging.basicConfig(level=log_level, format=LOG_FORMAT)
    serve(get_settings(), host, port, bootstrap, log_level)


def demo(
    scenes: int = typer.Option(4, min=1, max=24, help="Scenes in the sample storyboard."),
    keep_running: bool = typer.Option(False, help="Leave the local broker running afterwards."),
    audio: bool = typer.Option(True, "--audio/--no-audio", help="Also narrate the storyboard and score it with music (--no-audio: images only)."),
) -> None:
    """Run the main job end to end on the embedded defaults and show its result: the storyboard's
    images, then (unless --no-audio) a narration per scene and the music, through an audio agent."""
    from media_stream.demo import run_demo

    raise typer.Exit(run_demo(get_settings(), scenes=scenes, keep_running=keep_running, console=console, audio=audio))


@exits_on_errors
def models(
    bootstrap: Bootstrap = None,
    as_json: bool = typer.Option(False, "--json", help="JSON (as GET /api/v1/models answers) instead of a table."),
) -> None:
    """The backends the running agents loaded: model, device, dtype, memory (the agents topic)."""
    from media_stream.client.agents import as_json as agent_json
    from media_stream.client.agents import running_agents
    from media_stream.client.sdk import MediaStreamClient

    with MediaStreamClient(get_settings(), bootstrap) as client:
        agents = running_agents(client.settings, bootstrap, client.topic("agents"))
    if as_json:
        typer.echo(json.dumps({"agents": [agent_json(a) for a in agents]}))
        return
    table = Table("agent", "medium", "role", "backend", "model", "device", "dtype", "memory")
    for agent in agents:
        for b in agent.backends:
            memory = f"{b.memory_bytes / 2**30:.1f} GiB" if b.memory_bytes is not None else "-"
            table.add_row(agent.agent_id, agent.medium, b.role, b.backend, b.model, b.device, b.dtype, memory)
    console.print(table if agents else "no agent has announced itself (is one running?)")
