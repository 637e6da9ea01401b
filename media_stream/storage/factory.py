"""The configured store."""

from __future__ import annotations

from media_stream.config import StorageSettings
from media_stream.domain.errors import ConfigurationError
from media_stream.storage.base import ObjectStore


def object_store(settings: StorageSettings) -> ObjectStore:
    if settings.backend == "filesystem":
        from media_stream.storage.filesystem import FilesystemStore

        return FilesystemStore(settings.root)
    raise ConfigurationError(f"storage backend {settings.backend!r} is not available yet (allowed: filesystem)")
