"""Catching a SQLite view up with compacted topics: the rows and the next offset of each partition
are stored in one SQLite transaction, so a view restarted later reads only what is new."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from media_stream.config import Settings
from media_stream.domain.errors import MediaStreamError
from media_stream.kafka.admin import TopicAdmin
from media_stream.kafka.messages import ConsumedMessage
from media_stream.kafka.partition_reader import read_to_end


def views_dir(settings: Settings) -> Path:
    """Where the local SQLite views live by default: beside the local broker's home."""
    return settings.local_kafka.home.parent / "views"


POSITIONS_TABLE = "CREATE TABLE IF NOT EXISTS positions (topic TEXT, partition INTEGER, next_offset INTEGER, PRIMARY KEY (topic, partition));"


def catch_up(
    db: sqlite3.Connection,
    settings: Settings,
    bootstrap: str | None,
    topics: Sequence[str],
    apply: Callable[[str, ConsumedMessage], int],
    timeout_s: float,
    what: str,
) -> int:
    """Apply ``apply(topic, message)`` to what ``topics`` hold beyond the stored positions; returns
    the sum of what it returned. ``what`` names the topics in the error when one is missing."""
    live = TopicAdmin(settings, bootstrap).live_topics(list(topics))
    missing = [t for t in topics if t not in live]
    if missing:
        raise MediaStreamError(f"{what} {', '.join(missing)} {'does' if len(missing) == 1 else 'do'} not exist (run `media-stream topics apply`)")
    tps = [(t, p) for t in topics for p in range(live[t].partitions)]
    stored = {(t, p): o for t, p, o in db.execute("SELECT topic, partition, next_offset FROM positions")}
    read = read_to_end(settings, bootstrap, tps, timeout_s, start={tp: o for tp, o in stored.items() if tp in tps})
    applied = 0
    with db:
        for (topic, partition), messages in read.items():
            for message in messages:
                applied += apply(topic, message)
            if messages:
                db.execute("INSERT OR REPLACE INTO positions VALUES (?, ?, ?)", (topic, partition, messages[-1].offset + 1))
    return applied
