"""The job commands of `media-stream`, each through the SDK (``MediaStreamClient``): status,
cancel, watch, rerender, and the operator's replay and reset-group (topics by role from the
client's resolver). ``publish`` is in ``publish.py``.

Exit codes: 0 ok; 1 a job failed or was cancelled (``--wait``, ``watch --job``), no status for
the job, or no end seen in time; 2 bad input (one line naming the field) or no broker.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Optional

import typer

from media_stream.config import get_settings
from media_stream.terminal import Bootstrap, console, exits_on_errors, fail, notice


def _client(bootstrap: Optional[str]) -> Any:
    from media_stream.client.sdk import MediaStreamClient

    return MediaStreamClient(get_settings(), bootstrap)


@exits_on_errors
def status(
    job_id: str = typer.Argument(..., help="The job to look up."),
    bootstrap: Bootstrap = None,
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of a table."),
) -> None:
    """A job's latest status from the materialized job-status view (caught up, then looked up)."""
    with _client(bootstrap) as client:
        row, lookup_ms = client.lookup_status(job_id)
    if row is None:
        console.print(f"no status for job {job_id!r}")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({**row.__dict__, "lookup_ms": round(lookup_ms, 3)}))
        return
    console.print(f"{row.job_id}  {row.status}  progress {row.progress:.0%}  project {row.project_id}" + (f"  error: {row.error}" if row.error else ""))
    console.print(f"(looked up in {lookup_ms:.2f} ms)")


@exits_on_errors
def cancel(
    job_id: str = typer.Argument(..., help="The job to cancel."),
    project: str = typer.Option(..., help="The job's project (the message key)."),
    reason: str = typer.Option("", help="Why; carried in the job's cancelled status."),
    bootstrap: Bootstrap = None,
) -> None:
    """Publish a CancelRequested on the control topic: a queued job is dropped, a running one stops after its scene."""
    with _client(bootstrap) as client:
        topic = client.cancel(job_id, project, reason)
    console.print(f"cancel for job {job_id} published to {topic}")


@exits_on_errors
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
    bootstrap: Bootstrap = None,
) -> None:
    """Re-publish request events with a new render version and `replay-of` lineage headers."""
    from media_stream.client.replay import replay as run_replay

    with _client(bootstrap) as client:
        topic = topic_name or client.topic(role)
        report = run_replay(client.settings, topic, render_version, bootstrap, since, until, project, job, dry_run, partition, from_offset, to_offset)
    verb = "would replay" if dry_run else "replayed"
    console.print(f"{verb} {report.selected} request(s) from {topic} as renderVersion {render_version} ({report.skipped} other message(s) left alone)")
    for number, count in sorted(report.per_partition.items()):
        console.print(f"  partition {number}: {count}")
    for name, count in sorted(report.per_project.items()):
        console.print(f"  project {name}: {count}")


@exits_on_errors
def rerender(
    asset: str = typer.Argument(..., help="projectId/assetId, or the asset id with --project."),
    project: Optional[str] = typer.Option(None, help="The asset's project."),
    render_version: Optional[int] = typer.Option(None, "--render-version", help="Default: one above every version of its job."),
    wait: bool = typer.Option(False, "--wait", help="Wait for the outcome and print its sha256."),
    timeout: float = typer.Option(300.0, help="Seconds --wait waits without news."),
    bootstrap: Bootstrap = None,
) -> None:
    """Publish the asset's exact request again under a new render version."""
    if project is None:
        project, _, asset = asset.partition("/")
        if not asset:
            raise fail("assetId: give projectId/assetId or --project")
    with _client(bootstrap) as client:
        handle = client.rerender(project, asset, render_version)
        console.print(f"rerender of {asset}: job {handle.job_id} version {handle.render_version} published to {handle.topic}")
        if wait:
            outcome = handle.wait(timeout)
            console.print(f"done: {type(outcome).__name__}")


