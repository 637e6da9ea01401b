"""Single-object encoding: round trips, an independent decoder, errors, and reading released versions."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from media_stream.config import PROJECT_ROOT, Settings
from media_stream.domain.errors import (
    UndecodableMessage,
    UnknownSchema,
    ValidationError,
)
from media_stream.serde.codec import EventCodec
from media_stream.serde.schema_store import SchemaStore, load_schema_store
from tests.helpers.avro_spec import independent_canonical_form, rabin
from tests.helpers.samples import SAMPLES

SCHEMAS = PROJECT_ROOT / "schemas" / "media" / "v1"
RECORDS = sorted(p.stem for p in SCHEMAS.glob("*.avsc"))


def test_samples_cover_every_record() -> None:
    assert sorted(SAMPLES) == RECORDS


@pytest.fixture(scope="module")
def codec() -> EventCodec:
    return EventCodec(load_schema_store(SCHEMAS))


@pytest.fixture(scope="module")
def apache_schemas() -> dict[str, object]:
    """Apache avro's own parse of the .avsc files, references resolved through shared Names."""
    import avro.schema as avro_schema
    from avro.name import Names
    docs = {p.stem: json.loads(p.read_text()) for p in SCHEMAS.glob("*.avsc")}
    names = Names()
    parsed: dict[str, object] = {}

    def parse(name: str) -> None:
        if name in parsed:
            return
        for ref in re.findall(r'"media\.v1\.(\w+)"', json.dumps(docs[name])):
            parse(ref)
        parsed[name] = avro_schema.make_avsc_object(docs[name], names)

    for name in docs:
        parse(name)
    return parsed


def independent_decode(data: bytes, apache_schemas: dict[str, object]) -> tuple[str, dict]:
    """Header by hand per the spec, body by Apache avro: shares no code with media_stream.serde."""
    import avro.io as avro_io

    assert data[:2] == b"\xc3\x01"
    fingerprint = int.from_bytes(data[2:10], "little")
    by_fingerprint = {rabin(independent_canonical_form(f"media.v1.{n}").encode()): n for n in RECORDS}
    name = by_fingerprint[fingerprint]
    decoder = avro_io.BinaryDecoder(io.BytesIO(data[10:]))
    value = avro_io.DatumReader(apache_schemas[name]).read(decoder)
    assert decoder.reader.read() == b"", "trailing bytes after the record"
    return name, value


@pytest.mark.parametrize("name", RECORDS)
def test_round_trip(codec: EventCodec, name: str) -> None:
    data = codec.encode(name, SAMPLES[name])
    event = codec.decode(data)
    assert (event.record_name, event.full_name, event.framing) == (name, f"media.v1.{name}", "single-object")
    assert event.writer_fingerprint == data[2:10] and event.schema_id is None
    assert event.value == SAMPLES[name]


@pytest.mark.parametrize("name", RECORDS)
def test_bytes_decode_with_apache_avro(codec: EventCodec, apache_schemas: dict, name: str) -> None:
    data = codec.encode(f"media.v1.{name}", SAMPLES[name])
    decoded_name, value = independent_decode(data, apache_schemas)
    assert decoded_name == name
    assert value == SAMPLES[name]


def test_timestamps_are_aware_utc_millis(codec: EventCodec) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    sample = {**SAMPLES["CancelRequested"], "createdAt": dt.datetime(2025, 1, 1, 13, 0, 0, 123456, tzinfo=paris)}
    created = codec.decode(codec.encode("CancelRequested", sample)).value["createdAt"]
    assert created == dt.datetime(2025, 1, 1, 12, 0, 0, 123000, tzinfo=dt.timezone.utc)
    assert created.utcoffset() == dt.timedelta(0)
    as_millis = {**SAMPLES["CancelRequested"], "createdAt": 1_700_000_000_000}
    assert codec.decode(codec.encode("CancelRequested", as_millis)).value["createdAt"] == dt.datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc
    )


