"""One contract for every object store: the filesystem one and MinIO against a real S3 server."""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.domain.errors import ConfigurationError, RetriableError, StorageUnavailable, ValidationError
from media_stream.storage.base import ObjectNotFound, ObjectStore
from media_stream.storage.filesystem import FilesystemStore
from media_stream.storage.minio_store import MinioStore

MiB = 1024 * 1024
KEY = "images/p1/j1/s1/1.png"
META = {"jobId": "j1", "projectId": "p1", "model": "preview-0.1", "renderVersion": "1"}
TRAVERSAL = ["../escape.png", "images/../../x", "/abs/path", "images//x", "a\\b", "a/b\x00/c", "http://x/y"]


def minio_store(s3, bucket: str | None = None, **options) -> MinioStore:
    defaults = {"part_size": 5 * MiB, "retries": 1, "backoff_s": 0.05, "secure": s3.secure}
    return MinioStore(s3.endpoint, s3.access_key, s3.secret_key, bucket or s3.bucket_name(), **{**defaults, **options})


@pytest.fixture(params=["filesystem", "minio"])
def backend(request, tmp_path: Path) -> tuple[str, ObjectStore, Callable[[], list[str]]]:
    """(name, store, a function listing every object the store holds)."""
    if request.param == "filesystem":
        root = tmp_path / "store"
        store = FilesystemStore(root)
        listing = lambda: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
        return "filesystem", store, listing
    store = minio_store(request.getfixturevalue("s3_server"))

    def listing() -> list[str]:
        if not store.client.bucket_exists(store.bucket):
            return []
        return sorted(o.object_name for o in store.client.list_objects(store.bucket, recursive=True))

    return "minio", store, listing


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_put_get_overwrite_exists(backend):
    _, store, _ = backend
    assert not store.exists(KEY)
    first = store.put(KEY, b"first", "image/png", META)
    assert (first.key, first.size, first.sha256) == (KEY, 5, hashlib.sha256(b"first").hexdigest())
    assert store.get(KEY) == b"first" and store.exists(KEY)
    again = store.put(KEY, b"second!", "image/png", META)
    assert store.get(KEY) == b"second!" and again.sha256 == hashlib.sha256(b"second!").hexdigest()
    assert not store.exists("images/p1/j1/s1/2.png")


def test_the_url_serves_the_object(backend):
    name, store, _ = backend
    stored = store.put(KEY, b"pixels", "image/png", META)
    assert stored.url == store.url(KEY) or name == "minio"  # presigned URLs differ by signing time
    assert fetch(store.url(KEY)) == b"pixels"  # file:// for the filesystem, presigned http:// for S3
    if name == "minio":
        assert "X-Amz-Signature=" in stored.url and "X-Amz-Expires=" in stored.url


def test_metadata_round_trip(backend):
    _, store, _ = backend
    stored = store.put(KEY, b"png-bytes", "image/png", {**META, "prompt": "a fox, 100% café"})
    assert store.metadata(KEY) == {**META, "prompt": "a fox, 100% café", "sha256": stored.sha256}
    info = store.stat(KEY)
    assert (info.key, info.size, info.content_type, info.sha256) == (KEY, 9, "image/png", stored.sha256)


def test_large_object_round_trip(backend):
    name, store, _ = backend
    data = os.urandom(6 * MiB + 123)
    stored = store.put("music/p1/j1/track/1.wav", data, "audio/wav", META)
    back = store.get("music/p1/j1/track/1.wav")
    assert hashlib.sha256(back).hexdigest() == stored.sha256 == hashlib.sha256(data).hexdigest()
    assert store.metadata("music/p1/j1/track/1.wav")["sha256"] == stored.sha256
    if name == "minio":  # a multipart upload's ETag ends in -<parts>
        assert store.client.stat_object(store.bucket, "music/p1/j1/track/1.wav").etag.endswith("-2")


@pytest.mark.parametrize("key", TRAVERSAL)
def test_unsafe_keys_are_refused_before_any_write(backend, key):
    _, store, listing = backend
    with pytest.raises(ValidationError):
        store.put(key, b"x", "image/png", META)
    assert listing() == []


def test_missing_objects(backend):
    _, store, _ = backend
    with pytest.raises(ObjectNotFound):
        store.get(KEY)
    with pytest.raises(ObjectNotFound):
        store.stat(KEY)
    assert store.exists(KEY) is False


def test_check_passes_on_a_writable_store(backend):
    _, store, listing = backend
    store.check()
    store.put(KEY, b"x", "image/png", META)
    assert KEY in listing()


def test_public_base_url_serves_a_public_bucket(s3_server):
    store = minio_store(s3_server)
    store.check()  # creates the bucket
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject"],
                       "Resource": [f"arn:aws:s3:::{store.bucket}/*"]}],
    }  # fmt: skip
    store.client.set_bucket_policy(store.bucket, json.dumps(policy))
    scheme = "https" if s3_server.secure else "http"
    public = minio_store(s3_server, store.bucket, public_base_url=f"{scheme}://{s3_server.endpoint}/{store.bucket}/")
    stored = public.put(KEY, b"public", "image/png", META)
    assert stored.url == f"{scheme}://{s3_server.endpoint}/{store.bucket}/{KEY}"
    assert fetch(stored.url) == b"public"


def test_a_missing_bucket_is_a_configuration_error_when_creation_is_off(s3_server):
    store = minio_store(s3_server, create_bucket=False)
    with pytest.raises(ConfigurationError, match="CREATE_BUCKET"):
        store.put(KEY, b"x", "image/png", META)


def test_refused_credentials_are_a_configuration_error_without_retries(s3_server):
    store = MinioStore(s3_server.endpoint, s3_server.access_key, "wrong-secret-key", s3_server.bucket_name(), retries=5, backoff_s=1.0)
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        store.check()
    assert time.monotonic() - started < 1.0  # a 4xx is not retried


def test_an_outage_is_retriable_and_nothing_is_lost(local_s3_server):
    s3 = local_s3_server
    store = MinioStore(s3.endpoint, s3.access_key, s3.secret_key, "outage", retries=2, backoff_s=0.05, connect_timeout_s=1.0)
    before = os.urandom(64 * 1024)
    store.put("images/p/j/s1/1.png", before, "image/png", META)

    s3.stop()
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="gave up after 3 tries") as raised:
        store.put("images/p/j/s2/1.png", b"during", "image/png", META)
    assert isinstance(raised.value, RetriableError)  # the agent holds work instead of failing jobs
    assert time.monotonic() - started < 10
    with pytest.raises(StorageUnavailable):
        store.check()  # the agent's probe says "still down"

    s3.start()  # same port, same data dir
    store.check()  # the probe says "back"
    stored = store.put("images/p/j/s2/1.png", b"after", "image/png", META)
    assert store.get(stored.key) == b"after"
    assert store.get("images/p/j/s1/1.png") == before
    assert store.metadata("images/p/j/s1/1.png")["jobId"] == "j1"
