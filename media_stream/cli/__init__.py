"""The `media-stream` command: typer commands that call the package, nothing more."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Optional

import typer
from rich.table import Table

from media_stream.bench.cli import bench_app
from media_stream.catalog import cli as catalog_cli
from media_stream.catalog.cli import catalog_app
from media_stream.cli.client_commands import publish_app, reset_group, watch
from media_stream.config import get_settings
from media_stream.dev.cli import dev_app
from media_stream.domain.errors import MediaStreamError
from media_stream.terminal import error_line, make_console
from media_stream.serde.cli import schemas_app
from media_stream.topics.cli import topics_app

app = typer.Typer(help="Kafka generation requests in, images, narration and music out.", no_args_is_help=True)
app.add_typer(dev_app, name="dev", help="The local Kafka broker for development and tests.")
app.add_typer(topics_app, name="topics", help="Topics as code: topics.yaml applied to the cluster.")
app.add_typer(schemas_app, name="schemas", help="Avro contracts: list and compatibility check.")
app.add_typer(bench_app, name="bench", help="Benchmarks: figures as JSON, never pass/fail.")
app.add_typer(publish_app, name="publish", help="Publish a request: image, storyboard, narration or music.")
app.command("watch")(watch)
app.command("reset-group")(reset_group)
app.add_typer(catalog_app, name="catalog", help="The asset catalog processor (catalog run).")
app.command("assets")(catalog_cli.assets)
app.command("rate")(catalog_cli.rate)
app.command("quality")(catalog_cli.quality)
app.command("forget-project")(catalog_cli.forget_project)
console = make_console(soft_wrap=True)


@app.command()
def worker(
    medium: str = typer.Argument("image", help="image or audio"),
    max_batch_size: Optional[int] = typer.Option(None, help="Largest renderer batch."),
    in_flight: Optional[int] = typer.Option(None, help="Requests in work before the agent pauses its partitions."),
    bootstrap: Optional[str] = typer.Option(None, help="Kafka bootstrap servers (default: configured or local dev broker)."),
    log_level: str = typer.Option("INFO"),
) -> None:
    """Run a GPU agent in the consumer group until SIGTERM."""
    from media_stream.runtime.assembly import MEDIA, run_agent

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    if max_batch_size is not None:
        settings.worker.max_batch_size = max_batch_size
    if in_flight is not None:
        settings.worker.in_flight_window = in_flight
    if medium not in MEDIA:
        raise typer.BadParameter(f"unknown medium {medium!r} (allowed: {', '.join(MEDIA)})")
    try:
        run_agent(settings, medium, bootstrap)
    except MediaStreamError as exc:
        console.print(error_line(exc))
        raise typer.Exit(2) from exc


@app.command()
def status(
    job_id: str = typer.Argument(..., help="The job to look up."),
    bootstrap: Optional[str] = typer.Option(None, help="Kafka bootstrap servers (default: configured or local dev broker)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of a table."),
) -> None:
    """A job's latest status from the materialized job-status view (caught up, then looked up)."""
    import json

    from media_stream.state.status_view import StatusView
    from media_stream.topics.spec import TopicResolver

    settings = get_settings()
    topic = TopicResolver.load(settings.topics_file).name("job_status")
    view = StatusView(StatusView.default_path(settings, topic), settings, topic, bootstrap)
    try:
        row, lookup_ms = view.query(job_id)
    except MediaStreamError as exc:
        console.print(error_line(exc))
        raise typer.Exit(2) from exc
    finally:
        view.close()
    if row is None:
        console.print(f"no status for job {job_id!r}")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({**row.__dict__, "lookup_ms": round(lookup_ms, 3)}))
        return
    console.print(f"{row.job_id}  {row.status}  progress {row.progress:.0%}  project {row.project_id}" + (f"  error: {row.error}" if row.error else ""))
    console.print(f"(looked up in {lookup_ms:.2f} ms)")


@app.command()
def cancel(
    job_id: str = typer.Argument(..., help="The job to cancel."),
    project: str = typer.Option(..., help="The job's project (the message key)."),
    reason: str = typer.Option("", help="Why; carried in the job's cancelled status."),
    bootstrap: Optional[str] = typer.Option(None, help="Kafka bootstrap servers."),
) -> None:
    """Publish a CancelRequested on the control topic: a queued job is dropped, a running one stops after its scene."""
    import uuid

    from media_stream.client.publisher import RequestPublisher
    from media_stream.domain.requests import CancelRequested

    request = CancelRequested(f"cancel-{uuid.uuid4().hex[:12]}", job_id, project, reason)
    try:
        publisher = RequestPublisher(get_settings(), bootstrap)
        try:
            published = publisher.publish(request)
        finally:
            publisher.close()
    except MediaStreamError as exc:
        console.print(error_line(exc))
        raise typer.Exit(2) from exc
    console.print(f"cancel for job {job_id} published to {published.topic}")


