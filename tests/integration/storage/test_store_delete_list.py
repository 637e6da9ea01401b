"""delete and list(prefix) on every object store: the filesystem one and MinIO against a real S3
server (what `media-stream forget-project` uses to remove a project's files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_stream.domain.errors import ValidationError
from media_stream.storage.base import ObjectStore
from media_stream.storage.filesystem import FilesystemStore
from media_stream.storage.minio_store import MinioStore

KEYS = ["images/p1/j1/s0/1.png", "images/p1/j1/s1/1.png", "images/p10/j1/s0/1.png", "characters/p1/lea/reference/1.png", "music/p1/j2/audio/1.mp3"]


@pytest.fixture(params=["filesystem", "minio"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "filesystem":
        return FilesystemStore(tmp_path / "store")
    s3 = request.getfixturevalue("s3_server")
    return MinioStore(s3.endpoint, s3.access_key, s3.secret_key, s3.bucket_name(), secure=s3.secure, retries=1, backoff_s=0.05)


def test_list_by_prefix_then_delete(store: ObjectStore) -> None:
    assert store.list("images/p1/") == []  # nothing stored yet (for MinIO: no bucket yet)
    for key in KEYS:
        store.put(key, key.encode(), "application/octet-stream", {"projectId": key.split("/")[1]})
    assert store.list("images/p1/") == ["images/p1/j1/s0/1.png", "images/p1/j1/s1/1.png"]  # not p10's
    assert store.list("images/") == sorted(k for k in KEYS if k.startswith("images/"))
    assert store.list("characters/p1/") == ["characters/p1/lea/reference/1.png"]
    for key in store.list("images/p1/") + store.list("characters/p1/"):
        store.delete(key)
    store.delete("images/p1/j1/s0/1.png")  # already gone: nothing happens
    assert store.list("images/p1/") == [] and store.list("characters/p1/") == []
    assert not store.exists("images/p1/j1/s0/1.png")
    assert store.get("images/p10/j1/s0/1.png") == b"images/p10/j1/s0/1.png"  # others untouched
    assert store.list("music/") == ["music/p1/j2/audio/1.mp3"]


def test_filesystem_delete_removes_the_sidecar_and_empty_folders(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = FilesystemStore(root)
    store.put("images/p1/j1/s0/1.png", b"x", "image/png", {})
    store.put("images/p2/j1/s0/1.png", b"y", "image/png", {})
    store.delete("images/p1/j1/s0/1.png")
    assert not (root / "images" / "p1").exists() and (root / "images" / "p2" / "j1" / "s0" / "1.png").exists()
    assert sorted(p.name for p in (root / "images" / "p2" / "j1" / "s0").iterdir()) == ["1.png", "1.png.meta.json"]
    with pytest.raises(ValidationError):
        store.list("../")
