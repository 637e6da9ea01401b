"""The committer fences every transaction and retries the ones that fail (no broker: a fake producer).

On the old committer a transaction that moved no offset carried no group metadata check, a
failed transaction stopped the committer (and so the agent), and what it held for a revoked
partition was committed anyway."""

from __future__ import annotations

import threading
import time
from typing import Any

from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.producer import TransactionFailed
from media_stream.runtime.committer import TransactionCommitter

P0, P1 = ("requests", 0), ("requests", 1)


def _message(name: str) -> OutgoingMessage:
    return OutgoingMessage("out", name.encode(), name.encode())


class FakeProducer:
    """Records each commit; ``fail`` holds the errors the next commits raise, in order."""

    def __init__(self) -> None:
        self.commits: list[tuple[list[str], dict, Any]] = []
        self.attempts: list[tuple[list[str], dict, Any]] = []
        self.fail: list[TransactionFailed] = []
        self.renewed = 0
        self.needs_renewal = False
        self.gate = threading.Event()
        self.gate.set()

    def commit(self, messages: Any, offsets: Any, group_metadata: Any) -> None:
        self.gate.wait(10)
        attempt = ([m.key.decode() for m in messages], dict(offsets), group_metadata)
        self.attempts.append(attempt)
        if self.fail:
            raise self.fail.pop(0)
        self.commits.append(attempt)

    def renew(self) -> None:
        self.renewed += 1
        self.needs_renewal = False


def test_every_transaction_carries_the_positions_of_every_owned_partition() -> None:
    producer = FakeProducer()
    committer = TransactionCommitter(producer)  # type: ignore[arg-type]
    committer.submit([(P0, _message("a"))], {P0: 5, P1: 9}, "generation-7")
    committer.flush(5)
    committer.submit([(P1, _message("b"))], {P0: 5, P1: 9}, "generation-7")  # no position moved: still fenced
    committer.flush(5)
    committer.close()
    assert producer.commits == [(["a"], {P0: 5, P1: 9}, "generation-7"), (["b"], {P0: 5, P1: 9}, "generation-7")]


def test_an_abortable_failure_is_retried_with_the_current_metadata_and_only_what_is_still_owned() -> None:
    producer = FakeProducer()
    producer.fail = [TransactionFailed("Broker: Specified group generation id is not valid", code="ILLEGAL_GENERATION")]
    producer.gate.clear()
    committer = TransactionCommitter(producer)  # type: ignore[arg-type]
    committer.submit([(P0, _message("p0-scene")), (P1, _message("p1-scene"))], {P0: 3, P1: 4}, "generation-1")
    time.sleep(0.1)  # the committer is inside the transaction
    assert committer.discard([P0]) == 1  # the rebalance: P0 went to another agent
    producer.gate.set()
    committer.flush(5, lambda: "generation-2")  # the loop, waiting in its revoke callback, refreshes
    committer.close()
    assert producer.attempts[0] == (["p0-scene", "p1-scene"], {P0: 3, P1: 4}, "generation-1")
    assert producer.commits == [(["p1-scene"], {P1: 4}, "generation-2")]
    assert committer.failures == 1 and committer.discarded == 1


def test_a_fenced_producer_is_renewed_and_the_batch_tried_again() -> None:
    producer = FakeProducer()
    producer.fail = [TransactionFailed("Local: This instance has been fenced by a newer instance", fatal=True, code="_FENCED")]
    committer = TransactionCommitter(producer)  # type: ignore[arg-type]
    committer.submit([(P0, _message("a"))], {P0: 1}, "g")
    committer.flush(5)
    committer.close()
    assert producer.renewed == 1 and producer.commits == [(["a"], {P0: 1}, "g")]


def test_failures_keep_order_with_what_arrived_meanwhile_and_never_raise() -> None:
    producer = FakeProducer()
    producer.fail = [TransactionFailed("timed out", code="_TIMED_OUT")] * 4  # renewed after 3 in a row
    committer = TransactionCommitter(producer)  # type: ignore[arg-type]
    committer.submit([(P0, _message("first"))], {P0: 1}, "g")
    time.sleep(0.05)
    committer.submit([(P0, _message("second"))], {P0: 2}, "g")
    committer.flush(10, lambda: "g")
    committer.check()
    committer.close()
    assert producer.commits == [(["first", "second"], {P0: 2}, "g")]
    assert producer.renewed >= 1


def test_messages_of_no_owned_partition_are_never_sent_unfenced() -> None:
    producer = FakeProducer()
    committer = TransactionCommitter(producer)  # type: ignore[arg-type]
    committer.submit([(P0, _message("orphan"))], {}, "g")
    committer.flush(5)
    committer.close()
    assert producer.attempts == [] and committer.discarded == 1


def test_not_a_member_means_no_commit_until_the_group_says_so() -> None:
    producer = FakeProducer()
    committer = TransactionCommitter(producer)  # type: ignore[arg-type]
    committer.submit([(P0, _message("a"))], {P0: 1}, None)  # EventConsumer.member_metadata() between losing and rejoining
    time.sleep(0.3)
    assert producer.commits == [] and committer.stale
    committer.refresh("generation-3")  # the loop's next turn
    committer.flush(5)
    committer.close()
    assert producer.commits == [(["a"], {P0: 1}, "generation-3")]


def test_a_try_stuck_past_its_limit_is_abandoned_and_the_batch_committed_by_a_renewed_producer() -> None:
    """librdkafka's send_offsets_to_transaction can ignore its timeout (issues 5456, 5511)."""
    release = threading.Event()

    class StuckOnce(FakeProducer):
        def mark_for_renewal(self) -> None:
            self.needs_renewal = True

        def commit(self, messages: Any, offsets: Any, group_metadata: Any) -> None:
            if not self.attempts:
                self.attempts.append(([m.key.decode() for m in messages], dict(offsets), group_metadata))
                release.wait(10)  # the stuck call
                raise TransactionFailed("fenced by the renewed producer", fatal=True, code="_FENCED")
            super().commit(messages, offsets, group_metadata)

    producer = StuckOnce()
    committer = TransactionCommitter(producer, stuck_after_s=0.3)  # type: ignore[arg-type]
    committer.submit([(P0, _message("a"))], {P0: 1}, "g")
    time.sleep(0.5)
    committer.flush(5, lambda: "g")  # the loop's next call sees the try is stuck
    release.set()
    committer.close()
    assert committer.abandoned == 1 and producer.renewed == 1
    assert producer.commits == [(["a"], {P0: 1}, "g")]
