"""What every CLI prints with: ids, keys and prompts literally, tables within the terminal.

rich reads ``:a:`` as an emoji code and ``[x]`` as markup; scene ids ``a``, ``b``, ``x`` are
common, so asset ids like ``job-1:a:v1`` came out as ``job-1🅰v1``. The consoles made here read
neither (``markup=False, emoji=False, highlight=False``): a string is printed as it is, in text
and in table cells. Styling is given as ``Text`` (``styled``), never as markup in data.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

ELLIPSIS = "…"


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
