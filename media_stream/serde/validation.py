"""Does a dict fit an Avro schema? Every problem is named by its field path.

fastavro's own validator passes dicts with unknown keys (the writer then drops them silently)
and takes naive datetimes as UTC; both are mistakes we would rather hear about. So encoding
checks the value here first: unknown fields, missing required fields, wrong types, ints out of
range and naive datetimes are errors such as ``ImageRequested.styleConfig.width: expected int,
got str 'wide'``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Mapping
from typing import Any

from media_stream.domain.errors import ValidationError

INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
_PRIMITIVE = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


def conformance_problems(schema: Any, value: Any, named: Mapping[str, Any], path: str) -> list[tuple[str, str]]:
    """(field path, problem) for every place ``value`` does not fit ``schema`` (fastavro-parsed)."""
    problems: list[tuple[str, str]] = []
    _check(schema, value, named, path, problems)
    return problems


def check_conforms(schema: Any, value: Any, named: Mapping[str, Any], record_name: str) -> None:
    """Raise ValidationError naming the first field at fault (and how many more there are)."""
    problems = conformance_problems(schema, value, named, record_name)
    if problems:
        field, problem = problems[0]
        if len(problems) > 1:
            problem += f" (and {len(problems) - 1} more: {'; '.join(f'{f}: {p}' for f, p in problems[1:4])})"
        raise ValidationError(field, problem)


def describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _type_label(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return " | ".join(_type_label(b) for b in schema)
    if schema.get("logicalType"):
        return f"{schema['type']} ({schema['logicalType']})"
    return schema.get("name") or schema["type"]


def _check(schema: Any, value: Any, named: Mapping[str, Any], path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(schema, str):
        if schema in _PRIMITIVE:
            _primitive(schema, value, path, out)
        else:
            _check(named[schema], value, named, path, out)
        return
    if isinstance(schema, list):
        _union(schema, value, named, path, out)
        return
    kind = schema["type"]
    if isinstance(kind, (dict, list)) or (isinstance(kind, str) and kind not in _PRIMITIVE and kind in named):
        _check(kind, value, named, path, out)
        return
    if _logical(schema, value, path, out):
        return
    if kind in _PRIMITIVE:
        _primitive(kind, value, path, out)
    elif kind in ("record", "error"):
        _record(schema, value, named, path, out)
    elif kind == "enum":
        if not isinstance(value, str) or value not in schema["symbols"]:
            out.append((path, f"expected one of {', '.join(schema['symbols'])}, got {describe(value)}"))
    elif kind == "array":
        if not isinstance(value, (list, tuple)):
            out.append((path, f"expected a list, got {describe(value)}"))
            return
        for i, item in enumerate(value):
            _check(schema["items"], item, named, f"{path}[{i}]", out)
    elif kind == "map":
        if not isinstance(value, Mapping):
            out.append((path, f"expected a dict, got {describe(value)}"))
            return
        for key, item in value.items():
            if not isinstance(key, str):
                out.append((path, f"map keys must be str, got {describe(key)}"))
            _check(schema["values"], item, named, f"{path}[{key!r}]", out)
    elif kind == "fixed":
        if not isinstance(value, (bytes, bytearray)) or len(value) != schema["size"]:
            out.append((path, f"expected {schema['size']} bytes, got {describe(value)}"))
    else:
        out.append((path, f"unsupported schema type {kind!r}"))


def _logical(schema: dict[str, Any], value: Any, path: str, out: list[tuple[str, str]]) -> bool:
    """True when the logical type settles the value (valid or not); False: check the base type."""
    logical = schema.get("logicalType")
    if logical in ("timestamp-millis", "timestamp-micros") and isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            out.append((path, "naive datetime; give a timezone-aware one (UTC)"))
        return True
    if logical in ("local-timestamp-millis", "local-timestamp-micros") and isinstance(value, dt.datetime):
        return True
    if logical == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return True
    if logical in ("time-millis", "time-micros") and isinstance(value, dt.time):
        return True
    if logical == "uuid" and isinstance(value, uuid.UUID):
        return True
    if logical == "decimal" and isinstance(value, decimal.Decimal):
        return True
    return False


def _primitive(kind: str, value: Any, path: str, out: list[tuple[str, str]]) -> None:
    ok: bool
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("int", "long"):
        low, high = INT_RANGE if kind == "int" else LONG_RANGE
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            out.append((path, f"{value} is out of the {kind} range {low}..{high}"))
            return
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "bytes":
        ok = isinstance(value, (bytes, bytearray))
    else:  # string
        ok = isinstance(value, str)
    if not ok:
        expected = "null (None)" if kind == "null" else kind
        out.append((path, f"expected {expected}, got {describe(value)}"))


def _union(branches: list[Any], value: Any, named: Mapping[str, Any], path: str, out: list[tuple[str, str]]) -> None:
    for branch in branches:
        if not conformance_problems(branch, value, named, path):
            return
    others = [b for b in branches if b != "null"]
    if value is not None and len(others) == 1:
        _check(others[0], value, named, path, out)  # the one real branch says best what is wrong
        return
    out.append((path, f"expected {_type_label(branches)}, got {describe(value)}"))


def _record(
    schema: dict[str, Any], value: Any, named: Mapping[str, Any], path: str, out: list[tuple[str, str]]
) -> None:
    if not isinstance(value, Mapping):
        out.append((path, f"expected a dict for record {schema['name']}, got {describe(value)}"))
        return
    names = [f["name"] for f in schema["fields"]]
    unknown = [key for key in value if key not in names]
    if unknown:
        out.append((path, f"unknown field(s) {', '.join(map(str, unknown))} (fields: {', '.join(names)})"))
    for f in schema["fields"]:
        sub = f"{path}.{f['name']}"
        if f["name"] in value:
            _check(f["type"], value[f["name"]], named, sub, out)
        elif "default" not in f:
            out.append((sub, "missing, and the field has no default"))
