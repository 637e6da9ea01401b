"""Avro single-object encoding: ``C3 01`` + 8-byte little-endian CRC-64-AVRO fingerprint + body.

The fingerprint names the writer's schema. Decoding looks it up among the current schemas
and the released ones, and resolves an older writer schema into the current reader schema of
the same record (Avro schema resolution), so a consumer reads events written before an upgrade.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from media_stream.domain.errors import UndecodableMessage, UnknownSchema
from media_stream.serde.body import DecodedEvent, decode_body, encode_body
from media_stream.serde.schema_store import SchemaStore, StoredSchema

MAGIC = b"\xc3\x01"
FINGERPRINT_SIZE = 8
HEADER_SIZE = len(MAGIC) + FINGERPRINT_SIZE


def is_single_object(data: bytes | memoryview) -> bool:
    return bytes(data[:2]) == MAGIC


def split(data: bytes | memoryview) -> tuple[bytes, memoryview]:
    """(fingerprint, body) of a single-object message; UndecodableMessage when the header is wrong."""
    view = memoryview(data)
    if len(view) < HEADER_SIZE:
        raise UndecodableMessage(
            f"single-object message too short: {len(view)} byte(s), the header alone is {HEADER_SIZE}"
        )
    if bytes(view[:2]) != MAGIC:
        raise UndecodableMessage(f"not Avro single-object encoding: starts with {bytes(view[:2]).hex()}, expected c301")
    return bytes(view[2:HEADER_SIZE]), view[HEADER_SIZE:]


class SingleObjectCodec:
    """Writes with the current schemas; reads anything written with current or released ones."""

    framing = "single-object"

    def __init__(self, current: SchemaStore, readable: Iterable[SchemaStore] = ()) -> None:
        self.current = current
        self.readable = tuple(readable)

    def encode(self, record_name: str, value: Any) -> bytes:
        schema = self.current.get(record_name)
        return MAGIC + schema.fingerprint + encode_body(schema, value)

    def writer_schema(self, fingerprint: bytes) -> StoredSchema:
        for store in (self.current, *self.readable):
            found = store.by_fingerprint(fingerprint)
            if found is not None:
                return found
        raise UnknownSchema(
            f"no known schema has fingerprint {fingerprint.hex()} (CRC-64-AVRO, wire byte order); "
            "it was written with a schema this build has neither as current nor as released"
        )

    def decode(self, data: bytes | memoryview) -> DecodedEvent:
        fingerprint, body = split(data)
        writer = self.writer_schema(fingerprint)
        reader = self.current.find(writer.full_name) or writer
        value = decode_body(body, writer.parsed, reader.parsed, f"{writer.full_name} (fingerprint {fingerprint.hex()})")
        return DecodedEvent(
            record_name=reader.name,
            value=value,
            full_name=reader.full_name,
            framing="single-object",
            writer_fingerprint=fingerprint,
        )
