"""`media-stream bench ...`: each benchmark prints progress to stderr and, as its last stdout
line, one JSON object with its figures (and the device they were measured on)."""

from __future__ import annotations

import typer

bench_app = typer.Typer(help="Benchmarks: figures as JSON (last line), never pass/fail.", no_args_is_help=True)
