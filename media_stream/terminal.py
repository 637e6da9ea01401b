"""What every CLI prints with: ids, keys and prompts literally, tables within the terminal.

rich reads ``:a:`` as an emoji code and ``[x]`` as markup; scene ids ``a``, ``b``, ``x`` are
common, so asset ids like ``job-1:a:v1`` came out as ``job-1🅰v1``. The consoles made here read
neither (``markup=False, emoji=False, highlight=False``): a string is printed as it is, in text
and in table cells. Styling is given as ``Text`` (``styled``), never as markup in data.

Also what every command shares, so that each package's sub-app can use it without importing
``media_stream.cli``: ``console`` (stdout) and ``notices`` (stderr), the one error exit
(``exits_on_errors``: ``error: <message>`` and exit code 2, or 1 for a job that failed or a wait
that timed out) and the one ``Bootstrap`` option.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from media_stream.domain.errors import MediaStreamError

ELLIPSIS = "…"
BOOTSTRAP_HELP = "Kafka bootstrap servers (default: configured or local dev broker)."
Bootstrap = Annotated[Optional[str], typer.Option(help=BOOTSTRAP_HELP)]
"""The ``--bootstrap`` option of every command that talks to Kafka (``bootstrap: Bootstrap = None``)."""
Command = TypeVar("Command", bound=Callable[..., Any])


def make_console(**options: Any) -> Console:
    """A console that prints data literally (no markup, no emoji codes, no highlighting)."""
    return Console(markup=False, emoji=False, highlight=False, **options)


def styled(text: str, style: str) -> Text:
    return Text(text, style=style)


def error_line(message: object) -> Text:
    """``error: <message>`` with the word in red and the message as it is."""
    return Text.assemble(("error:", "red"), " ", str(message))


def shorten(value: str, width: int) -> str:
    """``value`` in at most ``width`` characters: head and tail kept, the middle as ``…``
    (the full value is in ``--json``)."""
    if len(value) <= width:
        return value
    if width <= 1:
        return value[:width]
    tail = (width - 1) // 2
    head = width - 1 - tail
    return value[:head] + ELLIPSIS + (value[-tail:] if tail else "")


console = make_console(soft_wrap=True)
"""stdout: what the commands print, their error lines included."""
notices = make_console(soft_wrap=True, stderr=True)
"""stderr: a word while a command waits (no agent consumes the request topic)."""


def notice(message: str) -> None:
    """``note: <message>`` on stderr (the command goes on)."""
    notices.print(Text.assemble(("note:", "yellow"), " ", message))


def fail(message: object, code: int = 2) -> typer.Exit:
    """Print ``error: <message>`` and return the Exit to raise (2: bad input or no broker; 1: a job
    failed, or nothing was found)."""
    console.print(error_line(message))
    return typer.Exit(code)


def exit_code(exc: BaseException) -> int:
    """1 for a job that failed or was cancelled (the error names its job) and for a wait that
    timed out; 2 for every other error (bad input, missing configuration, no broker)."""
    return 1 if isinstance(exc, TimeoutError) or getattr(exc, "job_id", None) else 2


def exits_on_errors(command: Command) -> Command:
    """The one error exit of a command: a MediaStreamError or TimeoutError becomes one
    ``error: ...`` line and the exit code of ``exit_code``."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (MediaStreamError, TimeoutError) as exc:
            raise fail(exc, exit_code(exc)) from exc

    return run  # type: ignore[return-value]
