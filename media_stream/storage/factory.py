"""The configured store."""

from __future__ import annotations

from media_stream.config import StorageSettings
from media_stream.domain.errors import ConfigurationError
from media_stream.storage.base import ObjectStore


def object_store(settings: StorageSettings) -> ObjectStore:
    if settings.backend == "filesystem":
        from media_stream.storage.filesystem import FilesystemStore

        return FilesystemStore(settings.root)
    if settings.backend == "minio":
        missing = [
            f"MEDIA_STREAM_STORAGE__{name.upper()}"
            for name in ("endpoint", "access_key", "secret_key")
            if not _given(getattr(settings, name))
        ]
        if missing:
            raise ConfigurationError(f"storage backend 'minio' needs {', '.join(missing)} (set in the environment)")
        from media_stream.storage.minio_store import MinioStore

        return MinioStore.from_settings(settings)
    raise ConfigurationError(f"storage backend {settings.backend!r} is unknown (allowed: filesystem, minio)")


def _given(value: object) -> bool:
    if value is None:
        return False
    text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return bool(text.strip())
