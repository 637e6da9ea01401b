"""A broker of the test's own (a local KRaft Kafka in the test's tmp dir), for scenarios that need
broker settings the shared one lacks or connections they can cut.

``OwnKafka(settings, data_dir, proxies=N, properties={...})``: besides its PLAINTEXT listener
(brokers, admin, the test's own clients), one listener per proxy: PROXY<i> listens on a port of
its own and is advertised at ``proxies[i]``'s port (a ``TcpProxy`` relaying to it), so a client
bootstrapped through a proxy keeps every connection through it (Kafka clients reconnect to the
advertised address, so a proxy in front of the bootstrap alone would be bypassed).
``properties`` are added to server.properties (e.g. a lower ``group.min.session.timeout.ms``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from media_stream.config import Settings
from media_stream.dev.local_kafka import LocalKafka
from media_stream.dev.server_properties import HOST, free_port
from tests.faults.tcp_proxy import TcpProxy


class OwnKafka(LocalKafka):
    def __init__(self, settings: Settings, data_dir: Path, proxies: int = 0, properties: Mapping[str, object] | None = None) -> None:
        super().__init__(settings, data_dir=data_dir)
        self.properties = dict(properties or {})
        self.backend_ports = [free_port(exclude=set()) for _ in range(proxies)]
        self.proxies = [TcpProxy((HOST, port)) for port in self.backend_ports]

    def _write_config(self, identity: dict[str, Any]) -> None:
        super()._write_config(identity)
        text = self.server_properties.read_text()
        if self.proxies:
            names = [f"PROXY{i}" for i in range(len(self.proxies))]
            listen = ",".join(f"{n}://{HOST}:{p}" for n, p in zip(names, self.backend_ports))
            advertise = ",".join(f"{n}://{HOST}:{proxy.port}" for n, proxy in zip(names, self.proxies))
            text = re.sub(r"^(listeners=PLAINTEXT://[^,\n]+)", rf"\1,{listen}", text, flags=re.M)
            text = re.sub(r"^(advertised\.listeners=PLAINTEXT://[^,\n]+)", rf"\1,{advertise}", text, flags=re.M)
            text = re.sub(r"^(listener\.security\.protocol\.map=)", r"\1" + "".join(f"{n}:PLAINTEXT," for n in names), text, flags=re.M)
        text += "".join(f"{key}={value}\n" for key, value in self.properties.items())
        self.server_properties.write_text(text)

    def stop(self, timeout_s: float = 30.0) -> bool:
        for proxy in self.proxies:
            proxy.close()
        return super().stop(timeout_s)


@contextmanager
def own_kafka(data_dir: Path, proxies: int = 0, properties: Mapping[str, object] | None = None) -> Iterator[OwnKafka]:
    """Started, and stopped at the end; the jar cache is shared, data and ports are the test's."""
    base = Settings()
    settings = base.model_copy(update={"local_kafka": base.local_kafka.model_copy(update={"port": 0, "heap": "384m"})})
    broker = OwnKafka(settings, data_dir, proxies, properties)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