@app.command()
def replay(
    render_version: int = typer.Option(..., "--render-version", help="The new render version the replayed requests carry."),
    role: str = typer.Option("image_requests", help="Which requests topic, by its role in topics.yaml."),
    topic_name: Optional[str] = typer.Option(None, "--topic", help="The requests topic by name (overrides --role)."),
    partition: Optional[int] = typer.Option(None, help="Only this partition (with --from-offset/--to-offset)."),
    from_offset: Optional[int] = typer.Option(None, "--from-offset", help="Only offsets from this one (inclusive)."),
    to_offset: Optional[int] = typer.Option(None, "--to-offset", help="Only offsets up to this one (inclusive)."),
    since: Optional[datetime] = typer.Option(None, help="Only events at or after this time (ISO 8601)."),
    until: Optional[datetime] = typer.Option(None, help="Only events before this time (ISO 8601)."),
    project: Optional[str] = typer.Option(None, help="Only this project's events."),
    job: Optional[str] = typer.Option(None, help="Only this job's events."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be replayed, per partition and project."),
    bootstrap: Optional[str] = typer.Option(None, help="Kafka bootstrap servers."),
) -> None:
    """Re-publish request events with a new render version and `replay-of` lineage headers."""
    from media_stream.client.replay import replay as run_replay
    from media_stream.topics.spec import load_topics

    settings = get_settings()
    try:
        topic = topic_name or load_topics(settings.topics_file).name(role)
        report = run_replay(settings, topic, render_version, bootstrap, since, until, project, job, dry_run, partition, from_offset, to_offset)
    except MediaStreamError as exc:
        console.print(error_line(exc))
        raise typer.Exit(2) from exc
    verb = "would replay" if dry_run else "replayed"
    console.print(f"{verb} {report.selected} request(s) from {topic} as renderVersion {render_version} ({report.skipped} other message(s) left alone)")
    for partition, count in sorted(report.per_partition.items()):
        console.print(f"  partition {partition}: {count}")
    for name, count in sorted(report.per_project.items()):
        console.print(f"  project {name}: {count}")


@app.command()
def demo(
    scenes: int = typer.Option(4, min=1, max=24, help="Scenes in the sample storyboard."),
    keep_running: bool = typer.Option(False, help="Leave the local broker running afterwards."),
    audio: bool = typer.Option(True, "--audio/--no-audio", help="Also narrate the storyboard and score it with music (--no-audio: images only)."),
) -> None:
    """Run the main job end to end on the embedded defaults and show its result: the storyboard's
    images, then (unless --no-audio) a narration per scene and the music, through an audio agent."""
    from media_stream.demo import run_demo

    raise typer.Exit(run_demo(get_settings(), scenes=scenes, keep_running=keep_running, console=console, audio=audio))


@app.command()
def styles(
    previews: bool = typer.Option(False, "--previews", help="Render each style's preview with the configured backend (once per backend version; cached in storage) and print where it is."),
) -> None:
    """The image styles a request may name."""
    from rich.table import Column

    from media_stream.domain.styles import IMAGE_STYLES

    if previews:
        _style_previews()
        return

    table = Table("category", "premium", "steps / cfg", "prompt template", "negative prompt", "LoRA")
    table.columns.insert(0, Column("label", no_wrap=True))
    table.columns.insert(0, Column("style", no_wrap=True))
    for style in IMAGE_STYLES.values():
        table.add_row(
            style.name, style.label, style.category, "yes" if style.is_premium else "no",
            f"{style.default_steps} / {style.default_guidance:g}", style.prompt_template, style.negative_prompt,
            style.lora.model if style.lora else "-",
        )
    console.print(table)


def _style_previews() -> None:
    from media_stream import __version__
    from media_stream.domain.styles import IMAGE_STYLES
    from media_stream.render.registry import image_renderer
    from media_stream.render.style_previews import StylePreviews
    from media_stream.storage.factory import object_store

    settings = get_settings()
    renderer = image_renderer(settings.worker)
    renderer.load()
    cache = StylePreviews(renderer, object_store(settings.storage), f"{renderer.name}-{__version__}")
    for name in IMAGE_STYLES:
        shown = cache.preview(name)
        console.print(f"{name:14} {'rendered' if shown.rendered else 'cached  '}  {shown.url}")


@app.command()
def voices(as_json: bool = typer.Option(False, "--json", help="JSON (as GET /api/v1/audio/voices answers) instead of a table.")) -> None:
    """The narration voices a request may name, what each backend speaks them with, and whether
    each is distinct there ("= X": sounds like voice X; its outcome then lists voice in notApplied)."""
    from media_stream.domain.voices import VOICE_CATALOG, catalog_listing, catalog_renditions

    if as_json:
        print(json.dumps(catalog_listing(), indent=2))
        return
    shown = catalog_renditions()
    table = Table("voice", "language", "gender", "espeak voice (wpm)", "espeak distinct", "coqui model [speaker]", "coqui distinct")
    for v in VOICE_CATALOG.values():
        espeak, coqui = shown["espeak"][v.voice_id], shown["coqui"][v.voice_id]
        table.add_row(
            v.voice_id, v.language, v.gender, f"{v.espeak_voice} ({v.espeak_rate})",
            "yes" if espeak.distinct else f"= {espeak.same_as}", coqui.spoken_by, "yes" if coqui.distinct else f"= {coqui.same_as}",
        )
    console.print(table)


@app.command()
def gateway(
    host: Optional[str] = typer.Option(None, help="Listen address (default: gateway.host, 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (default: gateway.port, 8080)."),
    bootstrap: Optional[str] = typer.Option(None, help="Kafka bootstrap servers (default: configured or local dev broker)."),
    log_level: str = typer.Option("INFO"),
) -> None:
    """Serve the REST API (/api/v1/...) over the Kafka topics; tokens from MEDIA_STREAM_GATEWAY__TOKENS."""
    from media_stream.gateway.server import serve

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve(get_settings(), host, port, bootstrap, log_level)


@app.command()
def models(
    bootstrap: Optional[str] = typer.Option(None, help="Kafka bootstrap servers (default: configured or local dev broker)."),
    as_json: bool = typer.Option(False, "--json", help="JSON (as GET /api/v1/models answers) instead of a table."),
) -> None:
    """The backends the running agents loaded: model, device, dtype, memory (the agents topic)."""
    import json

    from media_stream.client.agents import as_json as agent_json
    from media_stream.client.agents import running_agents
    from media_stream.topics.spec import load_topics

    settings = get_settings()
    try:
        agents = running_agents(settings, bootstrap, load_topics(settings.topics_file).name("agents"))
    except MediaStreamError as exc:
        console.print(error_line(exc))
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps({"agents": [agent_json(a) for a in agents]}))
        return
    table = Table("agent", "medium", "role", "backend", "model", "device", "dtype", "memory")
    for agent in agents:
        for b in agent.backends:
            memory = f"{b.memory_bytes / 2**30:.1f} GiB" if b.memory_bytes is not None else "-"
            table.add_row(agent.agent_id, agent.medium, b.role, b.backend, b.model, b.device, b.dtype, memory)
    console.print(table if agents else "no agent has announced itself (is one running?)")


