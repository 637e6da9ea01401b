"""The schema store: every record loads, names resolve across files in any order, fingerprints follow the spec."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from media_stream.domain.errors import UnknownSchema
from media_stream.serde.schema_store import (
    SchemaLoadError,
    SchemaStore,
    load_schema_store,
)
from tests.helpers.avro_spec import SCHEMAS, independent_canonical_form, rabin


@pytest.fixture(scope="module")
def store() -> SchemaStore:
    return load_schema_store(SCHEMAS)


def test_spec_vector_for_rabin() -> None:
    # From the Avro project's shared schema tests: CRC-64-AVRO of "null" is 7195948357588979594.
    assert rabin(b'"null"') == 7195948357588979594


def test_every_file_loads_as_one_record(store: SchemaStore) -> None:
    files = sorted(p.stem for p in SCHEMAS.glob("*.avsc"))
    assert store.names() == files
    assert len(store) == len(files)


def test_lookup_by_short_and_full_name(store: SchemaStore) -> None:
    assert store.get("ImageRequested") is store.get("media.v1.ImageRequested")
    assert "media.v1.Scene" in store and "Scene" in store and "Nope" not in store
    with pytest.raises(UnknownSchema, match="no record named 'Nope'.*ImageRequested"):
        store.get("Nope")


def test_cached_once(store: SchemaStore) -> None:
    assert load_schema_store(str(SCHEMAS)) is store


@pytest.mark.parametrize("name", sorted(p.stem for p in SCHEMAS.glob("*.avsc")))
def test_canonical_form_and_fingerprint_follow_the_spec(store: SchemaStore, name: str) -> None:
    schema = store.get(name)
    assert schema.canonical_form == independent_canonical_form(f"media.v1.{name}")
    # Single-object encoding writes the 64-bit fingerprint little-endian.
    assert schema.fingerprint == rabin(schema.canonical_form.encode()).to_bytes(8, "little")
    assert schema.fingerprint_hex == schema.fingerprint.hex()


def test_nested_references_are_inlined(store: SchemaStore) -> None:
    storyboard = store.get("StoryboardRequested")
    text = storyboard.resolved_json
    assert '"name":"Scene"' in text and '"name":"Character"' in text and '"name":"StyleConfig"' in text
    assert '"doc"' in text  # the registry copy keeps docs
    assert '"items":"media.v1.' not in storyboard.canonical_form  # no bare references left


def test_file_order_does_not_matter(tmp_path: Path, store: SchemaStore) -> None:
    # Rename so the referencing records sort before what they reference.
    for path in SCHEMAS.glob("*.avsc"):
        prefix = "a" if path.stem in ("StoryboardRequested", "BatchCompleted", "DeadLetter", "Scene") else "z"
        shutil.copy(path, tmp_path / f"{prefix}-{path.name}")
    shuffled = SchemaStore.load(tmp_path)
    assert {s.full_name: s.fingerprint for s in shuffled} == {s.full_name: s.fingerprint for s in store}


def test_repeated_named_type_is_defined_once(tmp_path: Path) -> None:
    (tmp_path / "Point.avsc").write_text(
        json.dumps({"type": "record", "name": "Point", "namespace": "t", "fields": [{"name": "x", "type": "int"}]})
    )
    (tmp_path / "Line.avsc").write_text(
        json.dumps(
            {
                "type": "record",
                "name": "Line",
                "namespace": "t",
                "fields": [{"name": "a", "type": "t.Point"}, {"name": "b", "type": "Point"}],
            }
        )
    )
    line = SchemaStore.load(tmp_path).get("Line")
    assert line.canonical_form == (
        '{"name":"t.Line","type":"record","fields":[{"name":"a","type":{"name":"t.Point","type":"record",'
        '"fields":[{"name":"x","type":"int"}]}},{"name":"b","type":"t.Point"}]}'
    )
    assert line.canonical_form == independent_canonical_form("t.Line", tmp_path)


def test_unresolved_reference_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "A.avsc").write_text(
        json.dumps({"type": "record", "name": "A", "namespace": "t", "fields": [{"name": "b", "type": "t.Missing"}]})
    )
    with pytest.raises(SchemaLoadError, match="A.avsc: unknown type 't.Missing'"):
        SchemaStore.load(tmp_path)


def test_duplicate_and_bad_files_are_errors(tmp_path: Path) -> None:
    (tmp_path / "A.avsc").write_text('{"type": "record", "name": "A", "namespace": "t", "fields": []}')
    (tmp_path / "B.avsc").write_text('{"type": "record", "name": "A", "namespace": "t", "fields": []}')
    with pytest.raises(SchemaLoadError, match="t.A is also defined"):
        SchemaStore.load(tmp_path)
    (tmp_path / "B.avsc").write_text("{not json")
    with pytest.raises(SchemaLoadError, match="B.avsc: not readable JSON"):
        SchemaStore.load(tmp_path)
    with pytest.raises(SchemaLoadError, match="does not exist"):
        SchemaStore.load(tmp_path / "nowhere")
