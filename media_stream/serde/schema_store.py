"""The Avro contracts of one folder (``schemas/media/v1``), parsed once and looked up by name.

Each ``.avsc`` file holds one named type; files refer to each other by full name
(``media.v1.Scene``) in any order. Loading inlines those references into one self-contained
schema per record (the first use of a named type carries its definition, later uses its full
name, as Avro requires), so the result is what any Avro tool in any language can parse alone.
From that come the Parsing Canonical Form and its CRC-64-AVRO fingerprint, the 8 bytes that
single-object encoding puts on the wire.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint as _fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form

from media_stream.domain.errors import ConfigurationError, UnknownSchema

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED_TYPES = frozenset({"record", "error", "enum", "fixed"})
FINGERPRINT_ALGORITHM = "CRC-64-AVRO"

CURRENT_SCHEMAS = Path("media/v1")
"""Where the current contract lives, relative to ``settings.schemas_dir``."""
RELEASED_SCHEMAS = Path("released/media/v1")
"""The snapshot of the last release, relative to ``settings.schemas_dir``; it only changes at a release."""


class SchemaLoadError(ConfigurationError):
    """A schema folder cannot be loaded: bad JSON, a duplicate name or an unresolved reference."""


def full_name(name: str, namespace: str | None) -> str:
    """Avro's rule: a name with a dot is already full; otherwise it takes the namespace."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def short_name(name: str) -> str:
    return name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class StoredSchema:
    """One record of the contract, self-contained.

    ``fingerprint`` is the CRC-64-AVRO of ``canonical_form`` as the 8 bytes single-object
    encoding writes (little-endian); ``fingerprint_hex`` is those bytes in wire order.
    """

    name: str
    full_name: str
    source: dict[str, Any] = field(repr=False)
    resolved: dict[str, Any] = field(repr=False)
    parsed: dict[str, Any] = field(repr=False)
    named_schemas: dict[str, Any] = field(repr=False)
    canonical_form: str = field(repr=False)
    fingerprint: bytes
    path: Path | None = None

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()

    @property
    def resolved_json(self) -> str:
        """The inlined schema as JSON text, docs and defaults kept (what a registry stores)."""
        return json.dumps(self.resolved, ensure_ascii=False, separators=(",", ":"))


def crc64_avro(canonical_form: str) -> bytes:
    """CRC-64-AVRO (Rabin) fingerprint of a canonical form, little-endian as on the wire."""
    return bytes.fromhex(_fastavro_fingerprint(canonical_form, FINGERPRINT_ALGORITHM))


