"""An object store in memory: for benchmarks and tests that isolate the pipeline from disks."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from media_stream.storage.base import StoredObject


class MemoryStore:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}

    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        self.objects[key] = (data, content_type, dict(metadata))
        return StoredObject(key=key, url=self.url(key), sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    def get(self, key: str) -> bytes:
        return self.objects[key][0]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def url(self, key: str) -> str:
        return f"memory://{key}"

    def check(self) -> None:
        pass
