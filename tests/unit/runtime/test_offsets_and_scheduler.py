"""The two pure pieces of the agent: what may be committed, and what may run next."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from media_stream.kafka.messages import ConsumedMessage
from media_stream.runtime.offsets import OffsetLedger
from media_stream.runtime.scheduler import Job, KeyScheduler

TP = ("requests", 0)


def test_commit_position_stops_at_the_lowest_unfinished_offset() -> None:
    ledger = OffsetLedger()
    for offset in (10, 11, 12, 13):
        ledger.add(TP, offset)
    ledger.finish(TP, 11)
    ledger.finish(TP, 13)
    assert ledger.advance() == {}  # 10 still runs: nothing may be committed
    ledger.finish(TP, 10)
    assert ledger.advance() == {TP: 12}  # 10 and 11 done; 12 still runs
    assert ledger.advance() == {}  # no movement, nothing to commit again
    ledger.finish(TP, 12)
    assert ledger.advance() == {TP: 14}
    assert ledger.unfinished() == 0


def test_revoked_partitions_are_forgotten() -> None:
    ledger = OffsetLedger()
    ledger.add(TP, 1)
    ledger.add(("requests", 1), 5)
    ledger.forget([TP])
    ledger.finish(TP, 1)
    ledger.finish(("requests", 1), 5)
    assert ledger.advance() == {("requests", 1): 6}


@given(st.permutations(list(range(20))))
def test_any_finishing_order_commits_exactly_the_finished_prefix(order: list[int]) -> None:
    ledger = OffsetLedger()
    for offset in range(20):
        ledger.add(TP, offset)
    finished: set[int] = set()
    committed = 0
    for offset in order:
        ledger.finish(TP, offset)
        finished.add(offset)
        moved = ledger.advance().get(TP)
        prefix = next(i for i in range(21) if i not in finished)
        if moved is not None:
            assert moved > committed
            committed = moved
        assert committed == prefix


def job(key: str, offset: int, steps: int = 1, size: int = 64) -> Job:
    message = ConsumedMessage("requests", 0, offset, key.encode(), b"")
    request = type("R", (), {"job_id": f"job-{key}-{offset}"})()
    return Job(key=key, message=message, request=request, steps=[size] * steps, trace="t")


def test_only_the_head_of_each_key_runs_and_compatible_heads_share_a_batch() -> None:
    scheduler = KeyScheduler()
    a1, a2, b1, c1 = job("a", 0), job("a", 1), job("b", 2), job("c", 3, size=128)
    for j in (a1, a2, b1, c1):
        scheduler.enqueue(j)
    batch = scheduler.take_batch(0.0, 8, lambda j: j.step)
    assert batch == [a1, b1]  # a2 waits for a1; c1 has another size
    assert scheduler.take_batch(0.0, 8, lambda j: j.step) == [c1]
    assert scheduler.take_batch(0.0, 8, lambda j: j.step) == []
    a1.running = False
    a1.next_step = 1
    assert scheduler.finished_heads() == [a1]
    scheduler.remove(a1)
    assert scheduler.take_batch(0.0, 8, lambda j: j.step) == [a2]


def test_backoff_holds_a_key_without_holding_the_others() -> None:
    scheduler = KeyScheduler()
    a, b = job("a", 0), job("b", 1)
    scheduler.enqueue(a)
    scheduler.enqueue(b)
    a.not_before = 10.0
    assert scheduler.take_batch(5.0, 8, lambda j: 0) == [b]
    assert scheduler.next_wakeup() == 10.0
    assert scheduler.take_batch(10.0, 8, lambda j: 0) == [a]


def test_batch_size_is_capped_and_revoked_jobs_are_flagged() -> None:
    scheduler = KeyScheduler()
    jobs = [job(f"k{i}", i) for i in range(5)]
    for j in jobs:
        scheduler.enqueue(j)
    assert len(scheduler.take_batch(0.0, 3, lambda j: 0)) == 3
    dropped = scheduler.revoke([("requests", 0)])
    assert len(dropped) == 5 and all(j.revoked for j in jobs)
    assert len(scheduler) == 0
