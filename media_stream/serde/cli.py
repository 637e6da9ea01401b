"""`media-stream schemas ...`: list the contract and check it against the last release."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from media_stream.serde.schema_store import CURRENT_SCHEMAS, RELEASED_SCHEMAS

schemas_app = typer.Typer(help="Avro contracts: list and compatibility check.", no_args_is_help=True)


def _schemas_dir() -> Path:
    from media_stream.config import get_settings

    return Path(get_settings().schemas_dir)


@schemas_app.command("list")
def list_schemas(
    directory: Optional[Path] = typer.Option(None, help="Schema folder (default: <schemas_dir>/media/v1)."),
) -> None:
    """Each record: short name, full name, CRC-64-AVRO fingerprint (hex, wire byte order)."""
    from media_stream.serde.schema_store import SchemaStore

    store = SchemaStore.load(directory or _schemas_dir() / CURRENT_SCHEMAS)
    width = max((len(s.name) for s in store), default=0)
    for schema in store:
        typer.echo(f"{schema.name:<{width}}  {schema.fingerprint_hex}  {schema.full_name}")


@schemas_app.command("check")
def check(
    current: Optional[Path] = typer.Option(None, help="Current schema folder (default: <schemas_dir>/media/v1)."),
    released: Optional[Path] = typer.Option(None, help="Released snapshot (default: <schemas_dir>/released/media/v1)."),
) -> None:
    """Full (backward and forward) compatibility of the current schemas with the released ones; exit 1 on problems."""
    from media_stream.serde.compatibility import check_compatibility

    current = current or _schemas_dir() / CURRENT_SCHEMAS
    released = released or _schemas_dir() / RELEASED_SCHEMAS
    problems = check_compatibility(current, released)
    for problem in problems:
        typer.echo(str(problem), err=True)
    if problems:
        typer.echo(f"{len(problems)} compatibility problem(s) between {current} and {released}", err=True)
        raise typer.Exit(1)
    typer.echo(f"compatible: {current} reads and is read by {released}")