def main() -> None:
    app()



@app.command("rerender")
def rerender(
    asset: str = typer.Argument(..., help="projectId/assetId, or the asset id with --project."),
    project: Optional[str] = typer.Option(None, help="The asset's project."),
    render_version: Optional[int] = typer.Option(None, "--render-version", help="Default: one above every version of its job."),
    wait: bool = typer.Option(False, "--wait", help="Wait for the outcome and print its sha256."),
    timeout: float = typer.Option(300.0, help="Seconds --wait waits without news."),
    bootstrap: Optional[str] = typer.Option(None, help=catalog_cli.BOOTSTRAP_HELP),
) -> None:
    """Publish the asset's exact request again under a new render version."""
    from media_stream.client.sdk import MediaStreamClient

    console = catalog_cli.console
    _fail = catalog_cli._fail
    if project is None:
        project, _, asset = asset.partition("/")
        if not asset:
            raise _fail(ValueError("assetId: give projectId/assetId or --project"))
    with MediaStreamClient(get_settings(), bootstrap) as client:
        try:
            handle = client.rerender(project, asset, render_version)
            console.print(f"rerender of {asset}: job {handle.job_id} version {handle.render_version} published to {handle.topic}")
            if wait:
                outcome = handle.wait(timeout)
                console.print(f"done: {type(outcome).__name__}")
        except MediaStreamError as exc:
            raise _fail(exc, 1 if getattr(exc, "job_id", None) else 2) from exc
        except TimeoutError as exc:
            raise _fail(exc, 1) from exc