def test_defaults_fill_missing_fields(codec: EventCodec) -> None:
    minimal = {
        "requestId": "r",
        "jobId": "j",
        "projectId": "p",
        "createdAt": SAMPLES["ImageRequested"]["createdAt"],
        "prompt": "a fox",
    }
    value = codec.decode(codec.encode("ImageRequested", minimal)).value
    assert (
        value["width"] == 1024 and value["style"] == "default" and value["seed"] is None and value["renderVersion"] == 1
    )


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"width": "wide"}, "ImageRequested.width", "expected int, got str 'wide'"),
        ({"width": 2**31}, "ImageRequested.width", "out of the int range"),
        ({"seed": "x"}, "ImageRequested.seed", "expected long"),
        ({"colour": "red"}, "ImageRequested", "unknown field(s) colour"),
        ({"prompt": None}, "ImageRequested.prompt", "expected string, got NoneType"),
        ({"createdAt": dt.datetime(2025, 1, 1)}, "ImageRequested.createdAt", "naive datetime"),
        ({"guidance": True}, "ImageRequested.guidance", "expected double, got bool"),
    ],
)
def test_encoding_validates(codec: EventCodec, change: dict, field: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        codec.encode("ImageRequested", {**SAMPLES["ImageRequested"], **change})
    assert info.value.field == field
    assert problem in info.value.problem


def test_encoding_validates_nested_and_missing(codec: EventCodec) -> None:
    bad = {**SAMPLES["StoryboardRequested"], "scenes": [{"sceneId": "s1", "characters": [{"characterId": "c"}]}]}
    with pytest.raises(
        ValidationError,
        match=r"StoryboardRequested\.scenes\[0\]\.prompt: missing, and the field has no default \(and 1 more: StoryboardRequested\.scenes\[0\]\.characters\[0\]\.name",
    ):
        codec.encode("StoryboardRequested", bad)


def test_unknown_record_on_encode(codec: EventCodec) -> None:
    with pytest.raises(UnknownSchema, match="no record named 'VideoRequested'"):
        codec.encode("VideoRequested", {})


def test_truncated_and_garbage(codec: EventCodec) -> None:
    data = codec.encode("ImageRequested", SAMPLES["ImageRequested"])
    with pytest.raises(UndecodableMessage, match="empty message"):
        codec.decode(b"")
    with pytest.raises(UndecodableMessage, match="too short: 6 byte"):
        codec.decode(data[:6])
    with pytest.raises(
        UndecodableMessage, match=r"body does not decode as media\.v1\.ImageRequested \(fingerprint e1bf393b112d1fe7\)"
    ):
        codec.decode(data[:-9])
    with pytest.raises(UndecodableMessage, match="3 trailing byte"):
        codec.decode(data + b"\x00\x00\x00")
    with pytest.raises(UndecodableMessage, match="unknown framing: first bytes 7b22"):
        codec.decode(b'{"requestId": "r"}')
    with pytest.raises(UndecodableMessage):
        codec.decode(data[:10] + b"\xff" * 40)


def test_unknown_fingerprint_names_it_in_hex(codec: EventCodec) -> None:
    with pytest.raises(UnknownSchema, match="fingerprint 0102030405060708"):
        codec.decode(b"\xc3\x01" + bytes([1, 2, 3, 4, 5, 6, 7, 8]) + b"\x00")


def test_from_settings_defaults_to_single_object() -> None:
    codec = EventCodec.from_settings(Settings())
    assert codec.framing == "single-object" and codec.registry is None
    assert codec.encode("SceneFailure", SAMPLES["SceneFailure"])[:2] == b"\xc3\x01"


def test_reads_an_older_writer_into_the_current_reader(tmp_path: Path) -> None:
    """A release-1 writer's bytes resolve into a current schema that gained a field with a default."""
    released, current = tmp_path / "released", tmp_path / "current"
    shutil.copytree(SCHEMAS, released)
    shutil.copytree(SCHEMAS, current)
    doc = json.loads((current / "JobFailed.avsc").read_text())
    doc["fields"].append({"name": "attempts", "type": "int", "default": 1, "doc": "Attempts made."})
    doc["fields"] = [f for f in doc["fields"] if f["name"] != "renderVersion"]  # had a default: removable
    (current / "JobFailed.avsc").write_text(json.dumps(doc))

    old_writer = EventCodec(SchemaStore.load(released))
    new_reader = EventCodec(SchemaStore.load(current), readable=(SchemaStore.load(released),))
    data = old_writer.encode("JobFailed", SAMPLES["JobFailed"])
    event = new_reader.decode(data)
    expected = {k: v for k, v in SAMPLES["JobFailed"].items() if k != "renderVersion"} | {"attempts": 1}
    assert event.record_name == "JobFailed" and event.value == expected
    assert event.writer_fingerprint == SchemaStore.load(released).get("JobFailed").fingerprint
    # Without the released store the old fingerprint is unknown.
    with pytest.raises(UnknownSchema):
        EventCodec(SchemaStore.load(current)).decode(data)
