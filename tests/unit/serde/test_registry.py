"""Schema Registry framing against the in-memory MockSchemaRegistryClient, no network."""

from __future__ import annotations

import io
import json

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import (
    MockSchemaRegistryClient,
)

from media_stream.config import PROJECT_ROOT, Settings
from media_stream.domain.errors import RetriableError, UndecodableMessage, UnknownSchema
from media_stream.serde.codec import EventCodec
from media_stream.serde.registry import RegistryCodec, subject_name
from media_stream.serde.schema_store import load_schema_store
from tests.helpers.samples import SAMPLES

SCHEMAS = PROJECT_ROOT / "schemas" / "media" / "v1"
RECORDS = sorted(SAMPLES)


@pytest.fixture
def client() -> MockSchemaRegistryClient:
    return MockSchemaRegistryClient({"url": "mock://unit"})


@pytest.fixture
def codec(client: MockSchemaRegistryClient) -> EventCodec:
    return EventCodec(load_schema_store(SCHEMAS), registry=client)


@pytest.mark.parametrize("name", RECORDS)
def test_round_trip(codec: EventCodec, client: MockSchemaRegistryClient, name: str) -> None:
    data = codec.encode(name, SAMPLES[name])
    assert data[0] == 0
    schema_id = int.from_bytes(data[1:5], "big")
    registered = client.get_latest_version(f"media.v1.{name}")  # RecordNameStrategy subject
    assert registered.schema_id == schema_id

    event = codec.decode(data)
    assert (event.record_name, event.schema_id, event.framing) == (name, schema_id, "registry")
    assert event.writer_fingerprint is None
    assert event.value == SAMPLES[name]


@pytest.mark.parametrize("name", RECORDS)
def test_bytes_decode_with_apache_avro(codec: EventCodec, client: MockSchemaRegistryClient, name: str) -> None:
    """What another language's consumer does: fetch the id's schema text, decode the body with it."""
    import avro.schema as avro_schema
    import avro.io as avro_io
    data = codec.encode(name, SAMPLES[name])
    schema_id = int.from_bytes(data[1:5], "big")
    writer = avro_schema.parse(client.get_schema(schema_id).schema_str)
    decoder = avro_io.BinaryDecoder(io.BytesIO(data[5:]))
    assert avro_io.DatumReader(writer).read(decoder) == SAMPLES[name]


def test_one_topic_many_record_types_get_their_own_subjects(
    codec: EventCodec, client: MockSchemaRegistryClient
) -> None:
    a = codec.encode("ImageRequested", SAMPLES["ImageRequested"])
    b = codec.encode("StoryboardRequested", SAMPLES["StoryboardRequested"])
    assert a[1:5] != b[1:5]
    assert set(client.get_subjects()) >= {"media.v1.ImageRequested", "media.v1.StoryboardRequested"}
    assert subject_name("media.v1.ImageRequested") == "media.v1.ImageRequested"
    # Registered once, then cached: the id stays the same.
    assert codec.encode("ImageRequested", SAMPLES["ImageRequested"])[1:5] == a[1:5]


def test_registered_schema_is_self_contained_with_docs(codec: EventCodec, client: MockSchemaRegistryClient) -> None:
    data = codec.encode("StoryboardRequested", SAMPLES["StoryboardRequested"])
    text = client.get_schema(int.from_bytes(data[1:5], "big")).schema_str
    doc = json.loads(text)
    scenes = next(f for f in doc["fields"] if f["name"] == "scenes")
    assert scenes["type"]["items"]["name"] == "Scene" and scenes["type"]["items"]["namespace"] == "media.v1"
    assert doc["doc"].startswith("Render the scenes")


def test_decodes_either_framing(codec: EventCodec) -> None:
    single = EventCodec(load_schema_store(SCHEMAS)).encode("SceneFailure", SAMPLES["SceneFailure"])
    assert codec.decode(single).framing == "single-object"
    framed = codec.encode("SceneFailure", SAMPLES["SceneFailure"])
    assert codec.decode(framed).framing == "registry"


