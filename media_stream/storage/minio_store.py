"""Objects in any S3-compatible server (MinIO, AWS S3, s3proxy) through the ``minio`` SDK.

Every object carries its content type, the caller's metadata and the sha256 we computed.
Transient faults (5xx, throttling, timeouts, refused connections) are retried here with
exponential backoff and become StorageUnavailable (a RetriableError the agent answers by
holding work and probing ``check()``) when the tries run out; the SDK's own retries
are off, so the bound is ours. Refused credentials are a ConfigurationError, other 4xx a
PermanentError.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import time
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TypeVar

import certifi
import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError

from media_stream.domain.errors import (
    ConfigurationError,
    PermanentError,
    RetriableError,
    StorageUnavailable,
    ValidationError,
)
from media_stream.storage.base import ObjectInfo, ObjectNotFound, StoredObject
from media_stream.storage.keys import validate_key

log = logging.getLogger(__name__)
T = TypeVar("T")

KEYS_HEADER = "media-stream-keys"  # the metadata names as given (S3 lower-cases them)
_META_PREFIX = "x-amz-meta-"
_SAFE_VALUE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")  # percent-encode the rest
_AUTH_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "AccountProblem"}
_RETRY_CODES = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "RequestTimeTooSkewed"}
_HEALTH_KEY = ".media-stream-health"


class MinioStore:
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        region: str | None = None,
        create_bucket: bool = True,
        public_base_url: str | None = None,
        presign_ttl_s: int = 3600,
        part_size: int = 16 * 1024 * 1024,
        max_object_bytes: int = 2 * 1024**3,
        retries: int = 4,
        backoff_s: float = 0.25,
        backoff_max_s: float = 8.0,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
    ) -> None:
        host, secure = _split_endpoint(endpoint, secure)
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=False,  # retried below, with our bound and our classification
        )
        self.client = Minio(host, access_key, secret_key, secure=secure, region=region, http_client=http)
        self.endpoint = host
        self.bucket = bucket
        self.create_bucket = create_bucket
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.presign_ttl = timedelta(seconds=presign_ttl_s)
        self.part_size = part_size
        self.max_object_bytes = max_object_bytes
        self.retries = retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._bucket_ready = False

    @classmethod
    def from_settings(cls, settings) -> MinioStore:  # settings: media_stream.config.StorageSettings
        return cls(
            settings.endpoint,
            settings.access_key.get_secret_value(),
            settings.secret_key.get_secret_value(),
            settings.bucket,
            secure=settings.secure,
            region=settings.region,
            create_bucket=settings.create_bucket,
            public_base_url=settings.public_base_url,
            presign_ttl_s=settings.presign_ttl_s,
            part_size=settings.part_size_bytes,
            max_object_bytes=settings.max_object_bytes,
            retries=settings.retries,
            backoff_s=settings.retry_backoff_s,
            backoff_max_s=settings.retry_backoff_max_s,
            connect_timeout_s=settings.connect_timeout_s,
            read_timeout_s=settings.read_timeout_s,
        )

    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        validate_key(key)
        if len(data) > self.max_object_bytes:
            raise ValidationError("data", f"{len(data)} bytes for {key}", f"at most {self.max_object_bytes} bytes")
        digest = hashlib.sha256(data).hexdigest()
        headers = _encode_metadata({**metadata, "sha256": digest})
        self._ensure_bucket()
        self._retrying(
            f"put {key}",
            lambda: self.client.put_object(
                self.bucket, key, io.BytesIO(data), len(data),
                content_type=content_type, metadata=headers, part_size=self.part_size,
            ),
        )  # fmt: skip
        return StoredObject(key=key, url=self.url(key), sha256=digest, size=len(data))

    def get(self, key: str) -> bytes:
        validate_key(key)
        return self._retrying(f"get {key}", lambda: self._read(key), reading=True)

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        found = self._retrying(f"stat {key}", lambda: self.client.stat_object(self.bucket, key), reading=True)
        return ObjectInfo(
            key=key,
            size=found.size or 0,
            content_type=found.content_type or "application/octet-stream",
            metadata=_decode_metadata(found.metadata or {}),
        )

    def metadata(self, key: str) -> dict[str, str]:
        return dict(self.stat(key).metadata)

    def url(self, key: str) -> str:
        validate_key(key)
        if self.public_base_url:
            return f"{self.public_base_url}/{urllib.parse.quote(key)}"
        return self._retrying(
            f"presign {key}", lambda: self.client.presigned_get_object(self.bucket, key, expires=self.presign_ttl)
        )

    def check(self) -> None:
        """Raise unless the bucket is reachable and a small object can be written and removed."""
        self._bucket_ready = False
        self._ensure_bucket()
        self._retrying(
            "health write",
            lambda: self.client.put_object(self.bucket, _HEALTH_KEY, io.BytesIO(b"ok"), 2, content_type="text/plain"),
        )
        self._retrying("health delete", lambda: self.client.remove_object(self.bucket, _HEALTH_KEY))

    def delete(self, key: str) -> None:
        validate_key(key)
        try:
            self._retrying(f"delete {key}", lambda: self.client.remove_object(self.bucket, key), reading=True)
        except ObjectNotFound:
            pass  # no bucket yet, or already gone

    def list(self, prefix: str) -> list[str]:
        try:
            found = self._retrying(
                f"list {prefix}",
                lambda: [o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)],
                reading=True,
            )
        except ObjectNotFound:
            return []  # no bucket yet: nothing stored
        return sorted(k for k in found if k != _HEALTH_KEY)

    def _read(self, key: str) -> bytes:
        response = self.client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        if not self._retrying("bucket check", lambda: self.client.bucket_exists(self.bucket)):
            if not self.create_bucket:
                raise ConfigurationError(
                    f"bucket {self.bucket!r} does not exist at {self.endpoint} and "
                    "MEDIA_STREAM_STORAGE__CREATE_BUCKET is false: create it or allow creation"
                )
            try:
                self._retrying("bucket create", lambda: self.client.make_bucket(self.bucket))
            except PermanentError as exc:  # a racing agent created it first
                if "BucketAlreadyOwnedByYou" not in str(exc.__cause__):
                    raise
        self._bucket_ready = True

    def _retrying(self, what: str, call: Callable[[], T], reading: bool = False) -> T:
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                return call()
            except Exception as exc:  # classified below; anything unknown propagates as is
                error = self._classify(what, exc, reading)
                if error is None:
                    raise
                if not isinstance(error, RetriableError) or attempt == self.retries:
                    if isinstance(error, RetriableError):
                        error = type(error)(f"{error} (gave up after {attempt + 1} tries)")
                    raise error from exc
                pause = min(delay, self.backoff_max_s) * random.uniform(0.5, 1.0)
                log.warning("storage %s failed (try %d of %d), retrying in %.2fs: %s", what, attempt + 1, self.retries + 1, pause, exc)
                time.sleep(pause)
                delay *= 2
        raise AssertionError("unreachable")

    def _classify(self, what: str, exc: Exception, reading: bool) -> Exception | None:
        where = f"S3 {self.endpoint}/{self.bucket}: {what}"
        if isinstance(exc, S3Error):
            status = getattr(exc.response, "status", 0) or 0
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                return ObjectNotFound(f"{where}: no such object")
            if exc.code in _AUTH_CODES:
                return ConfigurationError(
                    f"{where}: credentials refused ({exc.code}); check MEDIA_STREAM_STORAGE__ACCESS_KEY "
                    "and MEDIA_STREAM_STORAGE__SECRET_KEY and the bucket policy"
                )
            if exc.code == "NoSuchBucket":
                if reading and self.create_bucket:  # created on the first write: nothing to read yet
                    return ObjectNotFound(f"{where}: no such object (no bucket yet)")
                return ConfigurationError(f"{where}: the bucket does not exist")
            if status >= 500 or status in (408, 429) or exc.code in _RETRY_CODES:
                return StorageUnavailable(f"{where}: {exc.code} (HTTP {status})")
            return PermanentError(f"{where}: {exc.code} (HTTP {status}): {exc.message}")
        if isinstance(exc, ServerError):
            return StorageUnavailable(f"{where}: HTTP {exc.status_code}")
        if isinstance(exc, InvalidResponseError):
            code = getattr(exc, "_code", 0) or 0
            if code == 404 and reading:
                return ObjectNotFound(f"{where}: no such object")
            if code in (401, 403):
                return ConfigurationError(f"{where}: access refused (HTTP {code}); check the storage credentials")
            kind = StorageUnavailable if code >= 500 or code in (408, 429) else PermanentError
            return kind(f"{where}: unexpected response (HTTP {code})")
        if isinstance(exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)):
            return StorageUnavailable(f"{where}: {type(exc).__name__}: {exc}")
        return None


def _split_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """``host:port`` for the SDK; an ``http(s)://`` prefix decides ``secure``."""
    if "://" not in endpoint:
        return endpoint, secure
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or parts.path.strip("/") or not parts.netloc:
        raise ConfigurationError(f"storage endpoint {endpoint!r}: expected host:port or http(s)://host:port")
    return parts.netloc, parts.scheme == "https"


def _encode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """``x-amz-meta-*`` headers (prefixed here, so no name can become a real header like x-amz-acl)."""
    headers = {}
    for name, value in metadata.items():
        if not name or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
            raise ValidationError("metadata", f"name {name!r} is not a header token", "ASCII letters, digits, '-', '_'")
        header = _META_PREFIX + name.lower()
        if header in headers or name.lower() == KEYS_HEADER:
            raise ValidationError("metadata", f"name {name!r} repeats another name up to case", "distinct names")
        headers[header] = urllib.parse.quote(str(value), safe=_SAFE_VALUE)
    headers[_META_PREFIX + KEYS_HEADER] = ",".join(metadata)
    return headers


def _decode_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    found = {k.lower()[len(_META_PREFIX) :]: v for k, v in headers.items() if k.lower().startswith(_META_PREFIX)}
    names = {n.lower(): n for n in found.pop(KEYS_HEADER, "").split(",") if n}
    return {names.get(k, k): urllib.parse.unquote(v) for k, v in found.items()}
