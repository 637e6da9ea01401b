"""The Avro binary body shared by both framings, and what a decode returns."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Literal

from fastavro import schemaless_reader, schemaless_writer

from media_stream.domain.errors import UndecodableMessage, ValidationError
from media_stream.serde.schema_store import StoredSchema
from media_stream.serde.validation import check_conforms

Framing = Literal["single-object", "registry"]


@dataclass(frozen=True)
class DecodedEvent:
    """One decoded event.

    ``record_name`` is the short name ('ImageRequested'); ``value`` the record as a dict with
    the Avro field names, already resolved into the current (reader) schema. Exactly one of
    ``writer_fingerprint`` (single-object) and ``schema_id`` (registry) is set.
    """

    record_name: str
    value: dict[str, Any] = field(repr=False)
    full_name: str = ""
    framing: Framing = "single-object"
    writer_fingerprint: bytes | None = None
    schema_id: int | None = None


def encode_body(schema: StoredSchema, value: Any) -> bytes:
    """The Avro binary encoding of ``value``, after checking it fits ``schema``."""
    check_conforms(schema.parsed, value, schema.named_schemas, schema.name)
    out = io.BytesIO()
    try:
        schemaless_writer(out, schema.parsed, value)
    except (ValueError, TypeError, OverflowError, AttributeError, KeyError) as exc:
        raise ValidationError(schema.name, f"cannot be written as {schema.full_name}: {exc}") from exc
    return out.getvalue()


def decode_body(payload: bytes | memoryview, writer: Any, reader: Any | None, what: str) -> dict[str, Any]:
    """Read one datum written with ``writer`` as ``reader`` (both fastavro-parsed); all bytes must be used.

    ``what`` names the writer in error messages (e.g. 'media.v1.ImageRequested (fingerprint 71..)').
    """
    buffer = io.BytesIO(payload)
    try:
        value = schemaless_reader(buffer, writer, reader if reader is not writer else None)
    except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeDecodeError, ... on bad bytes
        raise UndecodableMessage(f"body does not decode as {what}: {type(exc).__name__}: {exc}") from exc
    left = len(payload) - buffer.tell()
    if left:
        raise UndecodableMessage(f"body of {what} has {left} trailing byte(s) after the record")
    if not isinstance(value, dict):
        raise UndecodableMessage(f"body of {what} is not a record")
    return value
