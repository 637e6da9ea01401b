"""The embedded default store: the same keys under a root folder, atomic writes, file:// URLs."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Mapping

from media_stream.domain.errors import StorageUnavailable, ValidationError
from media_stream.storage.base import ObjectInfo, ObjectNotFound, StoredObject
from media_stream.storage.keys import validate_key

_CONTENT_TYPE = "contentType"  # in the sidecar next to the caller's metadata


class FilesystemStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        validate_key(key)
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValidationError("storageKey", f"{key!r} leaves the storage root")
        return path

    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        path = self._path(key)
        digest = hashlib.sha256(data).hexdigest()
        meta = {**metadata, _CONTENT_TYPE: content_type, "sha256": digest}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, data)
            _atomic_write(path.with_name(path.name + ".meta.json"), json.dumps(meta, sort_keys=True).encode())
        except OSError as exc:
            raise StorageUnavailable(f"filesystem store: cannot write {key}: {exc}") from exc
        return StoredObject(key=key, url=path.as_uri(), sha256=digest, size=len(data))

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(f"no object {key!r} under {self.root}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            size = path.stat().st_size
            meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key!r} under {self.root}") from exc
        content_type = meta.pop(_CONTENT_TYPE, "application/octet-stream")
        return ObjectInfo(key=key, size=size, content_type=content_type, metadata=meta)

    def metadata(self, key: str) -> dict[str, str]:
        return dict(self.stat(key).metadata)

    def url(self, key: str) -> str:
        return self._path(key).as_uri()

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.root / ".health", b"ok")
        except OSError as exc:
            raise StorageUnavailable(f"filesystem store at {self.root} is not writable: {exc}") from exc

    def delete(self, key: str) -> None:
        path = self._path(key)
        for victim in (path, path.with_name(path.name + ".meta.json")):
            try:
                victim.unlink(missing_ok=True)
            except IsADirectoryError:
                return
            except OSError as exc:
                raise StorageUnavailable(f"filesystem store: cannot delete {key}: {exc}") from exc
        parent = path.parent
        while parent != self.root and self.root in parent.parents:  # drop folders left empty
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list(self, prefix: str) -> list[str]:
        if ".." in prefix.split("/") or prefix.startswith("/") or "\\" in prefix:
            raise ValidationError("prefix", f"{prefix!r} is not a key prefix")
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        keys = []
        for path in base.rglob("*"):
            name = path.name
            if not path.is_file() or name.endswith(".meta.json") or name.startswith(".tmp-") or name == ".health":
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                keys.append(key)
        return sorted(keys)


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
