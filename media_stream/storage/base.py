"""One storage interface; backends in their own modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol


@dataclass(frozen=True)
class StoredObject:
    key: str
    url: str
    sha256: str
    size: int


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        """Write (or overwrite) ``key``; returns where it is and its digest."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def url(self, key: str) -> str: ...

    def check(self) -> None:
        """Raise if the store cannot be written now."""
        ...
