"""Catalog commands of `media-stream` (mounted from media_stream.cli): `catalog run`, `assets`,
`rate`, `quality`, `forget-project` (`rerender` is a job command: media_stream/cli.py).

Exit codes: 0 ok; 1 nothing found (an unknown asset); 2 bad input (one line naming the field),
missing configuration, or no broker.
"""

from __future__ import annotations

import json
import signal
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from media_stream.config import get_settings
from media_stream.domain.errors import MediaStreamError

console = Console(soft_wrap=True)
catalog_app = typer.Typer(help="The asset catalog processor.", no_args_is_help=True)
BOOTSTRAP_HELP = "Kafka bootstrap servers (default: configured or local dev broker)."


def _fail(exc: Exception, code: int = 2) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}", highlight=False)
    return typer.Exit(code)


def _client(bootstrap: Optional[str]) -> Any:
    from media_stream.catalog.client import CatalogClient

    return CatalogClient(get_settings(), bootstrap)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@catalog_app.command("run")
def run(bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP), log_level: str = typer.Option("INFO")) -> None:
    """Fold every ImageReady and AudioReady into the assets topic (exactly once) until SIGTERM."""
    from media_stream.catalog.processor import CatalogProcessor
    from media_stream.catalog.topics import CatalogTopics
    from media_stream.observability.logging_setup import configure_logging

    settings = get_settings()
    configure_logging(settings.observability.log_format, log_level)
    try:
        processor = CatalogProcessor(settings, CatalogTopics.resolve(settings), bootstrap)
    except MediaStreamError as exc:
        raise _fail(exc) from exc
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: processor.stopping.set())
    try:
        server = _health_server(settings, processor)
    except OSError as exc:  # the port is taken: say so, leave the group cleanly
        processor.close()
        raise _fail(OSError(f"observability.port {settings.observability.port}: {exc}")) from exc
    try:
        processor.run()
    finally:
        if server is not None:
            server.stop()
    console.print(f"catalog processor stopped after {processor.folded} entries, {processor.dead_lettered} dead letters")


def _health_server(settings: Any, processor: Any) -> Any:
    """/metrics, /healthz/live and /healthz/ready on ``observability.host:port``, as the agents
    serve them; port 0: none."""
    from media_stream.observability.health_server import HealthServer

    obs = settings.observability
    return HealthServer(processor.health, processor.metrics.registry, obs.host, obs.port).start() if obs.port else None


def assets(
    project: str = typer.Argument(..., help="The project."),
    version: Optional[int] = typer.Option(None, "--version", help="Only this render version."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array of catalog entries (camelCase, the Avro fields)."),
    bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP),
) -> None:
    """A project's assets with their lineage (latest entry per asset and render version)."""
    from media_stream.domain.records import to_record

    client = _client(bootstrap)
    try:
        found = client.assets(project, version)
    except MediaStreamError as exc:
        raise _fail(exc) from exc
    finally:
        client.close()
    if as_json:
        typer.echo(json.dumps([to_record(e) for e in found], default=str, ensure_ascii=False))
        return
    table = Table(title=f"assets of {project}" + (f" (version {version})" if version else ""))
    table.add_column("asset", no_wrap=True)  # what `rate` and `rerender` take: never cut
    for column in ("kind", "v", "model", "style", "seed", "sha256", "replay of", "storage key"):
        table.add_column(column, overflow="fold")
    for e in found:
        table.add_row(e.asset_id, e.kind, str(e.render_version), e.model, e.style or "-", "-" if e.seed is None else str(e.seed),
                      e.sha256[:12], e.replay_of or "-", e.storage_key)  # fmt: skip
    console.print(table)
    console.print(f"{len(found)} asset(s)")


def rate(
    project: str = typer.Argument(..., help="The project."),
    asset: str = typer.Argument(..., help="The asset id (jobId:part:vN, as `media-stream assets` lists it)."),
    rating: int = typer.Argument(..., help="1..5."),
    rater: str = typer.Option(..., "--rater", help="Who rates; stored as a keyed hash."),
    comment: Optional[str] = typer.Option(None, help="Optional comment."),
    bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP),
) -> None:
    """Rate an asset 1..5 (an AssetRated on the ratings topic)."""
    client = _client(bootstrap)
    try:
        event = client.rate(project, asset, rating, rater, comment)
    except MediaStreamError as exc:
        raise _fail(exc) from exc
    finally:
        client.close()
    console.print(f"rated {event.asset_id} {event.rating}/5 (rater {event.rater_id[:12]}...)")


def quality(
    project: Optional[str] = typer.Option(None, help="Consistency of this project only."),
    as_json: bool = typer.Option(False, "--json", help="{quality: [...], consistency: [...]} as JSON."),
    bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP),
) -> None:
    """Ratings (mean, count, share >= 4; today, this week, all time) per style, backend, model and
    render version against the target (> 4/5); image consistency against its target (> 90% pass)."""
    client = _client(bootstrap)
    try:
        lines = client.quality()
        rollup = client.consistency(project)
    except MediaStreamError as exc:
        raise _fail(exc) from exc
    finally:
        client.close()
    if as_json:
        typer.echo(json.dumps({"quality": [q.as_dict() for q in lines], "consistency": [c.as_dict() for c in rollup]}))
        return
    table = Table(title="quality (target: mean > 4/5)")
    for column in ("dimension", "value", "window", "count", "mean", ">= 4", "target"):
        table.add_column(column)
    for q in lines:
        table.add_row(q.dimension, q.value, q.window, str(q.count), _num(q.mean), _pct(q.share_high),
                      "[green]met[/green]" if q.meets_target else ("-" if q.count == 0 else "[red]not met[/red]"))  # fmt: skip
    console.print(table)
    table = Table(title="character consistency (target: > 90% of images at or above the threshold)")
    for column in ("dimension", "value", "scored", "passed", "share", "mean score", "threshold", "target"):
        table.add_column(column)
    for c in rollup:
        table.add_row(c.dimension, c.value, str(c.scored), str(c.passed), _pct(c.share_passed), _num(c.mean_score, 3),
                      _num(c.threshold), "[green]met[/green]" if c.meets_target else "[red]not met[/red]")  # fmt: skip
    console.print(table)


def forget_project(
    project: str = typer.Argument(..., help="The project to forget."),
    yes: bool = typer.Option(False, "--yes", help="Do it without asking."),
    bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP),
) -> None:
    """Delete a project's catalog and ratings (tombstones on the compacted topics) and its stored files."""
    if not yes and not typer.confirm(f"forget project {project}: its catalog, ratings and files?"):
        raise typer.Exit(1)
    client = _client(bootstrap)
    try:
        report = client.forget_project(project)
    except MediaStreamError as exc:
        raise _fail(exc) from exc
    finally:
        client.close()
    console.print(f"forgot {project}: {report.assets} catalog entries, {report.ratings} ratings, {report.files} files")
