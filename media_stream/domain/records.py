"""Dataclass <-> Avro record dict, by one rule: snake_case attributes, camelCase Avro fields.

Nested dataclasses and lists of them convert recursively. The serde layer turns the dicts into
bytes; this module only knows names and shapes.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@cache
def _field_names(cls: type) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, camel(f.name)) for f in dataclasses.fields(cls))


def to_record(obj: Any) -> Any:
    """A dataclass instance (or list of them) as the dict the Avro schema describes."""
    cls = type(obj)
    if hasattr(cls, "__dataclass_fields__"):
        return {key: to_record(getattr(obj, name)) for name, key in _field_names(cls)}
    if isinstance(obj, (list, tuple)):
        return [to_record(item) for item in obj]
    return obj


def _dataclass_in(tp: Any) -> type | None:
    if dataclasses.is_dataclass(tp):
        return tp
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if dataclasses.is_dataclass(arg):
                return arg
    return None


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    inner = _dataclass_in(tp)
    if inner is not None:
        return from_record(inner, value)
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        return tuple(_convert(item_tp, item) for item in value)
    return value


def from_record(cls: type[T], record: dict[str, Any]) -> T:
    """Build ``cls`` from an Avro record dict; fields the record lacks keep their defaults."""
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = camel(f.name)
        if key in record:
            kwargs[f.name] = _convert(hints[f.name], record[key])
    return cls(**kwargs)
