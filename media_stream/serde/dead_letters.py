"""A message that could not be processed, as a DeadLetter: where it came from, its bytes (a prefix
when oversized, which errorMessage then says) and the reason. Used by the agent and the catalog."""

from __future__ import annotations

from media_stream.domain.outcomes import DeadLetter, Header
from media_stream.kafka.messages import ConsumedMessage
from media_stream.serde.decoding import BestEffortIds

# Every DeadLetter must be publishable, whatever arrived: our producers keep librdkafka's
# default message.max.bytes (1,000,000), so the envelope of an oversized message keeps a prefix
# of its key, value and headers and says so in its errorMessage. Budgets, in bytes:
MAX_DEAD_LETTER_BYTES = 900_000  # key + value + headers of one outgoing message, all told
MAX_KEPT_VALUE_BYTES = 700_000
MAX_KEPT_KEY_BYTES = 16 * 1024  # the key travels twice: as the message key and in the envelope
MAX_KEPT_HEADER_BYTES = 64 * 1024
MAX_REASON_CHARS = 4000  # at most 16 KB of UTF-8


def _prefix(data: bytes | None, limit: int) -> tuple[bytes | None, bool]:
    if data is None or len(data) <= limit:
        return data, False
    return data[:limit], True


def _kept_headers(headers: tuple[tuple[str, bytes | None], ...]) -> tuple[tuple[Header, ...], bool]:
    kept: list[Header] = []
    used = 0
    for key, value in headers:
        size = len(key.encode("utf-8", "replace")) + len(value or b"")
        if used + size > MAX_KEPT_HEADER_BYTES:
            return tuple(kept), True
        kept.append(Header(key, value))
        used += size
    return tuple(kept), False


def bounded_reason(error: Exception) -> str:
    reason = str(error) or type(error).__name__
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[:MAX_REASON_CHARS] + f"... [{len(reason) - MAX_REASON_CHARS} more characters]"
    return reason


def dead_letter(message: ConsumedMessage, error: Exception, ids: BestEffortIds | None = None) -> DeadLetter:
    """The DeadLetter of ``message``: where it came from, its bytes (a prefix when oversized, which
    errorMessage then says) and the reason; the catalog processor publishes it alone."""
    ids = ids or BestEffortIds()
    reason = bounded_reason(error)
    key, key_cut = _prefix(message.key, MAX_KEPT_KEY_BYTES)
    value, value_cut = _prefix(message.value, MAX_KEPT_VALUE_BYTES)
    headers, headers_cut = _kept_headers(message.headers)
    cuts = [
        f"{what} truncated to its first {len(kept or b'')} of {len(original or b'')} bytes"
        for what, cut, kept, original in (("key", key_cut, key, message.key), ("value", value_cut, value, message.value))
        if cut
    ]
    if headers_cut:
        cuts.append(f"headers truncated to the first {len(headers)} of {len(message.headers)}")
    return DeadLetter(
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        error_class=type(error).__name__,
        error_message=f"{reason} [{'; '.join(cuts)}]" if cuts else reason,
        key=key,
        value=value,
        headers=headers,
        job_id=ids.job_id,
        project_id=ids.project_id,
    )
