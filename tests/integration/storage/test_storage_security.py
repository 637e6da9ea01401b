"""Storage security against a real S3 server (MinIO): credentials come only from the environment,
a bucket the store creates is private, presigned URLs expire when they say, and no secret reaches
a repr, an error message or the logs."""

from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.request

import pytest

from media_stream.config import Settings, StorageSettings
from media_stream.domain.errors import ConfigurationError
from media_stream.storage.factory import object_store
from media_stream.storage.minio_store import MinioStore

KEY = "images/p1/j1/s1/1.png"
META = {"jobId": "j1", "projectId": "p1", "renderVersion": "1"}
AMBIENT = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD")


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def storage_env(monkeypatch: pytest.MonkeyPatch, s3, bucket: str, **extra: str) -> None:
    for name in [n for n in os.environ if n.startswith("MEDIA_STREAM_STORAGE__")]:
        monkeypatch.delenv(name)
    values = {"BACKEND": "minio", "ENDPOINT": s3.endpoint, "BUCKET": bucket, "SECURE": str(s3.secure).lower(), "RETRIES": "0", **extra}
    for name, value in values.items():
        monkeypatch.setenv(f"MEDIA_STREAM_STORAGE__{name}", value)


def test_no_credentials_are_baked_in() -> None:
    defaults = StorageSettings()
    assert defaults.access_key is None and defaults.secret_key is None


def test_minio_without_credentials_in_the_environment_fails_naming_them_and_ignores_ambient_ones(s3_server, monkeypatch: pytest.MonkeyPatch) -> None:
    storage_env(monkeypatch, s3_server, s3_server.bucket_name())
    for name in AMBIENT[::2]:
        monkeypatch.setenv(name, s3_server.access_key)  # credentials lying around are not ours to take
    for name in AMBIENT[1::2]:
        monkeypatch.setenv(name, s3_server.secret_key)
    with pytest.raises(ConfigurationError, match="MEDIA_STREAM_STORAGE__ACCESS_KEY, MEDIA_STREAM_STORAGE__SECRET_KEY"):
        object_store(Settings().storage)
    monkeypatch.setenv("MEDIA_STREAM_STORAGE__ACCESS_KEY", "  ")  # blank is missing too
    monkeypatch.setenv("MEDIA_STREAM_STORAGE__SECRET_KEY", s3_server.secret_key)
    with pytest.raises(ConfigurationError, match="MEDIA_STREAM_STORAGE__ACCESS_KEY \\(set in the environment\\)"):
        object_store(Settings().storage)


def test_credentials_from_the_environment_reach_the_store(s3_server, monkeypatch: pytest.MonkeyPatch) -> None:
    storage_env(monkeypatch, s3_server, s3_server.bucket_name(), ACCESS_KEY=s3_server.access_key, SECRET_KEY=s3_server.secret_key)
    store = object_store(Settings().storage)
    store.put(KEY, b"pixels", "image/png", META)
    assert store.get(KEY) == b"pixels"


def test_a_bucket_the_store_creates_refuses_anonymous_reads(s3_server) -> None:
    store = MinioStore(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, s3_server.bucket_name(), secure=s3_server.secure, retries=0)
    store.put(KEY, b"private pixels", "image/png", META)
    scheme = "https" if s3_server.secure else "http"
    assert status_of(f"{scheme}://{s3_server.endpoint}/{store.bucket}/{KEY}") == 403  # the object, unsigned
    assert status_of(f"{scheme}://{s3_server.endpoint}/{store.bucket}/") == 403  # the listing
    with pytest.raises(Exception, match="NoSuchBucketPolicy"):
        store.client.get_bucket_policy(store.bucket)  # the store set no policy: private unless an operator says otherwise
    assert status_of(store.url(KEY)) == 200  # the signed URL is the way in


def test_a_presigned_url_works_until_its_ttl_then_is_refused(s3_server) -> None:
    store = MinioStore(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, s3_server.bucket_name(), secure=s3_server.secure, presign_ttl_s=2, retries=0)
    store.put(KEY, b"short-lived", "image/png", META)
    url = store.url(KEY)
    assert "X-Amz-Expires=2" in url
    assert status_of(url) == 200
    time.sleep(3.2)
    assert status_of(url) == 403
    assert status_of(store.url(KEY)) == 200  # a fresh URL is signed again


def test_no_secret_in_reprs_errors_or_logs(s3_server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    secret = "do-not-print-this-secret-" + s3_server.bucket_name()
    storage_env(monkeypatch, s3_server, s3_server.bucket_name(), ACCESS_KEY=s3_server.access_key, SECRET_KEY=secret)
    monkeypatch.setenv("MEDIA_STREAM_KAFKA__SASL_PASSWORD", secret)
    monkeypatch.setenv("MEDIA_STREAM_KAFKA__SCHEMA_REGISTRY_BASIC_AUTH", f"user:{secret}")
    settings = Settings()
    assert secret not in repr(settings) and secret not in str(settings)
    assert secret not in settings.model_dump_json()  # SecretStr serialises as '**********'
    caplog.set_level(logging.DEBUG)
    store = object_store(settings.storage)
    with pytest.raises(ConfigurationError) as refused:  # the server refuses the wrong secret
        store.check()
    assert secret not in str(refused.value) and secret not in repr(refused.value)
    assert secret not in repr(store) and secret not in caplog.text
