"""pytest plugin: a real S3-compatible server for the tests that ask for one.

``s3_server`` (session) is, in this order:

1. the server named by ``MEDIA_STREAM_TEST_S3_ENDPOINT`` (with ``MEDIA_STREAM_TEST_S3_ACCESS_KEY``,
   ``MEDIA_STREAM_TEST_S3_SECRET_KEY``, optional ``MEDIA_STREAM_TEST_S3_SECURE=1``); it must answer;
2. a ``LocalS3Server`` (MinIO built from the Go module proxy on first use, cached under
   ``~/.media-stream/s3``) on an ephemeral loopback port with random credentials.

``local_s3_server`` (per test) is always a fresh ``LocalS3Server`` the test may stop and
restart. No server is a test failure with the reason, never a skip.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from media_stream.dev.s3_server import LocalS3Server


@dataclass(frozen=True)
class S3Endpoint:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    secure: bool = False
    server: LocalS3Server | None = None  # None for a server the session did not start

    def bucket_name(self, prefix: str = "ms-test") -> str:
        """A bucket name no other test uses."""
        return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _start(data_dir: Path) -> LocalS3Server:
    server = LocalS3Server(data_dir)
    try:
        return server.start()
    except Exception as exc:  # failed outside the handler: no exception chain in the report
        server.close()
        problem = str(exc)
    pytest.fail(
        "no S3 server for the tests: the local MinIO could not be built or started. Install Go 1.24+ "
        "(then `scripts/install-s3-server`), or set MEDIA_STREAM_TEST_S3_ENDPOINT, "
        f"MEDIA_STREAM_TEST_S3_ACCESS_KEY and MEDIA_STREAM_TEST_S3_SECRET_KEY.\n{problem}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """Where the tests' S3 server listens, and its credentials."""
    configured = os.environ.get("MEDIA_STREAM_TEST_S3_ENDPOINT")
    if configured:
        access = os.environ.get("MEDIA_STREAM_TEST_S3_ACCESS_KEY", "")
        secret = os.environ.get("MEDIA_STREAM_TEST_S3_SECRET_KEY", "")
        host, _, port = configured.split("://")[-1].rpartition(":")
        problem = None
        if not (access and secret):
            problem = "MEDIA_STREAM_TEST_S3_ENDPOINT is set without MEDIA_STREAM_TEST_S3_ACCESS_KEY/SECRET_KEY"
        else:
            try:
                socket.create_connection((host, int(port)), timeout=10).close()
            except (OSError, ValueError) as exc:
                problem = f"MEDIA_STREAM_TEST_S3_ENDPOINT={configured} is set but nothing answers: {exc}"
        if problem:
            pytest.fail(problem, pytrace=False)
        secure = configured.startswith("https://") or os.environ.get("MEDIA_STREAM_TEST_S3_SECURE") == "1"
        yield S3Endpoint(configured.split("://")[-1], access, secret, secure)
        return
    server = _start(tmp_path_factory.mktemp("s3") / "data")
    try:
        yield S3Endpoint(server.endpoint, server.access_key, server.secret_key, server=server)
    finally:
        server.close()


@pytest.fixture
def local_s3_server(tmp_path: Path) -> Iterator[LocalS3Server]:
    """A MinIO of this test's own, which the test may stop and start again."""
    server = _start(tmp_path / "s3-data")
    try:
        yield server
    finally:
        server.close()
