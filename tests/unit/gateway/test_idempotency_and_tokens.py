"""The idempotency store's bounds and the token table, without a broker."""

from __future__ import annotations

import threading

import pytest
from pydantic import SecretStr

from media_stream.config import GatewayToken, Settings
from media_stream.gateway.auth import Principal, TokenTable
from media_stream.gateway.idempotency import IdempotencyConflict, IdempotencyStore, fingerprint


def test_same_key_same_body_replays_and_another_body_conflicts() -> None:
    store = IdempotencyStore(capacity=10, ttl_s=60)
    calls = []

    def produce() -> tuple[int, dict]:
        calls.append(1)
        return 202, {"jobId": f"job-{len(calls)}"}

    key = ("alice", "POST", "/x", "k1")
    assert store.run(key, fingerprint({"a": 1, "b": 2}), produce) == (202, {"jobId": "job-1"}, False)
    assert store.run(key, fingerprint({"b": 2, "a": 1}), produce) == (202, {"jobId": "job-1"}, True)  # key order is not a new body
    with pytest.raises(IdempotencyConflict):
        store.run(key, fingerprint({"a": 2}), produce)
    assert len(calls) == 1


def test_the_store_is_bounded_by_capacity_and_ttl() -> None:
    now = [0.0]
    store = IdempotencyStore(capacity=2, ttl_s=10, clock=lambda: now[0])
    made = []

    def produce() -> tuple[int, dict]:
        made.append(1)
        return 202, {"n": len(made)}

    for name in ("a", "b", "c"):
        store.run((name,), "d", produce)
    assert len(store) == 2
    assert store.run(("a",), "d", produce)[2] is False  # the oldest key was forgotten
    assert store.run(("c",), "d", produce)[2] is True
    now[0] = 11.0
    assert store.run(("c",), "d", produce)[2] is False  # expired
    assert len(made) == 5


def test_errors_are_not_remembered_and_concurrent_calls_produce_once() -> None:
    store = IdempotencyStore()
    assert store.run(("k",), "d", lambda: (422, {"error": "x"})) == (422, {"error": "x"}, False)
    started, release, made = threading.Event(), threading.Event(), []

    def slow() -> tuple[int, dict]:
        made.append(1)
        started.set()
        release.wait(5)
        return 202, {"ok": True}

    results = []
    threads = [threading.Thread(target=lambda: results.append(store.run(("k",), "d", slow))) for _ in range(3)]
    for t in threads:
        t.start()
    started.wait(5)
    release.set()
    for t in threads:
        t.join(5)
    assert len(made) == 1 and sorted(r[2] for r in results) == [False, True, True]


def test_token_table_finds_the_principal_and_never_a_prefix() -> None:
    table = TokenTable([
        GatewayToken(name="alice", token=SecretStr("tok-alice-123"), kind="user", scopes=["images:read"]),
        GatewayToken(name="farm", token=SecretStr("tok-farm-456"), kind="service", scopes=["*"]),
    ])
    assert table.lookup("tok-alice-123") == Principal("alice", "user", frozenset({"images:read"}))
    assert table.lookup("tok-farm-456").has_scope("models:read")  # type: ignore[union-attr]
    assert table.lookup("tok-alice-12") is None and table.lookup("") is None and table.lookup("tok-alice-1234") is None


def test_tokens_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_STREAM_GATEWAY__TOKENS", '[{"name": "ci", "token": "s3cret", "kind": "service", "scopes": ["*"]}]')
    monkeypatch.setenv("MEDIA_STREAM_GATEWAY__PORT", "9090")
    gateway = Settings().gateway
    assert gateway.port == 9090 and gateway.tokens[0].name == "ci" and gateway.tokens[0].kind == "service"
    assert gateway.tokens[0].token.get_secret_value() == "s3cret" and "s3cret" not in repr(gateway)
