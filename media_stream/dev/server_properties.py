"""What the local broker is configured with: server.properties, cluster id, loopback ports."""

from __future__ import annotations

import base64
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HOST = "127.0.0.1"
SCRAM_MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class SaslSslListener:
    """An extra client listener with TLS and SCRAM-SHA-512, as production brokers have.

    ``keystore``: a PEM file with the broker's private key (unencrypted PKCS#8) and its
    certificate chain; ``truststore``: a PEM file of the CA(s) whose client certificates are
    accepted; ``users``: SCRAM credentials (name, password), written into the metadata log when
    the storage is formatted (KRaft has no ZooKeeper to add them to later).
    """

    keystore: Path
    truststore: Path
    users: tuple[tuple[str, str], ...]
    client_auth: Literal["required", "requested", "none"] = "required"

    def scram_arguments(self) -> list[str]:
        """StorageTool arguments that create the users."""
        out: list[str] = []
        for name, password in self.users:
            out += ["--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]"]
        return out


def _sasl_ssl_properties(listener: SaslSslListener) -> dict[str, object]:
    prefix = "listener.name.sasl_ssl."
    return {
        "sasl.enabled.mechanisms": SCRAM_MECHANISM,
        f"{prefix}{SCRAM_MECHANISM.lower()}.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        f"{prefix}ssl.keystore.type": "PEM",
        f"{prefix}ssl.keystore.location": listener.keystore,
        f"{prefix}ssl.truststore.type": "PEM",
        f"{prefix}ssl.truststore.location": listener.truststore,
        f"{prefix}ssl.client.auth": listener.client_auth,
    }


def render_server_properties(
    version: str,
    port: int,
    controller_port: int,
    log_dirs: Path,
    sasl_ssl: SaslSslListener | None = None,
    sasl_ssl_port: int | None = None,
) -> str:
    """A single node that is broker and controller (KRaft, static voter), on loopback only.

    Replication factors and min.isr are 1 so consumer groups and transactions work on one node;
    topics are never created implicitly, as in production. With ``sasl_ssl`` a SASL_SSL client
    listener on ``sasl_ssl_port`` joins the PLAINTEXT one (which brokers and admin tools keep).
    """
    properties: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.voters": f"1@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": log_dirs,
        "num.partitions": 1,
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        "offsets.topic.replication.factor": 1,
        "offsets.topic.num.partitions": 4,  # one broker: 50 partitions would only slow first use
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "transaction.state.log.num.partitions": 4,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,
        "auto.create.topics.enable": "false",
    }
    if sasl_ssl is not None:
        if sasl_ssl_port is None:
            raise ValueError("a SASL_SSL listener needs its port")
        properties["listeners"] = f"PLAINTEXT://{HOST}:{port},SASL_SSL://{HOST}:{sasl_ssl_port},CONTROLLER://{HOST}:{controller_port}"
        properties["advertised.listeners"] = f"PLAINTEXT://{HOST}:{port},SASL_SSL://{HOST}:{sasl_ssl_port}"
        properties["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
        properties.update(_sasl_ssl_properties(sasl_ssl))
    header = f"# Written by media_stream.dev.local_kafka for Kafka {version}; rewritten at each start.\n"
    return header + "".join(f"{key}={value}\n" for key, value in properties.items())


def read_properties(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (as Uuid.randomUuid).

    Like Kafka, never one that starts with "-": the storage tool would read it as an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def port_free(port: int) -> bool:
    """Could the broker listen on HOST:port now? (SO_REUSEADDR as the JVM binds.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(exclude: set[int]) -> int:
    """An ephemeral port on HOST that the kernel says is free, other than those in exclude."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        if port not in exclude:
            return port