def test_registry_framed_without_registry_is_unknown_schema(codec: EventCodec) -> None:
    framed = codec.encode("SceneFailure", SAMPLES["SceneFailure"])
    with pytest.raises(
        UnknownSchema, match=r"Schema Registry framed \(schema id \d+\) but no schema registry is configured"
    ):
        EventCodec(load_schema_store(SCHEMAS)).decode(framed)


def test_unknown_id_truncated_and_foreign_schema(codec: EventCodec, client: MockSchemaRegistryClient) -> None:
    with pytest.raises(UnknownSchema, match="schema id 4242"):
        codec.decode(b"\x00" + (4242).to_bytes(4, "big") + b"\x00")
    with pytest.raises(UndecodableMessage, match="too short: 3 byte"):
        codec.decode(b"\x00\x00\x01")
    data = codec.encode("ImageRequested", SAMPLES["ImageRequested"])
    with pytest.raises(UndecodableMessage, match=r"schema id \d+"):
        codec.decode(data[:-12])
    # A record another team registered: decoded with its own schema, named by it.
    foreign = client.register_schema(
        "other.Ping",
        Schema('{"type":"record","name":"Ping","namespace":"other","fields":[{"name":"n","type":"int"}]}', "AVRO"),
    )
    event = codec.decode(b"\x00" + foreign.to_bytes(4, "big") + b"\x04")
    assert (event.record_name, event.full_name, event.value) == ("Ping", "other.Ping", {"n": 2})


def test_resolves_an_older_registered_writer(client: MockSchemaRegistryClient) -> None:
    """A writer registered before a field was added (with a default) reads into the current schema."""
    store = load_schema_store(SCHEMAS)
    current = json.loads(store.get("SceneFailure").resolved_json)
    older = {
        **current,
        "fields": [f for f in current["fields"] if f["name"] != "reason"] + [{"name": "code", "type": "int"}],
    }
    # SceneFailure.reason has no default, so an older writer lacking it cannot be read: UndecodableMessage.
    old_id = client.register_schema("media.v1.SceneFailure", Schema(json.dumps(older), "AVRO"))
    with pytest.raises(UndecodableMessage):
        RegistryCodec(client, store).decode(b"\x00" + old_id.to_bytes(4, "big") + b"\x04s1\x02")
    extra = {**current, "fields": current["fields"] + [{"name": "code", "type": "int"}]}
    extra_id = client.register_schema("media.v1.SceneFailure", Schema(json.dumps(extra), "AVRO"))
    event = RegistryCodec(client, store).decode(b"\x00" + extra_id.to_bytes(4, "big") + b"\x04s1\x06oom\x02")
    assert event.value == {"sceneId": "s1", "reason": "oom"}


def test_lookup_only_mode_needs_a_registered_schema(client: MockSchemaRegistryClient) -> None:
    codec = EventCodec(load_schema_store(SCHEMAS), registry=client, auto_register=False)
    with pytest.raises(UnknownSchema, match="looking up media.v1.SceneFailure under subject media.v1.SceneFailure"):
        codec.encode("SceneFailure", SAMPLES["SceneFailure"])
    EventCodec(load_schema_store(SCHEMAS), registry=client).encode("SceneFailure", SAMPLES["SceneFailure"])
    assert codec.encode("SceneFailure", SAMPLES["SceneFailure"])[0] == 0


def test_unreachable_registry_is_retriable() -> None:
    class Down(MockSchemaRegistryClient):
        def register_schema(self, *args, **kwargs):
            raise ConnectionError("connection refused")

    codec = EventCodec(load_schema_store(SCHEMAS), registry=Down({"url": "mock://down"}))
    with pytest.raises(RetriableError, match="schema registry unavailable"):
        codec.encode("SceneFailure", SAMPLES["SceneFailure"])


def test_from_settings_with_mock_url_shares_one_registry() -> None:
    settings = Settings()
    settings.kafka.schema_registry_url = "mock://from-settings"
    producer, consumer = EventCodec.from_settings(settings), EventCodec.from_settings(settings)
    assert producer.framing == "registry"
    data = producer.encode("ImageRequested", SAMPLES["ImageRequested"])
    assert data[0] == 0 and consumer.decode(data).value == SAMPLES["ImageRequested"]
