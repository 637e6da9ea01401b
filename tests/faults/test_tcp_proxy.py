"""The fault suite's TCP proxy does what the network-partition scenario relies on (no broker: an
echo server on loopback): it relays; a blackhole holds bytes without losing them and delivers
them on restore; a reset breaks open connections and refuses new ones until restore."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.faults.tcp_proxy import TcpProxy


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(4096):
                    conn.sendall(data)
            except OSError:
                pass  # the proxy reset the connection: what the test does on purpose

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()
    server.close()


def _client(proxy: TcpProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=5)


def _answer(sock: socket.socket, data: bytes) -> bytes:
    """What comes back for ``data``: b"" when the connection is closed or reset."""
    try:
        sock.sendall(data)
        return sock.recv(len(data))
    except (ConnectionResetError, BrokenPipeError):
        return b""


def test_relays_holds_in_a_blackhole_and_delivers_on_restore(echo: tuple[str, int]) -> None:
    proxy = TcpProxy(echo)
    try:
        client = _client(proxy)
        client.sendall(b"hello")
        assert client.recv(5) == b"hello"
        proxy.blackhole()
        client.sendall(b"late")
        client.settimeout(0.6)
        with pytest.raises(TimeoutError):
            client.recv(4)  # nothing passes while the network is cut
        proxy.restore()
        client.settimeout(5)
        assert client.recv(4) == b"late"  # held, not lost
        client.close()
    finally:
        proxy.close()


def test_a_reset_breaks_open_connections_and_refuses_new_ones_until_restore(echo: tuple[str, int]) -> None:
    proxy = TcpProxy(echo)
    try:
        client = _client(proxy)
        client.sendall(b"x")
        assert client.recv(1) == b"x"
        proxy.reset()
        assert _answer(client, b"y") == b""  # reset: no echo, the connection is gone
        try:
            refused = _client(proxy)
        except ConnectionResetError:
            pass  # reset before the connect returned
        else:
            assert _answer(refused, b"w") == b""  # accepted and closed at once while cut
            refused.close()
        proxy.restore()
        again = _client(proxy)
        again.sendall(b"z")
        assert again.recv(1) == b"z"
        for sock in (client, again):
            sock.close()
    finally:
        proxy.close()
