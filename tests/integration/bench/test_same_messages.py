"""The same-messages loop of ``bench pipeline`` publishes what our agent publishes: same topics,
partitions, keys and record types for a request (else its ratio would measure our design)."""

from __future__ import annotations

import threading
import time
import uuid
import zlib
from collections import Counter

from media_stream.bench.pipeline import _create_topics, _requests, _routes
from media_stream.bench.same_messages import Topics, outcome_of
from media_stream.config import Settings
from media_stream.kafka.admin import TopicAdmin
from media_stream.kafka.partition_reader import read_to_end
from media_stream.kafka.producer import EventProducer
from media_stream.render.image.null import NullRenderer
from media_stream.runtime.assembly import build_agent
from media_stream.serde.encoding import EventEncoder
from media_stream.serde.codec import EventCodec
from media_stream.storage.memory import MemoryStore

REQUESTS = 12


def test_the_same_messages_loop_builds_the_agents_messages_for_each_request(kafka_bootstrap: str) -> None:
    settings = Settings()
    settings.worker.poll_timeout_s = 0.05
    names = _create_topics(settings, TopicAdmin(settings, kafka_bootstrap), uuid.uuid4().hex[:8])
    routes = _routes(settings, names)
    codec = EventCodec.from_settings(settings)
    encoder = EventEncoder(codec)
    requests = _requests(encoder, names["requests"], REQUESTS, projects=REQUESTS, tag="same")
    agent = build_agent(settings, "image", kafka_bootstrap, f"same-{names['requests']}", routes, NullRenderer(), MemoryStore())
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    try:
        producer = EventProducer(settings, kafka_bootstrap)
        for _, message in requests:
            producer.send(message)
        producer.close()
        deadline = time.monotonic() + 60
        while agent.counters["completed"] < REQUESTS and time.monotonic() < deadline:
            time.sleep(0.05)
        assert agent.counters["completed"] == REQUESTS
        agent.committer.flush(30)
    finally:
        agent.stopping.set()
        thread.join(60)
    out_roles = ("status", "ready", "batch", "dedupe")
    partitions = [(names[role], p) for role in out_roles for p in range(12)] + [(names["requests"], p) for p in range(12)]
    read = read_to_end(settings, kafka_bootstrap, partitions)

    def shape(topic: str, partition: int, key: bytes | None, value: bytes) -> tuple[str, int, bytes | None, str]:
        return topic, partition, key, codec.decode(value).record_name

    published = Counter(shape(t, p, m.key, m.value) for (t, p), messages in read.items() if t != names["requests"] for m in messages)
    topics = Topics(names["status"], names["ready"], names["batch"], names["dedupe"])
    expected: Counter = Counter()
    for (_, p), messages in read.items():
        if _ != names["requests"]:
            continue
        for request in messages:
            # librdkafka's default partitioner (consistent_random: CRC32 of the key) put the request
            # at p, so the loop's outcomes keyed by projectId land at p as well
            assert zlib.crc32(request.key or b"") % 12 == p
            outcome = outcome_of(encoder, topics, request.value, p)  # status at the request's partition, as the agent places it
            expected.update(shape(m.topic, m.partition if m.partition is not None else p, m.key, m.value) for m in outcome.messages)
            expected[shape(names["dedupe"], p, outcome.dedupe_key.encode(), outcome.dedupe_value)] += 1
    assert sum(expected.values()) == REQUESTS * 6
    assert published == expected
