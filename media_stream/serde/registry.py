"""Confluent Schema Registry framing: ``00`` + 4-byte big-endian schema id + Avro body.

We register and look up schemas with ``SchemaRegistryClient`` and frame the bytes ourselves
with fastavro: the body is the same Avro binary as single-object encoding, so one validator and
one reader serve both, and decoding keeps the writer-into-reader schema resolution.

Subjects follow RecordNameStrategy (the subject is the record's full name, e.g.
``media.v1.ImageRequested``): one topic carries several record types, and a record keeps one
compatibility history whatever topic it travels on. What is registered is the record's
self-contained schema (nested records inlined), docs and defaults kept.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from typing import Any

from confluent_kafka.schema_registry import (
    Schema,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from fastavro import parse_schema

from media_stream.domain.errors import (
    PermanentError,
    RetriableError,
    UndecodableMessage,
    UnknownSchema,
)
from media_stream.serde.body import DecodedEvent, decode_body, encode_body
from media_stream.serde.schema_store import SchemaStore, short_name

MAGIC = b"\x00"
HEADER_SIZE = 5


def subject_name(full_name: str) -> str:
    """RecordNameStrategy: the subject is the record's full name."""
    return full_name


def registry_client(url: str, basic_auth: str | None = None) -> SchemaRegistryClient:
    """One client per URL and credentials per process (``mock://...`` gives the in-memory mock)."""
    return _client(url, basic_auth)


@lru_cache(maxsize=8)
def _client(url: str, basic_auth: str | None) -> SchemaRegistryClient:
    conf: dict[str, Any] = {"url": url}
    if basic_auth:
        conf["basic.auth.user.info"] = basic_auth
    return SchemaRegistryClient.new_client(conf)


def split(data: bytes | memoryview) -> tuple[int, memoryview]:
    """(schema id, body) of a registry-framed message; UndecodableMessage when the header is wrong."""
    view = memoryview(data)
    if len(view) < HEADER_SIZE:
        raise UndecodableMessage(
            f"registry-framed message too short: {len(view)} byte(s), the header alone is {HEADER_SIZE}"
        )
    if view[0] != 0:
        raise UndecodableMessage(f"not Schema Registry framing: magic byte is {view[0]:#04x}, expected 0x00")
    return int.from_bytes(view[1:HEADER_SIZE], "big"), view[HEADER_SIZE:]


def _classify(exc: Exception, doing: str) -> Exception:
    """Registry faults in our error classes: 404 unknown, other 4xx permanent, the rest retriable."""
    if isinstance(exc, SchemaRegistryError):
        status = exc.http_status_code
        if status == 404:
            return UnknownSchema(f"{doing}: not found in the schema registry ({exc})")
        if isinstance(status, int) and 400 <= status < 500:
            return PermanentError(f"{doing}: the schema registry refused ({exc})")
    return RetriableError(f"{doing}: schema registry unavailable ({type(exc).__name__}: {exc})")


class _Writer:
    __slots__ = ("full_name", "parsed")

    def __init__(self, full_name: str, parsed: Any) -> None:
        self.full_name = full_name
        self.parsed = parsed


class RegistryCodec:
    """Encodes with ids of our current schemas; decodes any Avro id the registry knows."""

    framing = "registry"

    def __init__(self, client: SchemaRegistryClient, store: SchemaStore, *, auto_register: bool = True) -> None:
        self.client = client
        self.store = store
        self.auto_register = auto_register
        self._ids: dict[str, int] = {}
        self._writers: dict[int, _Writer] = {}
        self._lock = threading.Lock()

    def schema_id(self, record_name: str) -> int:
        """The registry id of our current schema of ``record_name``, registered on first use."""
        schema = self.store.get(record_name)
        cached = self._ids.get(schema.full_name)
        if cached is not None:
            return cached
        subject = subject_name(schema.full_name)
        candidate = Schema(schema.resolved_json, "AVRO")
        try:
            if self.auto_register:
                schema_id = self.client.register_schema(subject, candidate)
            else:
                schema_id = self.client.lookup_schema(subject, candidate).schema_id
        except Exception as exc:  # network errors are not SchemaRegistryError; _classify sorts them
            verb = "registering" if self.auto_register else "looking up"
            raise _classify(exc, f"{verb} {schema.full_name} under subject {subject}") from exc
        with self._lock:
            self._ids[schema.full_name] = schema_id
        return schema_id

    def encode(self, record_name: str, value: Any) -> bytes:
        schema = self.store.get(record_name)
        body = encode_body(schema, value)
        return MAGIC + self.schema_id(schema.full_name).to_bytes(4, "big") + body

    def _writer(self, schema_id: int) -> _Writer:
        cached = self._writers.get(schema_id)
        if cached is not None:
            return cached
        try:
            registered = self.client.get_schema(schema_id)
            named: dict[str, Any] = {}
            for ref in registered.references or ():
                dependency = self.client.get_version(ref.subject, ref.version).schema
                parse_schema(json.loads(dependency.schema_str), named_schemas=named)
        except Exception as exc:
            raise _classify(exc, f"fetching writer schema id {schema_id}") from exc
        if (registered.schema_type or "AVRO") != "AVRO":
            raise UnknownSchema(f"schema id {schema_id} is {registered.schema_type}, not Avro")
        try:
            parsed = parse_schema(json.loads(registered.schema_str), named_schemas=named)
        except Exception as exc:
            raise UnknownSchema(f"schema id {schema_id} is not a usable Avro schema: {exc}") from exc
        if not isinstance(parsed, dict) or parsed.get("type") != "record":
            raise UnknownSchema(f"schema id {schema_id} is not an Avro record")
        writer = _Writer(parsed["name"], parsed)
        with self._lock:
            self._writers[schema_id] = writer
        return writer

    def decode(self, data: bytes | memoryview) -> DecodedEvent:
        schema_id, body = split(data)
        writer = self._writer(schema_id)
        reader = self.store.find(writer.full_name)
        value = decode_body(
            body,
            writer.parsed,
            reader.parsed if reader else writer.parsed,
            f"{writer.full_name} (schema id {schema_id})",
        )
        return DecodedEvent(
            record_name=reader.name if reader else short_name(writer.full_name),
            value=value,
            full_name=writer.full_name,
            framing="registry",
            schema_id=schema_id,
        )
