"""A real S3-compatible server on loopback for tests and development: MinIO built from source.

The binary is built once with the Go toolchain from the Go module proxy (``go install
github.com/minio/minio@<pinned version>``) into ``~/.media-stream/s3/<version>/bin`` (or
``MEDIA_STREAM_S3_HOME``); a marker written after the build says it is complete. Each
``LocalS3Server`` runs it on an ephemeral loopback port with random credentials, a data dir of
its own (temporary unless given) and its log in a file. ``stop()`` then ``start()`` restarts it
on the same port and data dir. See docs/decisions/ for why MinIO and not a container.

``python -m media_stream.dev.s3_server install`` pre-builds the binary (``scripts/install-s3-server``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

from media_stream.dev.kafka_jars import file_lock
from media_stream.domain.errors import ConfigurationError, MediaStreamError

MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"  # the module proxy's latest, 2026-02-12
BUILD_TIMEOUT_S = 1800
COMPLETE_MARKER = "build.complete"


class S3ServerError(MediaStreamError):
    """The local S3 server could not be built or did not come up."""


def default_home() -> Path:
    return Path(os.environ.get("MEDIA_STREAM_S3_HOME") or Path.home() / ".media-stream" / "s3")


def _go_executable() -> str:
    found = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go",) if Path(p).is_file()), None)
    if not found:
        raise ConfigurationError(
            "go not found: the local S3 server (MinIO) is built from the Go module proxy with Go 1.24+ "
            "(https://go.dev/dl or `apt-get install golang`); or set MEDIA_STREAM_TEST_S3_ENDPOINT, "
            "MEDIA_STREAM_TEST_S3_ACCESS_KEY and MEDIA_STREAM_TEST_S3_SECRET_KEY to a server you run"
        )
    return found


def binary_path(home: Path | None = None, version: str = MINIO_VERSION) -> Path:
    return (home or default_home()) / version / "bin" / "minio"


def is_installed(home: Path | None = None, version: str = MINIO_VERSION) -> bool:
    home = home or default_home()
    return (home / version / COMPLETE_MARKER).is_file() and binary_path(home, version).is_file()


def ensure_installed(home: Path | None = None, version: str = MINIO_VERSION) -> Path:
    """The MinIO binary for ``version``, built with ``go install`` the first time."""
    home = home or default_home()
    target = binary_path(home, version)
    if is_installed(home, version):
        return target
    go = _go_executable()
    with file_lock(home / version / ".install.lock"):
        if is_installed(home, version):  # another process built it while we waited
            return target
        staging = home / version / f"bin.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        env = {**os.environ, "GOBIN": str(staging), "GOFLAGS": os.environ.get("GOFLAGS", "-buildvcs=false")}
        started = time.monotonic()
        try:
            done = subprocess.run(
                [go, "install", f"{MINIO_MODULE}@{version}"],
                env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise S3ServerError(f"go install {MINIO_MODULE}@{version} took over {BUILD_TIMEOUT_S}s") from exc
        if done.returncode != 0 or not (staging / "minio").is_file():
            shutil.rmtree(staging, ignore_errors=True)
            output = (done.stdout + done.stderr).strip()[-3000:]
            raise S3ServerError(f"go install {MINIO_MODULE}@{version} failed (exit {done.returncode}):\n{output}")
        shutil.rmtree(target.parent, ignore_errors=True)
        staging.rename(target.parent)
        (home / version / COMPLETE_MARKER).write_text(f"built in {time.monotonic() - started:.0f}s\n")
    return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalS3Server:
    """One MinIO process on 127.0.0.1; a context manager that cleans up what it created."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        port: int = 0,
        home: Path | None = None,
        version: str = MINIO_VERSION,
        start_timeout_s: float = 60.0,
    ) -> None:
        self._own_dir = None if data_dir else Path(tempfile.mkdtemp(prefix="media-stream-s3-"))
        self.data_dir = Path(data_dir) if data_dir else self._own_dir / "data"
        self.log_file = self.data_dir.with_name(self.data_dir.name + ".log")
        self.port = port
        self.home = home
        self.version = version
        self.start_timeout_s = start_timeout_s
        self.access_key = "ms" + secrets.token_hex(8)
        self.secret_key = secrets.token_urlsafe(24)
        self._process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start (or restart on the same port and data dir) and wait until it serves requests."""
        if self.running:
            return self
        binary = ensure_installed(self.home, self.version)
        self.port = self.port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "MINIO_ROOT_USER": self.access_key,
            "MINIO_ROOT_PASSWORD": self.secret_key,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "MINIO_CI_CD": "on",
        }
        command = [
            str(binary), "server", str(self.data_dir), "--address", self.endpoint,
            "--console-address", f"127.0.0.1:{free_port()}", "--quiet",
        ]  # fmt: skip
        with open(self.log_file, "ab") as log:
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_ready()
        return self

    def stop(self) -> None:
        """Stop the process; the data dir stays, so ``start()`` brings the same objects back."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def close(self) -> None:
        self.stop()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        url = f"http://{self.endpoint}/minio/health/ready"
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                self._process = None
                raise S3ServerError(f"MinIO exited with {code} while starting; log {self.log_file}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise S3ServerError(f"MinIO did not answer on {self.endpoint} within {self.start_timeout_s}s:\n{self.log_tail()}")


def main(argv: list[str]) -> int:
    """``install``: build the binary if missing and print its path."""
    if argv[:1] != ["install"]:
        sys.stderr.write("usage: python -m media_stream.dev.s3_server install\n")
        return 2
    started = time.monotonic()
    path = ensure_installed()
    sys.stdout.write(f"{path} ({MINIO_MODULE}@{MINIO_VERSION}, ready in {time.monotonic() - started:.0f}s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
