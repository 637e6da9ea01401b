"""What the local broker is configured with: server.properties, cluster id, loopback ports."""

from __future__ import annotations

import base64
import socket
import uuid
from pathlib import Path

HOST = "127.0.0.1"


def render_server_properties(version: str, port: int, controller_port: int, log_dirs: Path) -> str:
    """A single node that is broker and controller (KRaft, static voter), on loopback only.

    Replication factors and min.isr are 1 so consumer groups and transactions work on one node;
    topics are never created implicitly, as in production.
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
