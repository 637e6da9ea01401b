"""`media-stream dev ...`: the local single-node Kafka broker (up, down, status)."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from media_stream.config import get_settings
from media_stream.dev.kafka_jars import jars_ready
from media_stream.dev.local_kafka import LocalKafka
from media_stream.domain.errors import MediaStreamError
from media_stream.terminal import error_line, make_console, styled

dev_app = typer.Typer(
    help="The local Kafka broker (KRaft, one node on 127.0.0.1) for development and tests.",
    no_args_is_help=True,
)
# Messages go to stderr so that `export KAFKA_BOOTSTRAP_SERVERS=$(media-stream dev up)` works.
console = make_console(stderr=True)


def _broker() -> LocalKafka:
    return LocalKafka(get_settings())


@dev_app.command()
def up() -> None:
    """Start the broker (no-op when it already runs) and print its bootstrap address."""
    broker = _broker()
    if not jars_ready(broker.home, broker.version):
        console.print(f"Resolving Kafka {broker.version} jars from Maven Central (first run only)…")
    try:
        outcome = broker.start()
    except MediaStreamError as exc:
        console.print(error_line(exc))
        raise typer.Exit(1) from exc
    if outcome.already_running:
        console.print(f"Kafka already running (pid {outcome.pid}).")
    else:
        console.print(
            f"Kafka {broker.version} started in {outcome.seconds:.1f}s (pid {outcome.pid}); logs: {broker.log_file}"
        )
    typer.echo(outcome.bootstrap)


@dev_app.command()
def down() -> None:
    """Stop the broker (SIGTERM, then SIGKILL after 30 s); its data stays for the next `up`."""
    if _broker().stop():
        console.print("Kafka stopped.")
    else:
        console.print("Kafka was not running.")


@dev_app.command()
def status() -> None:
    """Show the broker and the object store; exit code 0 when both answer, 1 otherwise."""
    state = _broker().status()
    table = Table(show_header=False, box=None)
    table.add_row("state", styled("running", "green") if state.healthy else styled("not running", "red"))
    for label, value in (
        ("bootstrap", state.bootstrap),
        ("pid", state.pid),
        ("version", state.version),
        ("topics", state.topics),
        ("data", state.data_dir),
        ("log", state.log_file),
        ("error", state.error),
    ):
        if value is not None:
            table.add_row(label, str(value))
    storage_ok, storage_note = _storage_health()
    table.add_row("storage", Text.assemble(("ok", "green") if storage_ok else ("unavailable", "red"), " ", storage_note))
    make_console().print(table)
    raise typer.Exit(0 if state.healthy and storage_ok else 1)


def _storage_health() -> tuple[bool, str]:
    """The configured object store, checked the way an agent checks it at start."""
    from media_stream.storage.factory import object_store

    settings = get_settings().storage
    where = str(settings.root) if settings.backend == "filesystem" else f"{settings.endpoint}/{settings.bucket}"
    try:
        object_store(settings).check()
    except MediaStreamError as exc:
        return False, f"{settings.backend} at {where}: {exc}"
    return True, f"{settings.backend} at {where}"
