"""The embedded default store: the same keys under a root folder, atomic writes, file:// URLs."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Mapping

from media_stream.domain.errors import RetriableError, ValidationError
from media_stream.domain.ids import validate_id
from media_stream.storage.base import StoredObject


class FilesystemStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        for part in key.split("/"):
            validate_id("storageKey", part)
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValidationError("storageKey", f"{key!r} leaves the storage root")
        return path

    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        path = self._path(key)
        digest = hashlib.sha256(data).hexdigest()
        meta = {"contentType": content_type, "sha256": digest, **metadata}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, data)
            _atomic_write(path.with_name(path.name + ".meta.json"), json.dumps(meta, sort_keys=True).encode())
        except OSError as exc:
            raise RetriableError(f"filesystem store: cannot write {key}: {exc}") from exc
        return StoredObject(key=key, url=path.as_uri(), sha256=digest, size=len(data))

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def metadata(self, key: str) -> dict[str, str]:
        path = self._path(key)
        return json.loads(path.with_name(path.name + ".meta.json").read_text())

    def url(self, key: str) -> str:
        return self._path(key).as_uri()

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.root / ".health", b"ok")
        except OSError as exc:
            raise RetriableError(f"filesystem store at {self.root} is not writable: {exc}") from exc


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
