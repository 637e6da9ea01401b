"""The one façade the rest of the package uses to turn event dicts into bytes and back.

Values are plain dicts keyed by the Avro field names (camelCase). ``timestamp-millis`` fields
take a timezone-aware ``datetime`` (or epoch milliseconds as ``int``) and decode as an aware
UTC ``datetime`` truncated to the millisecond; a naive datetime is refused. Encoding frames with
the Schema Registry when one is configured, else with Avro single-object encoding; decoding
tells the framing from the first byte, so a consumer reads both.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from media_stream.domain.errors import UndecodableMessage, UnknownSchema
from media_stream.serde.body import DecodedEvent
from media_stream.serde.registry import MAGIC as REGISTRY_MAGIC
from media_stream.serde.registry import RegistryCodec, registry_client
from media_stream.serde.schema_store import (
    CURRENT_SCHEMAS,
    RELEASED_SCHEMAS,
    SchemaStore,
    load_schema_store,
)
from media_stream.serde.single_object import MAGIC as SINGLE_OBJECT_MAGIC
from media_stream.serde.single_object import SingleObjectCodec

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from media_stream.config import Settings

__all__ = ["DecodedEvent", "EventCodec", "CURRENT_SCHEMAS", "RELEASED_SCHEMAS"]


class EventCodec:
    """Encode with one framing, decode either.

    ``readable`` are further schema stores (released versions) whose fingerprints decode too;
    ``registry`` switches encoding to Schema Registry framing.
    """

    def __init__(
        self,
        store: SchemaStore,
        *,
        readable: tuple[SchemaStore, ...] = (),
        registry: SchemaRegistryClient | None = None,
        auto_register: bool = True,
    ) -> None:
        self.store = store
        self.single_object = SingleObjectCodec(store, readable)
        self.registry = RegistryCodec(registry, store, auto_register=auto_register) if registry is not None else None

    @classmethod
    def from_settings(cls, settings: Settings) -> EventCodec:
        schemas_dir = Path(settings.schemas_dir)
        store = load_schema_store(schemas_dir / CURRENT_SCHEMAS)
        released_dir = schemas_dir / RELEASED_SCHEMAS
        readable = (load_schema_store(released_dir),) if released_dir.is_dir() else ()
        kafka = settings.kafka
        client = None
        if kafka.schema_registry_url:
            auth = kafka.schema_registry_basic_auth.get_secret_value() if kafka.schema_registry_basic_auth else None
            client = registry_client(kafka.schema_registry_url, auth)
        return cls(store, readable=readable, registry=client)

    @property
    def framing(self) -> str:
        """What ``encode`` writes: 'registry' or 'single-object'."""
        return "registry" if self.registry is not None else "single-object"

    def encode(self, record_name: str, value: dict[str, Any]) -> bytes:
        """``value`` as ``record_name`` ('ImageRequested' or 'media.v1.ImageRequested').

        Raises UnknownSchema for an unknown record and ValidationError naming the field at fault.
        """
        if self.registry is not None:
            return self.registry.encode(record_name, value)
        return self.single_object.encode(record_name, value)

    def decode(self, data: bytes | memoryview | None) -> DecodedEvent:
        """Bytes in either framing to the record, resolved into the current schema.

        Raises UndecodableMessage (bad framing, truncated, corrupt) or UnknownSchema.
        """
        if not data:
            raise UndecodableMessage("empty message: no Avro event to decode")
        head = bytes(data[:2])
        if head == SINGLE_OBJECT_MAGIC:
            return self.single_object.decode(data)
        if head[:1] == REGISTRY_MAGIC:
            if self.registry is None:
                schema_id = int.from_bytes(bytes(data[1:5]), "big") if len(data) >= 5 else None
                raise UnknownSchema(
                    f"message is Schema Registry framed (schema id {schema_id}) but no schema registry "
                    "is configured (set MEDIA_STREAM_KAFKA__SCHEMA_REGISTRY_URL)"
                )
            return self.registry.decode(data)
        raise UndecodableMessage(
            f"unknown framing: first bytes {head.hex()}, expected c301 (Avro single-object) or 00 (Schema Registry)"
        )