class SchemaStore:
    """Records of one schema folder by short name, full name and fingerprint."""

    def __init__(self, schemas: list[StoredSchema], directory: Path | None = None) -> None:
        self.directory = directory
        self._by_full = {s.full_name: s for s in schemas}
        self._by_fingerprint = {s.fingerprint: s for s in schemas}
        self._by_short: dict[str, StoredSchema] = {}
        for s in schemas:
            if s.name in self._by_short:
                raise SchemaLoadError(
                    f"short name {s.name!r} is ambiguous: {self._by_short[s.name].full_name} and {s.full_name}"
                )
            self._by_short[s.name] = s

    @classmethod
    def load(cls, directory: Path | str) -> SchemaStore:
        """Parse every ``*.avsc`` directly in ``directory`` (uncached; see :func:`load_schema_store`)."""
        directory = Path(directory)
        if not directory.is_dir():
            raise SchemaLoadError(f"schema folder {directory} does not exist")
        sources: dict[str, tuple[dict[str, Any], Path]] = {}
        definitions: dict[str, dict[str, Any]] = {}
        for path in sorted(directory.glob("*.avsc")):
            try:
                source = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SchemaLoadError(f"{path}: not readable JSON: {exc}") from exc
            if not isinstance(source, dict) or source.get("type") not in NAMED_TYPES or "name" not in source:
                raise SchemaLoadError(f"{path}: the top level must be a named type (record, enum or fixed)")
            top = full_name(source["name"], source.get("namespace"))
            if top in sources:
                raise SchemaLoadError(f"{path}: {top} is also defined in {sources[top][1]}")
            sources[top] = (source, path)
            _collect_definitions(source, None, definitions, path)
        schemas = [
            _build(name, source, path, definitions)
            for name, (source, path) in sources.items()
            if source["type"] in ("record", "error")
        ]
        return cls(schemas, directory)

    def get(self, name: str) -> StoredSchema:
        """By short name ('ImageRequested') or full name ('media.v1.ImageRequested')."""
        found = self._by_full.get(name) or self._by_short.get(name)
        if found is None:
            raise UnknownSchema(f"no record named {name!r} (known: {', '.join(sorted(self._by_short))})")
        return found

    def find(self, name: str) -> StoredSchema | None:
        return self._by_full.get(name) or self._by_short.get(name)

    def by_fingerprint(self, fingerprint: bytes) -> StoredSchema | None:
        return self._by_fingerprint.get(bytes(fingerprint))

    def names(self) -> list[str]:
        return sorted(self._by_short)

    def __iter__(self) -> Iterator[StoredSchema]:
        return iter(sorted(self._by_full.values(), key=lambda s: s.full_name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def __len__(self) -> int:
        return len(self._by_full)


@lru_cache(maxsize=16)
def _cached(directory: Path) -> SchemaStore:
    return SchemaStore.load(directory)


def load_schema_store(directory: Path | str) -> SchemaStore:
    """The store of ``directory``, loaded once per process."""
    return _cached(Path(directory).resolve())


def _collect_definitions(schema: Any, namespace: str | None, out: dict[str, dict[str, Any]], path: Path) -> None:
    """Every named type defined in ``schema`` (nested ones too), by full name."""
    if isinstance(schema, list):
        for branch in schema:
            _collect_definitions(branch, namespace, out, path)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind in NAMED_TYPES:
        name = full_name(schema["name"], schema.get("namespace", namespace))
        if name in out:
            raise SchemaLoadError(f"{path}: {name} is defined twice")
        # Keep the definition with its namespace made explicit so it inlines anywhere.
        definition = dict(schema)
        definition["name"] = short_name(name)
        if "." in name:
            definition["namespace"] = name.rsplit(".", 1)[0]
        out[name] = definition
        inner = name.rsplit(".", 1)[0] if "." in name else None
        for f in schema.get("fields", ()):
            _collect_definitions(f.get("type"), inner, out, path)
    elif kind == "array":
        _collect_definitions(schema.get("items"), namespace, out, path)
    elif kind == "map":
        _collect_definitions(schema.get("values"), namespace, out, path)
    elif isinstance(kind, (dict, list)):
        _collect_definitions(kind, namespace, out, path)


def _inline(
    schema: Any, namespace: str | None, definitions: dict[str, dict[str, Any]], seen: set[str], path: Path
) -> Any:
    """``schema`` with every reference to another file replaced by its definition, once."""
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            return schema
        name = full_name(schema, namespace)
        if name not in definitions and schema in definitions:
            name = schema  # a full name written without its dots resolving (null namespace)
        if name not in definitions:
            raise SchemaLoadError(f"{path}: unknown type {schema!r} (no .avsc defines {name})")
        if name in seen:
            return name
        return _inline(definitions[name], None, definitions, seen, path)
    if isinstance(schema, list):
        return [_inline(branch, namespace, definitions, seen, path) for branch in schema]
    if not isinstance(schema, dict):
        raise SchemaLoadError(f"{path}: {schema!r} is not an Avro schema")
    kind = schema.get("type")
    out = dict(schema)
    if kind in NAMED_TYPES:
        name = full_name(schema["name"], schema.get("namespace", namespace))
        if name in seen:
            return name
        seen.add(name)
        out["name"] = short_name(name)
        if "." in name:
            out["namespace"] = name.rsplit(".", 1)[0]
        inner = out.get("namespace")
        if "fields" in schema:
            out["fields"] = [
                {**f, "type": _inline(f["type"], inner, definitions, seen, path)} for f in schema["fields"]
            ]
    elif kind == "array":
        out["items"] = _inline(schema["items"], namespace, definitions, seen, path)
    elif kind == "map":
        out["values"] = _inline(schema["values"], namespace, definitions, seen, path)
    elif isinstance(kind, (dict, list)) or (isinstance(kind, str) and kind not in PRIMITIVES):
        out["type"] = _inline(kind, namespace, definitions, seen, path)
    return out


def _build(name: str, source: dict[str, Any], path: Path, definitions: dict[str, dict[str, Any]]) -> StoredSchema:
    resolved = _inline(copy.deepcopy(source), None, definitions, set(), path)
    try:
        named: dict[str, Any] = {}
        parsed = parse_schema(copy.deepcopy(resolved), named_schemas=named)
        canonical = to_parsing_canonical_form(copy.deepcopy(resolved))
    except Exception as exc:  # fastavro raises several types for a bad schema
        raise SchemaLoadError(f"{path}: not a valid Avro schema: {exc}") from exc
    return StoredSchema(
        name=short_name(name),
        full_name=name,
        source=source,
        resolved=resolved,
        parsed=parsed,
        named_schemas=named,
        canonical_form=canonical,
        fingerprint=crc64_avro(canonical),
        path=path,
    )
