"""The textbook loops ``bench pipeline`` measures ours against, each in its own process.

``python -m media_stream.bench.pipeline_loops SPEC`` (SPEC is JSON: kind, bootstrap, group,
source, and for ``bare`` a sink, for ``same`` the outcome topics) runs until SIGTERM:

- ``bare``: confluent-kafka's eos_transactions example: consume a batch, publish six copies of
  each request to one 3-partition topic, send the offsets, commit.
- ``same``: the same loop publishing what our agent publishes (``same_messages``): the request
  decoded, five Avro outcome events to the agent's topics and partitions, the dedupe record to
  the request's partition of the dedupe changelog; one transaction per consumed batch.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from confluent_kafka import Consumer, Producer

from media_stream.bench.same_messages import Topics, outcome_of
from media_stream.config import Settings
from media_stream.kafka.config import client_config
from media_stream.serde.encoding import EventEncoder
from media_stream.serde.codec import EventCodec

COPIES = 6


def run(spec: dict[str, Any], stop: threading.Event) -> None:
    settings = Settings()
    base = client_config(settings, spec["bootstrap"])
    consumer = Consumer({**base, "group.id": spec["group"], "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 20})
    consumer.subscribe([spec["source"]])
    producer = Producer({**base, "transactional.id": f"{spec['group']}-txn", "linger.ms": 5, "retry.backoff.ms": 5, "retry.backoff.max.ms": 100})
    producer.init_transactions(30)
    publish = _copies(producer, spec["sink"]) if spec["kind"] == "bare" else _same(producer, spec)
    try:
        while not stop.is_set():
            batch = [m for m in consumer.consume(500, 0.02) if not m.error()]
            if not batch:
                continue
            producer.begin_transaction()
            for message in batch:
                publish(message)
            producer.send_offsets_to_transaction(consumer.position(consumer.assignment()), consumer.consumer_group_metadata())
            producer.commit_transaction()
    finally:
        consumer.close()


def _copies(producer: Producer, sink: str) -> Any:
    def publish(message: Any) -> None:
        for part in range(COPIES):
            producer.produce(sink, key=message.key(), value=message.value() + bytes([part]))

    return publish


def _same(producer: Producer, spec: dict[str, Any]) -> Any:
    encoder = EventEncoder(EventCodec.from_settings(Settings()))
    topics = Topics(**spec["topics"])
    by_partition = spec["status_partition"] == "request"

    def publish(message: Any) -> None:
        outcome = outcome_of(encoder, topics, message.value(), message.partition() if by_partition else None)
        for out in outcome.messages:
            args = {"partition": out.partition} if out.partition is not None else {}
            producer.produce(out.topic, key=out.key, value=out.value, headers=list(out.headers), **args)
        producer.produce(topics.dedupe, key=outcome.dedupe_key.encode(), value=outcome.dedupe_value, partition=message.partition())

    return publish


if __name__ == "__main__":
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    run(json.loads(sys.argv[1]), stopping)
