"""Random values that fit an Avro schema, reproducible from a seed.

Used by the compatibility guard to prove with data what the rules check says: every union
branch, empty and non-empty arrays, edge integers and non-ASCII text turn up within a few dozen
samples. A local ``random.Random`` keeps the process's global generator untouched.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from media_stream.serde.validation import INT_RANGE, LONG_RANGE

_TEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_/.:éÉçüß狐🦊"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MAX_MILLIS = 253402300799999  # 9999-12-31T23:59:59.999Z, the last instant datetime holds
_DEEP = 6  # past this nesting depth prefer null branches and empty arrays (recursive schemas end)


def samples(schema: Any, named: Mapping[str, Any], count: int, seed: int = 0) -> Iterator[Any]:
    """``count`` values of ``schema`` (fastavro-parsed, with its named types)."""
    rng = random.Random(seed)
    for _ in range(count):
        yield generate(schema, named, rng)


def generate(schema: Any, named: Mapping[str, Any], rng: random.Random, depth: int = 0) -> Any:
    if isinstance(schema, str):
        if schema in named:
            return generate(named[schema], named, rng, depth)
        return _primitive(schema, rng)
    if isinstance(schema, list):
        if depth > _DEEP and "null" in schema:
            return None
        return generate(rng.choice(schema), named, rng, depth + 1)
    kind = schema["type"]
    if isinstance(kind, (dict, list)) or kind in named:
        return generate(kind, named, rng, depth)
    logical = schema.get("logicalType")
    if logical in ("timestamp-millis", "timestamp-micros"):
        return _EPOCH + dt.timedelta(milliseconds=rng.randint(0, _MAX_MILLIS))
    if logical == "date" and kind == "int":
        return dt.date(1970, 1, 1) + dt.timedelta(days=rng.randint(0, 2_900_000))
    if logical == "uuid" and kind == "string":
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if kind in ("record", "error"):
        return {f["name"]: generate(f["type"], named, rng, depth + 1) for f in schema["fields"]}
    if kind == "enum":
        return rng.choice(schema["symbols"])
    if kind == "array":
        size = 0 if depth > _DEEP else rng.randint(0, 3)
        return [generate(schema["items"], named, rng, depth + 1) for _ in range(size)]
    if kind == "map":
        size = 0 if depth > _DEEP else rng.randint(0, 3)
        return {_text(rng): generate(schema["values"], named, rng, depth + 1) for _ in range(size)}
    if kind == "fixed":
        return rng.randbytes(schema["size"])
    return _primitive(kind, rng)


def _integer(low: int, high: int, rng: random.Random) -> int:
    if rng.random() < 0.3:
        return rng.choice((low, high, 0, -1, 1))
    return rng.randint(low, high)


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_TEXT) for _ in range(rng.randint(0, 24)))


def _primitive(kind: str, rng: random.Random) -> Any:
    if kind == "null":
        return None
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "int":
        return _integer(*INT_RANGE, rng)
    if kind == "long":
        return _integer(*LONG_RANGE, rng)
    if kind in ("float", "double"):
        return rng.choice((0.0, -1.5, 1e10)) if rng.random() < 0.3 else rng.uniform(-1e6, 1e6)
    if kind == "bytes":
        return rng.randbytes(rng.randint(0, 16))
    if kind == "string":
        return _text(rng)
    raise ValueError(f"cannot generate a value for Avro type {kind!r}")
