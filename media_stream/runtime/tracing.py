"""W3C trace context carried in Kafka headers: outcomes continue the request's trace."""

from __future__ import annotations

import re
import secrets

_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def child_traceparent(parent: bytes | str | None) -> str:
    """Same trace id as ``parent`` with a new span id; a fresh trace when parent is absent or malformed."""
    if isinstance(parent, bytes):
        parent = parent.decode("ascii", "replace")
    match = _TRACEPARENT.fullmatch(parent or "")
    if not match or match.group(1) == "0" * 32:
        return new_traceparent()
    return f"00-{match.group(1)}-{secrets.token_hex(8)}-{match.group(3)}"
