"""Bad input at scale against a real agent and broker: thousands of malformed, oversized and
adversarial request messages, drawn by hypothesis, with good requests interleaved. The agent
never stops; every bad message is dead-lettered with its reason (and fails its job when a job
id can be read); every good request completes. Bad control messages go, once each, to the
control DLQ.

``MEDIA_STREAM_FUZZ_COUNT`` sets how many bad messages (default 2500); ``MEDIA_STREAM_FUZZ_SEED``
the hypothesis seed; ``MEDIA_STREAM_FUZZ_REPORT`` a JSON file for the figures (docs/reliability.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, DeadLetter, JobFailed, JobStatusChanged
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from tests.fuzz.corpus import Sent, control_garbage, is_really_bad, is_really_bad_control, plan_run
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect
from tests.helpers.outcomes import control_letters as read_control_letters
from tests.helpers.routes import PARTITIONS, make_routes
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka
BAD_COUNT = int(os.environ.get("MEDIA_STREAM_FUZZ_COUNT", "2500"))
RUN_SEED = int(os.environ.get("MEDIA_STREAM_FUZZ_SEED", "20261201"))
GOOD_EVERY = 25
DLQ_CONFIG = {"max.message.bytes": "2097152"}  # as topics.yaml declares for every dead-letter topic


@pytest.fixture
def routes(unique_topic: Callable[..., str]) -> AgentRoutes:
    return dataclasses.replace(make_routes(unique_topic), dead_letters=unique_topic("dlq-fuzz", config=DLQ_CONFIG), control_dead_letters=unique_topic("control-dlq-fuzz", config=DLQ_CONFIG))


def send_all(bootstrap: str, topic: str, plan: list[Sent]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 1_048_576, "linger.ms": 20})
    failures: list[str] = []

    def delivered(sent: Sent) -> Callable:
        def report(err, msg) -> None:  # noqa: ANN001 - confluent_kafka callback
            if err is not None:
                failures.append(f"{sent.kind}: {err}")
            else:
                sent.partition, sent.offset = msg.partition(), msg.offset()
        return report

    for sent in plan:
        while True:
            try:
                producer.produce(topic, key=sent.key, value=sent.value, headers=sent.headers, on_delivery=delivered(sent))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0
    assert not failures, failures[:5]


def test_thousands_of_bad_messages_are_dead_lettered_while_good_requests_complete(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]) -> None:  # noqa: F811
    codec = EventCodec.from_settings(settings)
    drawn = plan_run(codec, BAD_COUNT, GOOD_EVERY, RUN_SEED)
    plan = [s for s in drawn if s.good or is_really_bad(codec, s)]
    bad = [s for s in plan if not s.good]
    good = [s for s in plan if s.good]
    valid_by_chance = len(drawn) - len(plan)

    control = control_garbage(codec, max(BAD_COUNT // 10, 20), RUN_SEED)
    control_bad = [s for s in control if is_really_bad_control(codec, s)]

    started = time.monotonic()
    running = start_agent()
    wait_for("the agent to own every partition", lambda: running.agent.health.partitions == tuple(range(PARTITIONS)), timeout_s=60, every_s=0.1)  # only an owner dead-letters control messages
    send_all(kafka_bootstrap, routes.control, control)  # the agent's control feed reads these
    send_all(kafka_bootstrap, routes.requests, plan)
    good_jobs = {s.job_id for s in good}
    failing_jobs = {s.job_id for s in bad if s.job_id}

    def done(seen: list) -> bool:
        letters = sum(isinstance(e, DeadLetter) for _, e in seen)
        completed = {e.job_id for _, e in seen if isinstance(e, BatchCompleted)}
        statuses = {e.job_id for _, e in seen if isinstance(e, JobStatusChanged) and e.status == "completed"}
        failed = {e.job_id for _, e in seen if isinstance(e, JobFailed)}
        return letters >= len(bad) and good_jobs <= completed and good_jobs <= statuses and failing_jobs <= failed

    seen = collect(settings, routes, kafka_bootstrap, done, timeout_s=60)
    elapsed = time.monotonic() - started
    assert running.thread.is_alive(), f"the agent stopped: {running.errors!r}"
    assert running.agent.control is not None and running.agent.control.alive, "the control feed died"
    wait_for("the bad control messages to be dead-lettered", lambda: running.agent.counters["control_dead_letters"] >= len(control_bad), timeout_s=30, every_s=0.1)
    counters = dict(running.agent.counters)
    running.stop()  # raises if the agent failed

    letters = [e for _, e in seen if isinstance(e, DeadLetter)]
    by_position = {(s.partition, s.offset): s for s in bad}
    assert len(letters) == len(bad), "exactly one dead letter per bad message"
    assert {(e.source_partition, e.source_offset) for e in letters} == set(by_position)
    for letter in letters:
        sent = by_position[(letter.source_partition, letter.source_offset)]
        assert letter.source_topic == routes.requests and letter.error_class and letter.error_message
        assert (letter.value or b"") == (sent.value or b"")[: len(letter.value or b"")], "the dead letter keeps the original bytes"
        if letter.value != sent.value or letter.key != sent.key:
            assert "truncated" in letter.error_message
    failed = {e.job_id: e for _, e in seen if isinstance(e, JobFailed)}
    assert failing_jobs <= set(failed)
    assert not good_jobs & set(failed), "a good request failed"
    completed_status = {e.job_id for _, e in seen if isinstance(e, JobStatusChanged) and e.status == "completed"}
    assert good_jobs <= completed_status
    assert counters["dead_letters"] == len(bad) and counters["completed"] == len(good)

    assert routes.control_dead_letters
    control_letters = read_control_letters(settings, routes, kafka_bootstrap, codec)
    control_by_position = {(s.partition, s.offset): s for s in control_bad}
    assert len(control_letters) == len(control_bad), "exactly one control dead letter per bad control message"
    assert {(e.source_partition, e.source_offset) for e in control_letters} == set(control_by_position)
    for letter in control_letters:
        sent = control_by_position[(letter.source_partition, letter.source_offset)]
        assert letter.source_topic == routes.control and letter.error_class and letter.error_message
        assert (letter.key, letter.value) == (sent.key, sent.value), "the control dead letter keeps the original bytes"

    reasons = Counter(e.error_class for e in letters)
    kinds = Counter(s.kind.split(":")[0] for s in bad)
    report = {
        "bad_messages": len(bad), "good_requests": len(good), "control_garbage": len(control), "control_dead_lettered": len(control_letters), "dead_lettered": len(letters),
        "job_failed_for_readable_ids": len(failing_jobs), "good_completed": len(good_jobs & completed_status),
        "valid_by_chance_left_out": valid_by_chance, "agent_restarts": 0, "seconds": round(elapsed, 1),
        "reasons": dict(reasons.most_common()), "kinds": dict(kinds.most_common()),
        "mutations": dict(Counter(s.kind.split(":")[1] for s in bad if s.kind.startswith("mutation:")).most_common()),
        "seed": RUN_SEED,
    }
    print(json.dumps(report, indent=2))
    if os.environ.get("MEDIA_STREAM_FUZZ_REPORT"):
        Path(os.environ["MEDIA_STREAM_FUZZ_REPORT"]).write_text(json.dumps(report, indent=2) + "\n")
