"""The `media-stream` command: the root typer app. Each package's sub-app stays in its package
(``dev``, ``topics``, ``schemas``, ``bench``, ``catalog``) and is mounted here; the job commands
(``publish.py``, ``jobs.py``) go through the SDK; ``agents.py`` runs the processes, ``styles.py``
lists what a request may name. Everything prints with ``media_stream.terminal`` (its console, its
one error exit ``exits_on_errors``, its ``Bootstrap`` option)."""

from __future__ import annotations

import typer

from media_stream.bench.cli import bench_app
from media_stream.catalog import cli as catalog_cli
from media_stream.catalog.cli import catalog_app
from media_stream.cli import agents, jobs, styles
from media_stream.cli.publish import publish_app
from media_stream.dev.cli import dev_app
from media_stream.serde.cli import schemas_app
from media_stream.topics.cli import topics_app

app = typer.Typer(help="Kafka generation requests in, images, narration and music out.", no_args_is_help=True)
app.add_typer(dev_app, name="dev", help="The local Kafka broker for development and tests.")
app.add_typer(topics_app, name="topics", help="Topics as code: topics.yaml applied to the cluster.")
app.add_typer(schemas_app, name="schemas", help="Avro contracts: list and compatibility check.")
app.add_typer(bench_app, name="bench", help="Benchmarks: figures as JSON, never pass/fail.")
app.add_typer(publish_app, name="publish", help="Publish a request: image, storyboard, narration or music.")
app.command("watch")(jobs.watch)
app.command("reset-group")(jobs.reset_group)
app.add_typer(catalog_app, name="catalog", help="The asset catalog processor (catalog run).")
app.command("assets")(catalog_cli.assets)
app.command("rate")(catalog_cli.rate)
app.command("quality")(catalog_cli.quality)
app.command("forget-project")(catalog_cli.forget_project)
app.command("worker")(agents.worker)
app.command("status")(jobs.status)
app.command("cancel")(jobs.cancel)
app.command("replay")(jobs.replay)
app.command("demo")(agents.demo)
app.command("styles")(styles.styles)
app.command("voices")(styles.voices)
app.command("gateway")(agents.gateway)
app.command("models")(agents.models)
app.command("rerender")(jobs.rerender)


def main() -> None:
    app()
