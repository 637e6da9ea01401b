"""The compatibility guard: the current contract against the released snapshot, both ways.

For every released record, data written with the released schema must be readable with the
current one (backward) and data written with the current schema readable with the released one
(forward): full compatibility, so producers and consumers can upgrade in any order.

Two independent checks: the schema resolution rules of the Avro specification applied field by
field (names and aliases, defaults, promotions, unions, enums, fixed, nested records), and a
proof with data: random samples written with one schema are read with the other by fastavro's
resolving reader and must fit the reader schema. A released record missing from the current
contract is a problem; a new record is not. The rules check is a little stricter than the
specification in one place: changing a logical type (e.g. timestamp-millis to -micros) is
flagged, since the bytes would still resolve but mean something else.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastavro import schemaless_reader, schemaless_writer

from media_stream.serde.sample_data import samples
from media_stream.serde.schema_store import (
    PRIMITIVES,
    SchemaStore,
    StoredSchema,
    short_name,
)
from media_stream.serde.validation import conformance_problems

Direction = Literal["backward", "forward", "removed"]

PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}
"""Writer type -> reader types it is promoted to (Avro specification, schema resolution)."""

SAMPLES_PER_DIRECTION = 64


@dataclass(frozen=True)
class Problem:
    """One incompatibility: which record, which field (dotted path, None for the whole record)."""

    record: str
    field: str | None
    direction: Direction
    message: str

    def __str__(self) -> str:
        where = self.field or self.record
        return f"{self.record} [{self.direction}] {where}: {self.message}"


def check_compatibility(
    current_dir: Path | str, released_dir: Path | str, *, samples_per_direction: int = SAMPLES_PER_DIRECTION
) -> list[Problem]:
    """Every way the schemas in ``current_dir`` break full compatibility with ``released_dir``."""
    current = SchemaStore.load(current_dir)
    released = SchemaStore.load(released_dir)
    problems: list[Problem] = []
    for old in released:
        new = current.find(old.full_name)
        if new is None:
            problems.append(
                Problem(old.name, None, "removed", f"{old.full_name} is released but no longer in {current_dir}")
            )
            continue
        problems.extend(check_pair(old, new, samples_per_direction=samples_per_direction))
    return problems


def check_pair(
    released: StoredSchema, current: StoredSchema, *, samples_per_direction: int = SAMPLES_PER_DIRECTION
) -> list[Problem]:
    """Full compatibility of one record: rules both ways, then data both ways where the rules pass."""
    problems: list[Problem] = []
    for direction, writer, reader in (("backward", released, current), ("forward", current, released)):
        sides = ("released", "current") if direction == "backward" else ("current", "released")
        found = [
            Problem(current.name, path, direction, message) for path, message in rule_problems(writer, reader, sides)
        ]
        if not found and samples_per_direction:
            found = [
                Problem(current.name, path, direction, message)
                for path, message in data_problems(writer, reader, samples_per_direction, sides)
            ]
        problems.extend(found)
    return problems


# -- the rules -------------------------------------------------------------------------------


def rule_problems(
    writer: StoredSchema, reader: StoredSchema, sides: tuple[str, str] = ("writer", "reader")
) -> list[tuple[str, str]]:
    """(field path, message) wherever data of ``writer`` cannot resolve into ``reader``."""
    out: list[tuple[str, str]] = []
    _Rules(writer.named_schemas, reader.named_schemas, sides, out).resolve(writer.parsed, reader.parsed, reader.name)
    return out


def _label(schema: Any) -> str:
    if isinstance(schema, str):
        return short_name(schema)
    if isinstance(schema, list):
        return "[" + ", ".join(_label(b) for b in schema) + "]"
    if schema.get("logicalType"):
        return f"{schema['type']}/{schema['logicalType']}"
    if schema["type"] in ("record", "error", "enum", "fixed"):
        return short_name(schema["name"])
    if schema["type"] == "array":
        return f"array<{_label(schema['items'])}>"
    if schema["type"] == "map":
        return f"map<{_label(schema['values'])}>"
    return _label(schema["type"])


class _Rules:
    def __init__(
        self,
        writer_named: Mapping[str, Any],
        reader_named: Mapping[str, Any],
        sides: tuple[str, str],
        out: list[tuple[str, str]],
    ) -> None:
        self.wn, self.rn = writer_named, reader_named
        self.w_side, self.r_side = sides
        self.out = out
        self._seen: set[tuple[str, str]] = set()

    def _deref(self, schema: Any, named: Mapping[str, Any]) -> Any:
        while True:
            if isinstance(schema, str) and schema not in PRIMITIVES:
                schema = named[schema]
            elif isinstance(schema, dict) and (isinstance(schema["type"], (dict, list)) or schema["type"] in named):
                schema = schema["type"]
            else:
                return schema

    def matches(self, writer: Any, reader: Any) -> bool:
        probe = _Rules(self.wn, self.rn, (self.w_side, self.r_side), [])
        probe._seen = set(self._seen)
        probe.resolve(writer, reader, "")
        return not probe.out

    def problem(self, path: str, message: str) -> None:
        self.out.append((path, message))

    def resolve(self, writer: Any, reader: Any, path: str) -> None:
        w, r = self._deref(writer, self.wn), self._deref(reader, self.rn)
        if isinstance(w, list):
            for branch in w:
                if isinstance(r, list):
                    if not any(self.matches(branch, rb) for rb in r):
                        self.problem(
                            path,
                            f"{self.w_side} union branch {_label(branch)} has no match in the {self.r_side} union {_label(r)}",
                        )
                elif not self.matches(branch, r):
                    self.problem(
                        path, f"{self.w_side} union branch {_label(branch)} cannot be read as {self.r_side} {_label(r)}"
                    )
            return
        if isinstance(r, list):
            if not any(self.matches(w, rb) for rb in r):
                self.problem(
                    path, f"{self.w_side} {_label(w)} matches no branch of the {self.r_side} union {_label(r)}"
                )
            return
        w_type = w if isinstance(w, str) else w["type"]
        r_type = r if isinstance(r, str) else r["type"]
        w_logical = None if isinstance(w, str) else w.get("logicalType")
        r_logical = None if isinstance(r, str) else r.get("logicalType")
        if w_type in PRIMITIVES or r_type in PRIMITIVES:
            if w_type != r_type and r_type not in PROMOTIONS.get(w_type, ()):
                self.problem(
                    path, f"type changed: {self.w_side} {_label(w)}, {self.r_side} {_label(r)} (no Avro promotion)"
                )
            elif w_logical != r_logical:
                self.problem(path, f"logical type changed: {self.w_side} {_label(w)}, {self.r_side} {_label(r)}")
            return
        if w_type != r_type:
            self.problem(path, f"type changed: {self.w_side} {_label(w)}, {self.r_side} {_label(r)}")
            return
        if r_type in ("record", "error", "enum", "fixed") and not self._same_name(w, r):
            self.problem(
                path, f"named type changed: {self.w_side} {w['name']}, {self.r_side} {r['name']} (add an alias)"
            )
            return
        if r_type in ("record", "error"):
            self._record(w, r, path)
        elif r_type == "enum":
            missing = [s for s in w["symbols"] if s not in r["symbols"]]
            if missing and "default" not in r:
                self.problem(
                    path,
                    f"enum symbols {', '.join(missing)} of the {self.w_side} schema are unknown to the {self.r_side} one, which has no enum default",
                )
        elif r_type == "fixed":
            if w["size"] != r["size"]:
                self.problem(path, f"fixed size changed: {self.w_side} {w['size']}, {self.r_side} {r['size']}")
        elif r_type == "array":
            self.resolve(w["items"], r["items"], f"{path}[]")
        elif r_type == "map":
            self.resolve(w["values"], r["values"], f"{path}{{}}")

    @staticmethod
    def _same_name(w: dict[str, Any], r: dict[str, Any]) -> bool:
        aliases = {short_name(a) for a in r.get("aliases", ())} | set(r.get("aliases", ()))
        return (
            short_name(w["name"]) == short_name(r["name"]) or w["name"] in aliases or short_name(w["name"]) in aliases
        )

    def _record(self, w: dict[str, Any], r: dict[str, Any], path: str) -> None:
        key = (w["name"], r["name"])
        if key in self._seen:  # recursive types: this pair is being checked further up
            return
        self._seen.add(key)
        by_name = {f["name"]: f for f in w["fields"]}
        for rf in r["fields"]:
            sub = f"{path}.{rf['name']}" if path else rf["name"]
            wf = by_name.get(rf["name"]) or next((by_name[a] for a in rf.get("aliases", ()) if a in by_name), None)
            if wf is None:
                if "default" not in rf:
                    hint = (
                        "a new field needs a default; a renamed one an alias"
                        if self.r_side == "current"
                        else "only a field with a default can be removed or renamed"
                    )
                    self.problem(
                        sub,
                        f"the {self.r_side} schema has this field without a default and the {self.w_side} "
                        f"schema does not have it ({hint})",
                    )
                continue
            self.resolve(wf["type"], rf["type"], sub)


# -- the proof with data ---------------------------------------------------------------------


def data_problems(
    writer: StoredSchema, reader: StoredSchema, count: int, sides: tuple[str, str] = ("writer", "reader"), seed: int = 0
) -> list[tuple[str, str]]:
    """Write ``count`` random samples with ``writer``, read them with ``reader``; first failure only."""
    for i, value in enumerate(samples(writer.parsed, writer.named_schemas, count, seed)):
        buffer = io.BytesIO()
        schemaless_writer(buffer, writer.parsed, value)
        payload = buffer.getvalue()
        stream = io.BytesIO(payload)
        try:
            read = schemaless_reader(stream, writer.parsed, reader.parsed)
        except Exception as exc:  # any failure to read is the finding
            return [
                (
                    reader.name,
                    f"sample {i} written with the {sides[0]} schema fails to read with the {sides[1]} one: {type(exc).__name__}: {exc}",
                )
            ]
        if stream.tell() != len(payload):
            return [
                (
                    reader.name,
                    f"sample {i}: reading with the {sides[1]} schema left {len(payload) - stream.tell()} byte(s)",
                )
            ]
        misfits = conformance_problems(reader.parsed, read, reader.named_schemas, reader.name)
        if misfits:
            path, message = misfits[0]
            return [
                (
                    path,
                    f"sample {i} written with the {sides[0]} schema reads as a value the {sides[1]} schema rejects: {message}",
                )
            ]
    return []
