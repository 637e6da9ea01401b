"""``Idempotency-Key``: the same key with the same body answers the first response again and
publishes nothing; the same key with another body is a 409.

Kept in memory, bounded (least recently used keys are forgotten past ``capacity``, and any key
after ``ttl_s``): enough for one gateway replica. Several replicas behind a load balancer would
need a shared store (or sticky routing by key). Keys are scoped by the caller's token name and
the route, so two callers' keys never collide. Concurrent requests with one key are serialized:
the second waits for the first and gets its answer.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_KEY_CHARS = 255


class IdempotencyConflict(Exception):
    """The key was used before with a different body."""


@dataclass(frozen=True)
class Remembered:
    fingerprint: str
    status_code: int
    body: dict[str, Any]
    stored_at: float


def fingerprint(body: Any) -> str:
    """A digest of the request body's canonical JSON."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, capacity: int = 10_000, ttl_s: float = 24 * 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[tuple[str, ...], Remembered] = OrderedDict()
        self._locks: dict[tuple[str, ...], tuple[threading.Lock, int]] = {}  # lock, requests using it
        self._guard = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _lookup(self, key: tuple[str, ...]) -> Remembered | None:
        with self._guard:
            entry = self._entries.get(key)
            if entry is not None and self._clock() - entry.stored_at > self.ttl_s:
                del self._entries[key]
                entry = None
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def _remember(self, key: tuple[str, ...], entry: Remembered) -> None:
        with self._guard:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def run(self, key: tuple[str, ...], digest: str, produce: Callable[[], tuple[int, dict[str, Any]]]) -> tuple[int, dict[str, Any], bool]:
        """(status, body, replayed): the remembered answer for ``key``, or ``produce()``'s (kept
        when it succeeded). IdempotencyConflict when ``key`` was used with another body."""
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                entry = self._lookup(key)
                if entry is not None:
                    if entry.fingerprint != digest:
                        raise IdempotencyConflict(key[-1])
                    return entry.status_code, entry.body, True
                status_code, body = produce()
                if status_code < 400:
                    self._remember(key, Remembered(digest, status_code, body, self._clock()))
                return status_code, body, False
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)
