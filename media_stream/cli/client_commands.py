"""Client commands of `media-stream`: publish, watch, reset-group (mounted from media_stream.cli).

Exit codes: 0 ok; 1 a job failed or was cancelled (``--wait``, ``watch --job``); 2 bad input
(one line naming the field) or no broker.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import typer
from rich.text import Text

from media_stream.config import get_settings
from media_stream.domain.errors import MediaStreamError, ValidationError
from media_stream.terminal import error_line, make_console

console = make_console(soft_wrap=True)
errors = make_console(soft_wrap=True, stderr=True)
publish_app = typer.Typer(help="Publish a request (flags, or --file JSON/YAML); prints the jobId.", no_args_is_help=True)

FILE_HELP = "A JSON or YAML request (camelCase or snake_case fields); flags given win over it."
BOOTSTRAP_HELP = "Kafka bootstrap servers (default: configured or local dev broker)."


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(error_line(message))
    return typer.Exit(code)


def _notice(message: str) -> None:
    """A word while waiting (no agent consuming the request topic): on stderr, the wait goes on."""
    errors.print(Text.assemble(("note:", "yellow"), " ", message))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camelize(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel(str(k)): _camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camelize(v) for v in value]
    return value


def _read_file(path: Optional[Path]) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml

    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise _fail(f"file: cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail(f"file: {path} must hold one request object")
    return _camelize(data)


def _merge(base: dict[str, Any], **flags: Any) -> dict[str, Any]:
    """File fields, overridden by the flags that were given (not None), as camelCase."""
    merged = dict(base)
    merged.update({_camel(k): v for k, v in flags.items() if v is not None})
    return merged


def _publish(cls: type, record: dict[str, Any], bootstrap: Optional[str], wait: bool, timeout: float) -> None:
    from media_stream.client.sdk import JobFailedError, MediaStreamClient, new_id
    from media_stream.domain.records import from_record

    record.setdefault("jobId", new_id("job"))
    record.setdefault("requestId", new_id("req"))
    if not record.get("projectId"):
        raise _fail("projectId: must be given (--project or in --file)")
    try:
        request = from_record(cls, record)
        request.validate()
    except ValidationError as exc:
        raise _fail(str(exc)) from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise _fail(f"file: not a {cls.__name__}: {exc}") from exc
    try:
        with MediaStreamClient(get_settings(), bootstrap) as client:
            handle = client.submit(request)
            line = f"{handle.job_id}"
            if handle.estimated_duration_s is not None:
                line += f"  estimated duration {handle.estimated_duration_s:.1f} s"
            typer.echo(line)
            if wait:
                outcome = handle.wait(timeout, on_notice=_notice)
                console.print(f"{handle.job_id} {type(outcome).__name__}")
    except JobFailedError as exc:
        raise _fail(str(exc), 1) from exc
    except TimeoutError as exc:
        raise _fail(str(exc), 1) from exc
    except ValidationError as exc:
        raise _fail(str(exc)) from exc
    except MediaStreamError as exc:
        raise _fail(str(exc)) from exc


@publish_app.command("image")
def publish_image(
    project: Optional[str] = typer.Option(None, help="The project (the message key)."),
    prompt: Optional[str] = typer.Option(None, help="What to draw."),
    style: Optional[str] = typer.Option(None, help="An image style (see `media-stream styles`)."),
    negative_prompt: Optional[str] = typer.Option(None),
    width: Optional[int] = typer.Option(None),
    height: Optional[int] = typer.Option(None),
    steps: Optional[int] = typer.Option(None),
    seed: Optional[int] = typer.Option(None),
    job: Optional[str] = typer.Option(None, help="The jobId (default: generated)."),
    file: Optional[Path] = typer.Option(None, "--file", help=FILE_HELP),
    wait: bool = typer.Option(False, "--wait", help="Wait for the outcome; exit 1 if the job fails."),
    timeout: float = typer.Option(300.0, help="With --wait: seconds without news before giving up."),
    bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP),
) -> None:
    """Publish an ImageRequested."""
    from media_stream.domain.requests import ImageRequested

    record = _merge(_read_file(file), project_id=project, prompt=prompt, style=style, negative_prompt=negative_prompt, width=width, height=height, steps=steps, seed=seed, job_id=job)
    _publish(ImageRequested, record, bootstrap, wait, timeout)


@publish_app.command("storyboard")
def publish_storyboard(
    project: Optional[str] = typer.Option(None, help="The project (the message key)."),
    scene: Optional[list[str]] = typer.Option(None, "--scene", help="A scene prompt; repeat per scene (ids s0, s1, ...)."),
    style: Optional[str] = typer.Option(None, help="An image style (see `media-stream styles`)."),
    width: Optional[int] = typer.Option(None),
    height: Optional[int] = typer.Option(None),
    steps: Optional[int] = typer.Option(None),
    seed: Optional[int] = typer.Option(None),
    job: Optional[str] = typer.Option(None, help="The jobId (default: generated)."),
    file: Optional[Path] = typer.Option(None, "--file", help=FILE_HELP),
    wait: bool = typer.Option(False, "--wait", help="Wait for the BatchCompleted; exit 1 if the job fails."),
    timeout: float = typer.Option(300.0, help="With --wait: seconds without news before giving up."),
    bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP),
) -> None:
    """Publish a StoryboardRequested."""
    from media_stream.domain.requests import StoryboardRequested

    record = _merge(_read_file(file), project_id=project, job_id=job)
    if scene:
        record["scenes"] = [{"sceneId": f"s{i}", "prompt": p} for i, p in enumerate(scene)]
    config = dict(record.get("styleConfig") or {})
    config.update({k: v for k, v in {"style": style, "width": width, "height": height, "steps": steps, "seed": seed}.items() if v is not None})
    if config:
        record["styleConfig"] = config
    _publish(StoryboardRequested, record, bootstrap, wait, timeout)


@publish_app.command("narration")
def publish_narration(
    project: Optional[str] = typer.Option(None, help="The project (the message key)."),
    text: Optional[str] = typer.Option(None, help="What to say."),
    voice: Optional[str] = typer.Option(None, help="A voice (see `media-stream voices`)."),
    speed: Optional[float] = typer.Option(None),
    pitch: Optional[float] = typer.Option(None),
    emotion: Optional[str] = typer.Option(None),
    job: Optional[str] = typer.Option(None, help="The jobId (default: generated)."),
    file: Optional[Path] = typer.Option(None, "--file", help=FILE_HELP),
    wait: bool = typer.Option(False, "--wait", help="Wait for the AudioReady; exit 1 if the job fails."),
    timeout: float = typer.Option(300.0, help="With --wait: seconds without news before giving up."),
    bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP),
) -> None:
    """Publish a NarrationRequested; prints the jobId and the estimated duration."""
    from media_stream.domain.requests import NarrationRequested

    record = _merge(_read_file(file), project_id=project, text=text, voice=voice, speed=speed, pitch=pitch, emotion=emotion, job_id=job)
    _publish(NarrationRequested, record, bootstrap, wait, timeout)


@publish_app.command("music")
def publish_music(
    project: Optional[str] = typer.Option(None, help="The project (the message key)."),
    duration: Optional[float] = typer.Option(None, help="Seconds of music."),
    style: Optional[str] = typer.Option(None, help="A music style."),
    tempo: Optional[int] = typer.Option(None),
    intensity: Optional[float] = typer.Option(None),
    job: Optional[str] = typer.Option(None, help="The jobId (default: generated)."),
    file: Optional[Path] = typer.Option(None, "--file", help=FILE_HELP),
    wait: bool = typer.Option(False, "--wait", help="Wait for the AudioReady; exit 1 if the job fails."),
    timeout: float = typer.Option(300.0, help="With --wait: seconds without news before giving up."),
    bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP),
) -> None:
    """Publish a MusicRequested."""
    from media_stream.domain.requests import MusicRequested

    record = _merge(_read_file(file), project_id=project, duration_seconds=duration, style=style, tempo=tempo, intensity=intensity, job_id=job)
    _publish(MusicRequested, record, bootstrap, wait, timeout)


def watch(
    project: Optional[str] = typer.Option(None, help="Only this project's jobs."),
    job: Optional[str] = typer.Option(None, help="Only this job; exits when it ends (1 if it failed)."),
    timeout: float = typer.Option(300.0, help="Stop after this many seconds with nothing new."),
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Read the outcome topics from their start, not from now."),
    bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP),
) -> None:
    """Live progress of jobs: a bar per job, each ready asset as it arrives. A job has ended by the
    one job-end rule (media_stream.client.job_end): its terminal status and event, and every image
    that event lists. Says within seconds when no agent consumes a request topic."""
    from rich.progress import BarColumn, Progress, TextColumn

    from media_stream.client.job_end import JobEnd
    from media_stream.client.listeners import ListenerCheck
    from media_stream.client.sdk import MediaStreamClient
    from media_stream.domain import outcomes

    bars: dict[str, Any] = {}
    ends: dict[str, JobEnd] = {}
    try:
        with MediaStreamClient(get_settings(), bootstrap) as client, Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), TextColumn("{task.percentage:>3.0f}% {task.fields[status]}", markup=False),
            console=console, transient=False,
        ) as progress:  # fmt: skip
            requests = {medium: client._topics_for([f"{medium}_requests"]) for medium in ("image", "audio")}
            checks = [ListenerCheck(client.settings, client.bootstrap, medium, topics[0]) for medium, topics in requests.items() if topics]

            def bar(event: Any) -> Any:
                if event.job_id not in bars:
                    bars[event.job_id] = progress.add_task(f"{event.project_id}/{event.job_id}", total=1.0, status="")
                return bars[event.job_id]

            def idle() -> None:
                for check in checks:
                    notice = check.notice()
                    if notice:
                        errors.print(Text.assemble(("note:", "yellow"), " ", notice))

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
    except MediaStreamError as exc:
        raise _fail(str(exc)) from exc
    if job:
        ended = ends.get(job)
        if ended is None or not ended.ended:
            raise _fail(f"job {job}: no end seen within {timeout:g}s of silence", 1)
        if ended.final_status != "completed":
            raise typer.Exit(1)


def _parse_time(name: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(re.sub(r"Z$", "+00:00", value))
    except ValueError as exc:
        raise _fail(f"{name}: {value!r} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def reset_group(
    group: str = typer.Argument(..., help="The consumer group (its members must be stopped)."),
    to: str = typer.Option(..., "--to", help="ISO 8601 time: the group resumes at the first message at or after it."),
    topic: Optional[str] = typer.Option(None, help="The topic (default: the image requests topic)."),
    role: str = typer.Option("image_requests", help="The topic by its role in topics.yaml, when --topic is not given."),
    bootstrap: Optional[str] = typer.Option(None, help=BOOTSTRAP_HELP),
) -> None:
    """Move a stopped consumer group's offsets to a point in time (refused while it has members)."""
    from media_stream.kafka.group_reset import reset_group_to_time
    from media_stream.topics.spec import load_topics

    when = _parse_time("to", to)
    settings = get_settings()
    try:
        name = topic or load_topics(settings.topics_file).name(role)
        offsets = reset_group_to_time(settings, group, name, int(when.timestamp() * 1000), bootstrap)
    except MediaStreamError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"group {group} on {name} reset to {when.isoformat()}", highlight=False)
    for partition, offset in sorted(offsets.items()):
        console.print(f"  partition {partition}: offset {offset}", highlight=False)
