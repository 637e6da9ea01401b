"""The `media-stream` command: typer commands that call the package, nothing more."""

from __future__ import annotations

import logging
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from media_stream.bench.cli import bench_app
from media_stream.config import get_settings
from media_stream.dev.cli import dev_app
from media_stream.domain.errors import MediaStreamError
from media_stream.serde.cli import schemas_app
from media_stream.topics.cli import topics_app

app = typer.Typer(help="Kafka generation requests in, images, narration and music out.", no_args_is_help=True)
app.add_typer(dev_app, name="dev", help="The local Kafka broker for development and tests.")
app.add_typer(topics_app, name="topics", help="Topics as code: topics.yaml applied to the cluster.")
app.add_typer(schemas_app, name="schemas", help="Avro contracts: list and compatibility check.")
app.add_typer(bench_app, name="bench", help="Benchmarks: figures as JSON, never pass/fail.")
console = Console(soft_wrap=True)


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
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def demo(
    scenes: int = typer.Option(4, min=1, max=24, help="Scenes in the sample storyboard."),
    keep_running: bool = typer.Option(False, help="Leave the local broker running afterwards."),
) -> None:
    """Run the main job end to end on the embedded defaults and show its result."""
    from media_stream.demo import run_demo

    raise typer.Exit(run_demo(get_settings(), scenes=scenes, keep_running=keep_running, console=console))


@app.command()
def styles() -> None:
    """The image styles a request may name."""
    from media_stream.domain.styles import IMAGE_STYLES

    table = Table("style", "description", "adds to the prompt")
    for style in IMAGE_STYLES.values():
        table.add_row(style.name, style.description, style.prompt_suffix)
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