@exits_on_errors
def watch(
    project: Optional[str] = typer.Option(None, help="Only this project's jobs."),
    job: Optional[str] = typer.Option(None, help="Only this job; exits when it ends (1 if it failed)."),
    timeout: float = typer.Option(300.0, help="Stop after this many seconds with nothing new."),
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Read the outcome topics from their start, not from now."),
    bootstrap: Bootstrap = None,
) -> None:
    """Live progress of jobs: a bar per job, each ready asset as it arrives. A job has ended by the
    one job-end rule (media_stream.client.job_end): its terminal status and event, and every image
    that event lists. Says within seconds when no agent consumes a request topic."""
    from rich.progress import BarColumn, Progress, TextColumn

    from media_stream.client.job_end import JobEnd
    from media_stream.client.listeners import ListenerCheck
    from media_stream.domain import outcomes

    bars: dict[str, Any] = {}
    ends: dict[str, JobEnd] = {}
    with _client(bootstrap) as client, Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), TextColumn("{task.percentage:>3.0f}% {task.fields[status]}", markup=False),
        console=console, transient=False,
    ) as progress:  # fmt: skip
        requests = {medium: client.topics.names([f"{medium}_requests"]) for medium in ("image", "audio")}
        checks = [ListenerCheck(client.settings, client.bootstrap, medium, topics[0]) for medium, topics in requests.items() if topics]

        def bar(event: Any) -> Any:
            if event.job_id not in bars:
                bars[event.job_id] = progress.add_task(f"{event.project_id}/{event.job_id}", total=1.0, status="")
            return bars[event.job_id]

        def idle() -> None:
            for check in checks:
                said = check.notice()
                if said:
                    notice(said)

        for _topic, event in client.subscribe(None, project=project, job=job, from_beginning=from_beginning, timeout_s=timeout, on_idle=idle):
            end = ends.setdefault(event.job_id, JobEnd(event.job_id)) if getattr(event, "job_id", None) else None
            if end is not None:
                end.see(event)
            if isinstance(event, outcomes.JobStatusChanged):
                progress.update(bar(event), completed=event.progress if event.status != "completed" else 1.0, status=event.status + (f" ({event.error})" if event.error else ""))
            elif isinstance(event, outcomes.ImageReady):
                bar(event)
                progress.console.print(f"ready  {event.job_id} {event.scene_id} v{event.render_version}  {event.url}")
            elif isinstance(event, outcomes.AudioReady):
                bar(event)
                progress.console.print(f"ready  {event.job_id} {event.kind} {event.duration_seconds:.1f}s v{event.render_version}  {event.url}")
            elif isinstance(event, outcomes.BatchCompleted):
                progress.console.print(f"done   {event.job_id}: {event.total_images} image(s), {len(event.failures)} failure(s)")
            elif isinstance(event, outcomes.JobFailed):
                progress.console.print(f"failed {event.job_id}: {event.reason}")
            if job and job in ends and ends[job].ended:
                break
    if job:
        ended = ends.get(job)
        if ended is None or not ended.ended:
            raise fail(f"job {job}: no end seen within {timeout:g}s of silence", 1)
        if ended.final_status != "completed":
            raise typer.Exit(1)


def _parse_time(name: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(re.sub(r"Z$", "+00:00", value))
    except ValueError as exc:
        raise fail(f"{name}: {value!r} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@exits_on_errors
def reset_group(
    group: str = typer.Argument(..., help="The consumer group (its members must be stopped)."),
    to: str = typer.Option(..., "--to", help="ISO 8601 time: the group resumes at the first message at or after it."),
    topic: Optional[str] = typer.Option(None, help="The topic (default: the image requests topic)."),
    role: str = typer.Option("image_requests", help="The topic by its role in topics.yaml, when --topic is not given."),
    bootstrap: Bootstrap = None,
) -> None:
    """Move a stopped consumer group's offsets to a point in time (refused while it has members)."""
    from media_stream.kafka.group_reset import reset_group_to_time

    when = _parse_time("to", to)
    with _client(bootstrap) as client:
        name = topic or client.topic(role)
        offsets = reset_group_to_time(client.settings, group, name, int(when.timestamp() * 1000), bootstrap)
    console.print(f"group {group} on {name} reset to {when.isoformat()}", highlight=False)
    for partition, offset in sorted(offsets.items()):
        console.print(f"  partition {partition}: offset {offset}", highlight=False)
