"""The dedupe window's sweep: oldest rows first, a tombstone each, and it stops at the first live row."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from media_stream.kafka.messages import ConsumedMessage
from media_stream.config import PROJECT_ROOT
from media_stream.serde.codec import EventCodec
from media_stream.serde.schema_store import load_schema_store
from media_stream.state.changelog import ChangelogTable, TableSpec
from media_stream.state.records import RequestHandled

CODEC = EventCodec(load_schema_store(PROJECT_ROOT / "schemas" / "media" / "v1"))
T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def handled(n: int, minutes: int) -> RequestHandled:
    return RequestHandled(f"r{n}", f"j{n}", "proj", "completed", handled_at=T0 + timedelta(minutes=minutes))


def test_expire_drops_the_rows_past_the_cutoff_with_a_tombstone_each() -> None:
    table = ChangelogTable(TableSpec("dedupe", RequestHandled), CODEC)
    for n, minutes in enumerate([0, 1, 2, 10]):
        table.put(n % 2, handled(n, minutes).key, handled(n, minutes))
    cutoff = T0 + timedelta(minutes=5)
    tombstones = table.expire(lambda row: row.handled_at < cutoff)
    assert sorted((t.partition, t.key, t.value) for t in tombstones) == [(0, b"proj/r0/v1", None), (0, b"proj/r2/v1", None), (1, b"proj/r1/v1", None)]
    assert [r.request_id for r in table.values()] == ["r3"]
    assert table.expire(lambda row: row.handled_at < cutoff) == []  # nothing left to drop


def test_the_sweep_stops_at_the_first_live_row_and_takes_the_rest_on_a_later_sweep() -> None:
    table = ChangelogTable(TableSpec("dedupe", RequestHandled), CODEC)
    for n, minutes in enumerate([0, 9, 1]):  # r2 was written after r1 but is older (a clock step)
        table.put(0, handled(n, minutes).key, handled(n, minutes))
    assert [t.key for t in table.expire(lambda row: row.handled_at < T0 + timedelta(minutes=5))] == [b"proj/r0/v1"]
    assert [t.key for t in table.expire(lambda row: row.handled_at < T0 + timedelta(minutes=10))] == [b"proj/r1/v1", b"proj/r2/v1"]


def test_rows_restored_from_the_changelog_expire_in_changelog_order() -> None:
    codec = CODEC
    source = ChangelogTable(TableSpec("dedupe", RequestHandled), codec)
    written = [source.put(3, handled(n, n).key, handled(n, n)) for n in range(4)]
    written.append(source.delete(3, handled(1, 1).key))
    messages = [ConsumedMessage("dedupe", 3, offset, m.key, m.value, ()) for offset, m in enumerate(written)]
    table = ChangelogTable(TableSpec("dedupe", RequestHandled), codec)
    assert table.restore(3, messages) == 3
    tombstones = table.expire(lambda row: row.handled_at < T0 + timedelta(minutes=2, seconds=30))
    assert [t.key for t in tombstones] == [b"proj/r0/v1", b"proj/r2/v1"]
