"""One storage interface; backends in their own modules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from media_stream.domain.errors import PermanentError


@dataclass(frozen=True)
class StoredObject:
    key: str
    url: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ObjectInfo:
    """What a store knows about one object without reading it."""

    key: str
    size: int
    content_type: str
    metadata: Mapping[str, str] = field(default_factory=dict)  # the caller's, plus "sha256"

    @property
    def sha256(self) -> str | None:
        return self.metadata.get("sha256")


class ObjectNotFound(PermanentError, KeyError):
    """No object under this key (a ``KeyError`` too, as for a dict)."""

    __str__ = PermanentError.__str__


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        """Write (or overwrite) ``key``; returns where it is and its digest."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; ObjectNotFound when there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def stat(self, key: str) -> ObjectInfo:
        """Size, content type and metadata; ObjectNotFound when there is none."""
        ...

    def metadata(self, key: str) -> dict[str, str]:
        """The metadata given to ``put`` plus the ``sha256`` the store computed."""
        ...

    def url(self, key: str) -> str: ...

    def check(self) -> None:
        """Raise if the store cannot be written now."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (and its metadata); nothing happens when there is none."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Every key that starts with ``prefix`` (e.g. ``images/p1/``), sorted."""
        ...
