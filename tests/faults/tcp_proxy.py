"""A TCP proxy between one client and the broker, that the test can partition and heal.

``TcpProxy(upstream)`` listens on a free loopback port and relays every connection to
``upstream`` on two threads. Faults:

- ``blackhole()``: relaying stops both ways; connections stay open and bytes wait (in the proxy
  and the kernel's buffers), as in a partition TCP rides out; ``restore()`` delivers them late.
- ``reset()``: every open connection is reset (RST) and, until ``restore()``, new ones are
  accepted and closed at once: a partition the client notices.

For Kafka the proxy must be the address the broker *advertises* to this client (clients connect
to the advertised listener after bootstrap): see ``tests.faults.own_broker.OwnKafka``, a local
broker with one listener per proxy, each advertised at its proxy's port.
"""

from __future__ import annotations

import socket
import struct
import threading

from media_stream.dev.server_properties import HOST

_CHUNK = 64 * 1024


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], port: int | None = None) -> None:
        self.upstream = upstream
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((HOST, port or 0))
        self._server.listen(64)
        self.port: int = self._server.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._refusing = False
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = False
        self.connections = 0  # accepted and relayed, over the proxy's life
        threading.Thread(target=self._accept, name=f"proxy-{self.port}", daemon=True).start()

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def blackhole(self) -> None:
        self._flowing.clear()

    def reset(self) -> None:
        with self._lock:
            self._refusing = True
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _reset(sock)

    def restore(self) -> None:
        with self._lock:
            self._refusing = False
        self._flowing.set()

    def close(self) -> None:
        self._closed = True
        self.reset()
        self._flowing.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                refusing = self._refusing
            if refusing:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                _reset(client)
                continue
            for sock in (client, upstream):
                sock.settimeout(0.2)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._pairs.append((client, upstream))
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self._closed:
                self._flowing.wait()
                try:
                    data = source.recv(_CHUNK)
                except TimeoutError:
                    continue
                if not data:
                    break
                self._flowing.wait()  # a blackhole holds what was read until the network heals
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _reset(sock)


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
