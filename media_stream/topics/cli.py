"""`media-stream topics ...`: apply topics.yaml to the cluster, describe live against declared."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from media_stream.config import Settings, get_settings
from media_stream.domain.errors import MediaStreamError
from media_stream.kafka.config import bootstrap_is_local_dev
from media_stream.terminal import Bootstrap, error_line, make_console, styled

topics_app = typer.Typer(help="Topics as code: topics.yaml applied to the cluster.", no_args_is_help=True)
console = make_console()

PROFILE_HELP = "Profile of topics.yaml (e.g. local for a single-node broker). Default: MEDIA_STREAM_TOPICS_PROFILE, or local when talking to the local dev broker."


def _profile(settings: Settings, profile: str | None, bootstrap: str | None) -> str | None:
    if profile is not None:
        return profile
    if settings.topics_profile is not None:
        return settings.topics_profile
    return "local" if bootstrap is None and bootstrap_is_local_dev(settings) else None


@topics_app.command()
def apply(
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the diff, change nothing."),
    profile: Optional[str] = typer.Option(None, help=PROFILE_HELP),
    bootstrap: Bootstrap = None,
    allow_cleanup_policy_change: bool = typer.Option(False, help="Let apply change a topic's cleanup.policy (it can delete or keep data)."),
) -> None:
    """Create missing topics, raise partition counts, alter configs; print the diff."""
    from media_stream.topics.apply import apply_topics

    settings = get_settings()
    try:
        result = apply_topics(settings, _profile(settings, profile, bootstrap), bootstrap, dry_run, allow_cleanup_policy_change)
    except MediaStreamError as exc:
        console.print(error_line(exc))
        raise typer.Exit(1) from exc
    for line in result.plan.lines():
        console.print(line)
    console.print(result.summary)
    if dry_run and result.plan.refusals:
        raise typer.Exit(1)


@topics_app.command()
def describe(
    profile: Optional[str] = typer.Option(None, help=PROFILE_HELP),
    bootstrap: Bootstrap = None,
) -> None:
    """Each declared topic: declared and live partitions, replication, cleanup policy, differences."""
    from media_stream.topics.apply import describe_topics

    settings = get_settings()
    try:
        rows = describe_topics(settings, _profile(settings, profile, bootstrap), bootstrap)
    except MediaStreamError as exc:
        console.print(error_line(exc))
        raise typer.Exit(1) from exc
    table = Table("topic", "role", "partitions", "rf", "cleanup", "live vs declared")
    for row in rows:
        live = row.live
        table.add_row(
            row.spec.name,
            row.spec.role,
            f"{live.partitions if live else '-'} / {row.spec.partitions}",
            f"{live.replication_factor if live else '-'} / {row.spec.replication_factor}",
            f"{live.config.get('cleanup.policy', '-') if live else '-'} / {row.spec.cleanup_policy}",
            "; ".join(row.differences) or styled("matches", "green"),
        )
    console.print(table)
    console.print("columns show live / declared")


@topics_app.command()
def render(
    fmt: str = typer.Option("strimzi", "--format", help="Output format: strimzi (KafkaTopic resources) or strimzi-users (KafkaUser resources with ACLs)."),
    profile: Optional[str] = typer.Option(None, help="Profile of topics.yaml to render (default: the file's defaults)."),
    cluster: str = typer.Option("media-stream", help="The Strimzi Kafka cluster the topics belong to (strimzi.io/cluster label)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
) -> None:
    """Render topics.yaml as Kubernetes resources (deploy/k8s/base/kafka/topics.generated.yaml;
    --format strimzi-users: deploy/k8s/overlays/production/kafka-users.generated.yaml)."""
    from media_stream.topics.render import FORMATS
    from media_stream.topics.render import render as render_topics
    from media_stream.topics.spec import load_topics

    if fmt not in FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})", param_hint="--format")
    settings = get_settings()
    try:
        text = render_topics(load_topics(settings.topics_file, profile), fmt, cluster)
    except MediaStreamError as exc:
        console.print(error_line(exc))
        raise typer.Exit(1) from exc
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
