"""Server-sent events as the gateway's streams send them, parsed."""

from __future__ import annotations

import json
from collections.abc import Iterator


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict | None]]:
    """(event, data) per SSE message; comments come as ('comment', None)."""
    event, data = None, []
    for line in lines:
        if line.startswith(":"):
            yield "comment", None
        elif line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: "):
            data.append(line[len("data: "):])
        elif line == "" and event is not None:
            yield event, json.loads("\n".join(data))
            event, data = None, []
