"""The jars of the local Kafka broker: resolved from Maven Central once, then cached.

``deploy/local/pom.xml`` names ``org.apache.kafka:kafka_2.13`` and a log4j2 backend; Maven
copies their runtime closure into ``<home>/<version>/libs``. A marker file written after the
copy says the folder is complete, so an interrupted download is redone, never half used.
See docs/decisions/0001-local-kafka-from-maven-central.md.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from media_stream.config import PROJECT_ROOT
from media_stream.domain.errors import ConfigurationError, MediaStreamError

DEPLOY_DIR = PROJECT_ROOT / "deploy" / "local"
POM_FILE = DEPLOY_DIR / "pom.xml"
LOG4J2_CONFIG = DEPLOY_DIR / "log4j2.yaml"
COMPLETE_MARKER = "libs.complete"
RESOLVE_TIMEOUT_S = 900


class JarResolutionError(MediaStreamError):
    """Maven could not resolve the Kafka jars (network, repository, unknown version)."""


def java_executable() -> str:
    """`$JAVA_HOME/bin/java` when set, else `java` on PATH; a clear error when neither."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise ConfigurationError(
            "java not found: the local Kafka broker needs a Java 17+ runtime on PATH "
            "(e.g. `apt-get install openjdk-17-jre-headless`) or JAVA_HOME set"
        )
    return found


def _mvn_executable() -> str:
    found = shutil.which("mvn")
    if not found:
        raise ConfigurationError(
            "mvn not found: the local Kafka broker's jars are resolved from Maven Central with "
            "Maven 3.8+ (e.g. `apt-get install maven`); or set MEDIA_STREAM_KAFKA__BOOTSTRAP_SERVERS "
            "to use a broker you run yourself"
        )
    return found


def libs_dir(home: Path, version: str) -> Path:
    return home / version / "libs"


def jars_ready(home: Path, version: str) -> bool:
    return (home / version / COMPLETE_MARKER).is_file() and libs_dir(home, version).is_dir()


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock, so two processes do not resolve or start at the same time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_jars(home: Path, version: str) -> Path:
    """The folder of jars for `version`, resolving them with Maven the first time."""
    target = libs_dir(home, version)
    if jars_ready(home, version):
        return target
    if not POM_FILE.is_file():
        raise ConfigurationError(f"{POM_FILE} is missing: run from a checkout of media-stream")
    mvn = _mvn_executable()
    java_executable()  # fail before a long download when there is nothing to run the jars with
    with file_lock(home / version / ".resolve.lock"):
        if jars_ready(home, version):  # another process finished while we waited
            return target
        staging = home / version / f"libs.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        command = [
            mvn, "-q", "-B", "-f", str(POM_FILE), f"-Dkafka.version={version}",
            "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=RESOLVE_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise JarResolutionError(f"mvn did not finish within {RESOLVE_TIMEOUT_S}s") from exc
        jars = sorted(p.name for p in staging.glob("*.jar")) if staging.is_dir() else []
        if done.returncode != 0 or not any(name.startswith("kafka_2.13-") for name in jars):
            shutil.rmtree(staging, ignore_errors=True)
            output = (done.stdout + done.stderr).strip()[-3000:]
            raise JarResolutionError(
                f"could not resolve org.apache.kafka:kafka_2.13:{version} from Maven Central "
                f"(mvn exit {done.returncode}):\n{output}"
            )
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        (home / version / COMPLETE_MARKER).write_text("\n".join(jars) + "\n")
    return target
