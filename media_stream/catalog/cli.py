"""Catalog commands of `media-stream` (mounted from media_stream.cli): `catalog run`, `assets`,
`rate`, `quality`, `forget-project` (`rerender` is a job command: media_stream/cli/jobs.py).

Exit codes: 0 ok; 1 nothing found (an unknown asset); 2 bad input (one line naming the field),
missing configuration, or no broker.
"""

from __future__ import annotations

import json
import signal
from typing import Any, Optional

import typer
from rich.table import Table

from media_stream.config import get_settings
from media_stream.domain.errors import MediaStreamError
from media_stream.terminal import Bootstrap, console, exits_on_errors, shorten, styled

catalog_app = typer.Typer(help="The asset catalog processor.", no_args_is_help=True)
ASSET_ID_COLUMNS = 40  # longer asset ids fold in the assets table (80 columns); --json has every value whole


def _client(bootstrap: Optional[str]) -> Any:
    from media_stream.catalog.client import CatalogClient

    return CatalogClient(get_settings(), bootstrap)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@catalog_app.command("run")
@exits_on_errors
def run(bootstrap: Bootstrap = None, log_level: str = typer.Option("INFO")) -> None:
    """Fold every ImageReady and AudioReady into the assets topic (exactly once) until SIGTERM."""
    from media_stream.catalog.processor import CatalogProcessor
    from media_stream.catalog.topics import CatalogTopics
    from media_stream.observability.logging_setup import configure_logging

    settings = get_settings()
    configure_logging(settings.observability.log_format, log_level)
    processor = CatalogProcessor(settings, CatalogTopics.resolve(settings), bootstrap)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: processor.stopping.set())
    try:
        server = _health_server(settings, processor)
    except MediaStreamError:  # the port is taken: say so (naming the setting), leave the group cleanly
        processor.close()
        raise
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
    port = obs.port_for("catalog")
    return HealthServer(processor.health, processor.metrics.registry, obs.host, port).start() if port else None


@exits_on_errors
def assets(
    project: str = typer.Argument(..., help="The project."),
    version: Optional[int] = typer.Option(None, "--version", help="Only this render version."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array of catalog entries (camelCase, the Avro fields)."),
    bootstrap: Bootstrap = None,
) -> None:
    """A project's assets with their lineage (latest entry per asset and render version)."""
    from media_stream.domain.records import to_record
    from media_stream.serde.json_values import dumps

    client = _client(bootstrap)
    try:
        found = client.assets(project, version)
    finally:
        client.close()
    if as_json:
        typer.echo(dumps([to_record(e) for e in found], ensure_ascii=False))
        return
    table = Table(title=f"assets of {project}" + (f" (version {version})" if version else ""), box=None, pad_edge=False)
    rows = [(e.asset_id, e.kind, str(e.render_version), "-" if e.seed is None else str(e.seed), e.model, e.sha256[:8]) for e in found]
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(("asset", "kind", "v", "seed", "model", "sha256"))]
    asset_width = min(widths[0], ASSET_ID_COLUMNS)
    # The model takes what is left of the terminal; the asset id (what `rate` and `rerender` take)
    # stays whole on one line when it fits, folded (never cut) when not.
    model_width = max(8, console.width - asset_width - sum(widths[1:4]) - widths[5] - 2 * 5)
    table.add_column("asset", no_wrap=widths[0] <= ASSET_ID_COLUMNS, overflow="fold", min_width=asset_width, max_width=asset_width)
    table.add_column("kind", no_wrap=True)
    table.add_column("v", no_wrap=True, justify="right")
    table.add_column("seed", no_wrap=True)
    table.add_column("model", overflow="ellipsis", no_wrap=True, max_width=model_width)
    table.add_column("sha256", no_wrap=True)
    for row in rows:
        table.add_row(*row[:4], shorten(row[4], model_width), row[5])
    console.print(table, soft_wrap=False)
    if found:
        console.print("storage keys, lineage (replay of), prompts: --json")
    console.print(f"{len(found)} asset(s)")


@exits_on_errors
def rate(
    project: str = typer.Argument(..., help="The project."),
    asset: str = typer.Argument(..., help="The asset id (jobId:part:vN, as `media-stream assets` lists it)."),
    rating: int = typer.Argument(..., help="1..5."),
    rater: str = typer.Option(..., "--rater", help="Who rates; stored as a keyed hash."),
    comment: Optional[str] = typer.Option(None, help="Optional comment."),
    bootstrap: Bootstrap = None,
) -> None:
    """Rate an asset 1..5 (an AssetRated on the ratings topic)."""
    client = _client(bootstrap)
    try:
        event = client.rate(project, asset, rating, rater, comment)
    finally:
        client.close()
    console.print(f"rated {event.asset_id} {event.rating}/5 (rater {event.rater_id[:12]}...)")


@exits_on_errors
def quality(
    project: Optional[str] = typer.Option(None, help="Consistency of this project only."),
    as_json: bool = typer.Option(False, "--json", help="{quality: [...], consistency: [...]} as JSON."),
    bootstrap: Bootstrap = None,
) -> None:
    """Ratings (mean, count, share >= 4; today, this week, all time) per style, backend, model and
    render version against the target (> 4/5); image consistency against its target (> 90% pass)."""
    client = _client(bootstrap)
    try:
        lines = client.quality()
        rollup = client.consistency(project)
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
                      styled("met", "green") if q.meets_target else ("-" if q.count == 0 else styled("not met", "red")))  # fmt: skip
    console.print(table)
    table = Table(title="character consistency (target: > 90% of images at or above the threshold)")
    for column in ("dimension", "value", "scored", "passed", "share", "mean score", "threshold", "target"):
        table.add_column(column)
    for c in rollup:
        table.add_row(c.dimension, c.value, str(c.scored), str(c.passed), _pct(c.share_passed), _num(c.mean_score, 3),
                      _num(c.threshold), styled("met", "green") if c.meets_target else styled("not met", "red"))  # fmt: skip
    console.print(table)


@exits_on_errors
def forget_project(
    project: str = typer.Argument(..., help="The project to forget."),
    yes: bool = typer.Option(False, "--yes", help="Do it without asking."),
    bootstrap: Bootstrap = None,
) -> None:
    """Delete a project's catalog and ratings (tombstones on the compacted topics) and its stored files."""
    if not yes and not typer.confirm(f"forget project {project}: its catalog, ratings and files?"):
        raise typer.Exit(1)
    client = _client(bootstrap)
    try:
        report = client.forget_project(project)
    finally:
        client.close()
    console.print(f"forgot {project}: {report.assets} catalog entries, {report.ratings} ratings, {report.files} files")
