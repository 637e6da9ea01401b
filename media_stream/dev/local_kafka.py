"""A real single-node Apache Kafka broker (KRaft, broker+controller) on loopback, for dev and tests.

The jars come from Maven Central (see kafka_jars); the broker runs as a detached JVM of its own
session, so it outlives `media-stream dev up`. Layout under ``data_dir`` (default
``<home>/data``)::

    broker.json        ports and cluster id, kept across restarts (ports reused when free)
    config/            server.properties and log4j2.yaml written at each start
    kraft/             log.dirs: the metadata log and the partitions
    logs/              server.log (log4j2), state-change.log, stdout.log (the JVM's own output)

The running broker is recorded in the state file (``<home>/state.json``, read by
``media_stream.kafka.config.resolve_bootstrap``; ``<data_dir>/state.json`` when ``data_dir`` is
given, so an isolated test broker never replaces the dev broker's entry).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from media_stream.config import Settings
from media_stream.dev.kafka_jars import LOG4J2_CONFIG, ensure_jars, file_lock, java_executable
from media_stream.dev.server_properties import (
    HOST,
    SaslSslListener,
    free_port,
    new_cluster_id,
    port_free,
    read_properties,
    render_server_properties,
)
from media_stream.domain.errors import MediaStreamError
from media_stream.kafka.config import local_state_path
from media_stream.kafka.probe import BrokerUnavailable, describe_cluster, wait_until_ready

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0
TAIL_LINES = 30
_children: dict[int, subprocess.Popen[bytes]] = {}  # brokers this process spawned, by pid, to reap them


class LocalKafkaError(MediaStreamError):
    """The local broker did not start; the message ends with the relevant part of its log."""


@dataclass(frozen=True)
class LocalKafkaStatus:
    running: bool  # the recorded broker process is alive
    pid: int | None = None
    bootstrap: str | None = None
    version: str | None = None
    topics: int | None = None  # topics other than internal ones, when the broker answered
    error: str | None = None  # why it is not healthy (no answer, stale state file)
    data_dir: Path | None = None
    log_file: Path | None = None

    @property
    def healthy(self) -> bool:
        return self.running and self.error is None


@dataclass(frozen=True)
class StartOutcome:
    bootstrap: str
    pid: int
    already_running: bool
    seconds: float


class LocalKafka:
    """Start, probe and stop the local broker described by ``settings.local_kafka``.

    As a context manager it starts the broker and, on exit, stops it only if it started it.
    """

    def __init__(self, settings: Settings, data_dir: Path | None = None, sasl_ssl: SaslSslListener | None = None) -> None:
        self.config = settings.local_kafka
        self.sasl_ssl = sasl_ssl  # an extra SASL_SSL client listener (see SaslSslListener)
        self.version = self.config.kafka_version
        self.home = self.config.home.expanduser().absolute()  # the JVM runs with cwd = data_dir
        self.data_dir = Path(data_dir).expanduser().absolute() if data_dir is not None else self.home / "data"
        self.state_path = local_state_path(settings) if data_dir is None else self.data_dir / "state.json"
        self.server_properties = self.data_dir / "config" / "server.properties"
        self.log_file = self.data_dir / "logs" / "server.log"
        self.stdout_file = self.data_dir / "logs" / "stdout.log"
        self._started_here = False

    # -- public API ---------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str | None:
        """host:port of the running broker, from the state file (None when not started)."""
        state = self._read_state()
        return state["bootstrap"] if state else None

    @property
    def sasl_ssl_bootstrap(self) -> str | None:
        """host:port of the SASL_SSL listener (None when the broker has none or is not started)."""
        state = self._read_state()
        return state.get("sasl_ssl_bootstrap") if state else None

    def start(self) -> StartOutcome:
        """Start the broker and wait until it answers; a no-op when it already runs and answers."""
        began = time.monotonic()
        timeout_s = self.config.start_timeout_s
        with file_lock(self.data_dir / ".start.lock"):
            state = self._read_state()
            if state and self._alive(state["pid"]):
                pid, bootstrap = state["pid"], state["bootstrap"]
                try:
                    wait_until_ready(bootstrap, timeout_s, keep_waiting=lambda: self._alive(pid))
                except BrokerUnavailable as exc:
                    raise LocalKafkaError(
                        f"local Kafka (pid {pid}) runs but does not answer at {bootstrap}: {exc}\n"
                        f"{self._excerpt({})}"
                    ) from exc
                log.info("local Kafka already running at %s (pid %s)", bootstrap, pid)
                running_version = state.get("version")
                if running_version != self.version:
                    log.warning("running broker is Kafka %s, not %s: `dev down` first", running_version, self.version)
                return StartOutcome(bootstrap, pid, True, time.monotonic() - began)
            if state:
                log.info("removing stale state file %s (pid %s is gone)", self.state_path, state["pid"])
                self.state_path.unlink(missing_ok=True)

            libs = ensure_jars(self.home, self.version)
            identity = self._identity()
            self._write_config(identity)
            self._format(libs, identity["cluster_id"])
            offsets = {p: p.stat().st_size if p.exists() else 0 for p in (self.log_file, self.stdout_file)}
            proc = self._spawn(libs)
            bootstrap = f"{HOST}:{identity['port']}"
            self._write_state(proc.pid, bootstrap, identity)
            try:
                wait_until_ready(bootstrap, timeout_s, keep_waiting=lambda: proc.poll() is None)
            except BaseException as exc:  # also ^C: a broker nobody waited for is not left behind
                code = proc.poll()
                self._terminate(proc.pid, timeout_s=10.0)
                self.state_path.unlink(missing_ok=True)
                if not isinstance(exc, BrokerUnavailable):
                    raise
                why = f"exited with code {code}" if code is not None else f"did not answer within {timeout_s:g}s"
                raise LocalKafkaError(
                    f"local Kafka {self.version} at {bootstrap} {why}.\n{self._excerpt(offsets)}"
                ) from exc
        seconds = time.monotonic() - began
        self._started_here = True
        log.info("local Kafka %s started at %s (pid %s) in %.1fs", self.version, bootstrap, proc.pid, seconds)
        return StartOutcome(bootstrap, proc.pid, False, seconds)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """SIGTERM, wait up to timeout_s, then SIGKILL; remove the state file. True if one was running."""
        state = self._read_state()
        if state is None:
            return False
        was_running = self._alive(state["pid"])
        if was_running:
            self._terminate(state["pid"], timeout_s)
        self.state_path.unlink(missing_ok=True)
        self._started_here = False
        return was_running

    def status(self, timeout_s: float = 5.0) -> LocalKafkaStatus:
        """Process alive? Answering? How many topics? Never raises for a broker that is down."""
        state = self._read_state()
        common = {"data_dir": self.data_dir, "log_file": self.log_file}
        if state is None:
            return LocalKafkaStatus(False, version=self.version, **common)
        pid, bootstrap, version = state["pid"], state["bootstrap"], state.get("version")
        if not self._alive(pid):
            error = f"stale state file {self.state_path}: process {pid} is gone"
            return LocalKafkaStatus(False, pid, bootstrap, version, error=error, **common)
        try:
            summary = describe_cluster(bootstrap, timeout_s)
        except BrokerUnavailable as exc:
            return LocalKafkaStatus(True, pid, bootstrap, version, error=str(exc), **common)
        return LocalKafkaStatus(True, pid, bootstrap, version, topics=summary.topics, **common)

    def __enter__(self) -> LocalKafka:
        self._started_here = not self.start().already_running
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._started_here:
            self.stop()

    # -- configuration ------------------------------------------------------------------------

    def _identity(self) -> dict[str, Any]:
        """Ports and cluster id: remembered in broker.json, ports reused when still free."""
        path = self.data_dir / "broker.json"
        known = json.loads(path.read_text()) if path.exists() else {}
        port = self.config.port or known.get("port")
        if not self.config.port and (not port or not port_free(port)):
            port = free_port(exclude=set())
        controller_port = known.get("controller_port")
        if not controller_port or controller_port == port or not port_free(controller_port):
            controller_port = free_port(exclude={port})
        meta = self.data_dir / "kraft" / "meta.properties"
        cluster_id = read_properties(meta).get("cluster.id") if meta.exists() else None
        identity = {
            "port": port,
            "controller_port": controller_port,
            "cluster_id": cluster_id or known.get("cluster_id") or new_cluster_id(),
        }
        if self.sasl_ssl is not None:
            secure_port = known.get("sasl_ssl_port")
            if not secure_port or secure_port in (port, controller_port) or not port_free(secure_port):
                secure_port = free_port(exclude={port, controller_port})
            identity["sasl_ssl_port"] = secure_port
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(identity, indent=2) + "\n")
        return identity

    def _write_config(self, identity: dict[str, Any]) -> None:
        text = render_server_properties(
            self.version, identity["port"], identity["controller_port"], self.data_dir / "kraft",
            self.sasl_ssl, identity.get("sasl_ssl_port"),
        )  # fmt: skip
        self.server_properties.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.server_properties.write_text(text)
        (self.server_properties.parent / "log4j2.yaml").write_text(LOG4J2_CONFIG.read_text())

    def _java(self, libs: Path) -> list[str]:
        return [
            java_executable(),
            f"-Dlog4j2.configurationFile={self.server_properties.parent / 'log4j2.yaml'}",
            f"-Dkafka.logs.dir={self.log_file.parent}",
            "-cp",
            f"{libs}/*",
        ]

    def _format(self, libs: Path, cluster_id: str) -> None:
        """Format the metadata log once (StorageTool); later starts find meta.properties."""
        if (self.data_dir / "kraft" / "meta.properties").exists():
            return
        command = self._java(libs) + [
            "kafka.tools.StorageTool", "format", "--ignore-formatted",
            "--cluster-id", cluster_id, "--config", str(self.server_properties),
        ]  # fmt: skip
        if self.sasl_ssl is not None:
            command += self.sasl_ssl.scram_arguments()
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()[-3000:]
            raise LocalKafkaError(f"formatting {self.data_dir / 'kraft'} failed (exit {done.returncode}):\n{output}")

    # -- process ------------------------------------------------------------------------------

    def _spawn(self, libs: Path) -> subprocess.Popen[bytes]:
        heap = self.config.heap
        command = self._java(libs)
        command[1:1] = [f"-Xmx{heap}", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true"]
        command += ["kafka.Kafka", str(self.server_properties)]
        with open(self.stdout_file, "ab") as out:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # detached: outlives the command that started it, no ^C
            )
        _children[proc.pid] = proc
        return proc

    def _alive(self, pid: int) -> bool:
        """Is pid our broker? Guards against a reused pid by reading its command line on Linux."""
        child = _children.get(pid)
        if child is not None:
            return child.poll() is None
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.parent.exists():  # a zombie's command line is empty, so it counts as gone
            try:
                text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                return False
            return "kafka.Kafka" in text and str(self.server_properties) in text
        return True

    def _terminate(self, pid: int, timeout_s: float) -> None:
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait_s
            while self._alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self._alive(pid):
                break
            log.warning("local Kafka (pid %s) ignored %s for %.0fs", pid, sig.name, wait_s)
        child = _children.pop(pid, None)
        if child is not None:
            child.wait(timeout=5)

    # -- files --------------------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any] | None:
        try:
            state = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("ignoring unreadable state file %s", self.state_path)
            return None
        return state if isinstance(state, dict) and "pid" in state and "bootstrap" in state else None

    def _write_state(self, pid: int, bootstrap: str, identity: dict[str, Any]) -> None:
        state = {
            "bootstrap": bootstrap,
            "pid": pid,
            "port": identity["port"],
            "controller_port": identity["controller_port"],
            "cluster_id": identity["cluster_id"],
            "version": self.version,
            "data_dir": str(self.data_dir),
            "log_file": str(self.log_file),
            "stdout_file": str(self.stdout_file),
            **({"sasl_ssl_bootstrap": f"{HOST}:{identity['sasl_ssl_port']}"} if "sasl_ssl_port" in identity else {}),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_path.with_name(self.state_path.name + f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(partial, self.state_path)

    def _excerpt(self, offsets: dict[Path, int]) -> str:
        """The errors and the last lines each log got since ``offsets`` (byte positions per file)."""
        parts = []
        for path in (self.log_file, self.stdout_file):
            if not path.exists():
                continue
            size = path.stat().st_size
            start = offsets.get(path, max(0, size - 256 * 1024))  # by default, the recent part
            with open(path, "rb") as handle:
                handle.seek(start if start <= size else 0)  # smaller than before: it rolled over
                lines = handle.read().decode(errors="replace").splitlines()
            if not lines:
                continue
            errors = [line for line in lines if _is_error(line)][:12]
            if errors:
                parts.append(f"errors in {path}:\n" + "\n".join(errors))
            parts.append(f"last lines of {path}:\n" + "\n".join(lines[-TAIL_LINES:]))
        return "\n".join(parts) or f"(no log output in {self.log_file.parent})"


def _is_error(line: str) -> bool:
    return " ERROR " in line or " FATAL " in line or line.startswith("Caused by:")
