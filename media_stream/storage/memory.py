"""An object store in memory: for benchmarks and tests that isolate the pipeline from disks."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from media_stream.storage.base import ObjectInfo, ObjectNotFound, StoredObject


class MemoryStore:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}

    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        digest = hashlib.sha256(data).hexdigest()
        self.objects[key] = (data, content_type, {**metadata, "sha256": digest})
        return StoredObject(key=key, url=self.url(key), sha256=digest, size=len(data))

    def get(self, key: str) -> bytes:
        return self._find(key)[0]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def stat(self, key: str) -> ObjectInfo:
        data, content_type, metadata = self._find(key)
        return ObjectInfo(key=key, size=len(data), content_type=content_type, metadata=dict(metadata))

    def metadata(self, key: str) -> dict[str, str]:
        return dict(self._find(key)[2])

    def url(self, key: str) -> str:
        return f"memory://{key}"

    def check(self) -> None:
        pass

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def list(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def _find(self, key: str) -> tuple[bytes, str, dict[str, str]]:
        try:
            return self.objects[key]
        except KeyError:
            raise ObjectNotFound(f"no object {key!r} in memory") from None
