"""`media-stream publish image|storyboard|narration|music`: a request from flags or ``--file``
(JSON or YAML, camelCase or snake_case; flags given win), published through the SDK
(``MediaStreamClient.submit``); prints the jobId (and a narration's estimated duration).

Exit codes: 0 ok; 1 the job failed or was cancelled, or ``--wait`` saw no news in time; 2 bad
input (one line naming the field) or no broker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from media_stream.config import get_settings
from media_stream.terminal import Bootstrap, console, exits_on_errors, fail, notice

publish_app = typer.Typer(help="Publish a request (flags, or --file JSON/YAML); prints the jobId.", no_args_is_help=True)

FILE_HELP = "A JSON or YAML request (camelCase or snake_case fields); flags given win over it."

# The options every publish command has (the request's envelope and how to wait for it).
Project = Annotated[Optional[str], typer.Option(help="The project (the message key).")]
Job = Annotated[Optional[str], typer.Option(help="The jobId (default: generated).")]
RequestFile = Annotated[Optional[Path], typer.Option("--file", help=FILE_HELP)]
Timeout = Annotated[float, typer.Option(help="With --wait: seconds without news before giving up.")]
ImageStyle = Annotated[Optional[str], typer.Option(help="An image style (see `media-stream styles`).")]
Number = Annotated[Optional[int], typer.Option()]


def _wait(outcome: str) -> Any:
    return typer.Option(False, "--wait", help=f"Wait for the {outcome}; exit 1 if the job fails.")


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
        raise fail(f"file: cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise fail(f"file: {path} must hold one request object")
    return _camelize(data)


def _merge(base: dict[str, Any], **flags: Any) -> dict[str, Any]:
    """File fields, overridden by the flags that were given (not None), as camelCase."""
    merged = dict(base)
    merged.update({_camel(k): v for k, v in flags.items() if v is not None})
    return merged


def _publish(cls: type, record: dict[str, Any], bootstrap: Optional[str], wait: bool, timeout: float) -> None:
    """Build, validate and submit; with ``wait``, wait for the outcome (errors: ``exits_on_errors``)."""
    from media_stream.client.sdk import MediaStreamClient, new_id
    from media_stream.domain.records import from_record

    record.setdefault("jobId", new_id("job"))
    record.setdefault("requestId", new_id("req"))
    if not record.get("projectId"):
        raise fail("projectId: must be given (--project or in --file)")
    try:
        request = from_record(cls, record)
        request.validate()
    except (TypeError, ValueError, AttributeError) as exc:
        raise fail(f"file: not a {cls.__name__}: {exc}") from exc
    with MediaStreamClient(get_settings(), bootstrap) as client:
        handle = client.submit(request)
        line = f"{handle.job_id}"
        if handle.estimated_duration_s is not None:
            line += f"  estimated duration {handle.estimated_duration_s:.1f} s"
        typer.echo(line)
        if wait:
            outcome = handle.wait(timeout, on_notice=notice)
            console.print(f"{handle.job_id} {type(outcome).__name__}")


@publish_app.command("image")
@exits_on_errors
def publish_image(
    project: Project = None,
    prompt: Optional[str] = typer.Option(None, help="What to draw."),
    style: ImageStyle = None,
    negative_prompt: Optional[str] = typer.Option(None),
    width: Number = None,
    height: Number = None,
    steps: Number = None,
    seed: Number = None,
    job: Job = None,
    file: RequestFile = None,
    wait: bool = _wait("outcome"),
    timeout: Timeout = 300.0,
    bootstrap: Bootstrap = None,
) -> None:
    """Publish an ImageRequested."""
    from media_stream.domain.requests import ImageRequested

    record = _merge(_read_file(file), project_id=project, prompt=prompt, style=style, negative_prompt=negative_prompt, width=width, height=height, steps=steps, seed=seed, job_id=job)
    _publish(ImageRequested, record, bootstrap, wait, timeout)


@publish_app.command("storyboard")
@exits_on_errors
def publish_storyboard(
    project: Project = None,
    scene: Optional[list[str]] = typer.Option(None, "--scene", help="A scene prompt; repeat per scene (ids s0, s1, ...)."),
    style: ImageStyle = None,
    width: Number = None,
    height: Number = None,
    steps: Number = None,
    seed: Number = None,
    job: Job = None,
    file: RequestFile = None,
    wait: bool = _wait("BatchCompleted"),
    timeout: Timeout = 300.0,
    bootstrap: Bootstrap = None,
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
@exits_on_errors
def publish_narration(
    project: Project = None,
    text: Optional[str] = typer.Option(None, help="What to say."),
    voice: Optional[str] = typer.Option(None, help="A voice (see `media-stream voices`)."),
    speed: Optional[float] = typer.Option(None),
    pitch: Optional[float] = typer.Option(None),
    emotion: Optional[str] = typer.Option(None),
    job: Job = None,
    file: RequestFile = None,
    wait: bool = _wait("AudioReady"),
    timeout: Timeout = 300.0,
    bootstrap: Bootstrap = None,
) -> None:
    """Publish a NarrationRequested; prints the jobId and the estimated duration."""
    from media_stream.domain.requests import NarrationRequested

    record = _merge(_read_file(file), project_id=project, text=text, voice=voice, speed=speed, pitch=pitch, emotion=emotion, job_id=job)
    _publish(NarrationRequested, record, bootstrap, wait, timeout)


@publish_app.command("music")
@exits_on_errors
def publish_music(
    project: Project = None,
    duration: Optional[float] = typer.Option(None, help="Seconds of music."),
    style: Optional[str] = typer.Option(None, help="A music style."),
    tempo: Number = None,
    intensity: Optional[float] = typer.Option(None),
    job: Job = None,
    file: RequestFile = None,
    wait: bool = _wait("AudioReady"),
    timeout: Timeout = 300.0,
    bootstrap: Bootstrap = None,
) -> None:
    """Publish a MusicRequested."""
    from media_stream.domain.requests import MusicRequested

    record = _merge(_read_file(file), project_id=project, duration_seconds=duration, style=style, tempo=tempo, intensity=intensity, job_id=job)
    _publish(MusicRequested, record, bootstrap, wait, timeout)
