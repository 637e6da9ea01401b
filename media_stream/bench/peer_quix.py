"""The nearest Python peer for ``bench pipeline``: a Quix Streams application doing our agent's
Kafka work, exactly-once with a 100 ms commit interval.

It consumes the same requests and, per request, produces the same five outcome messages
(``same_messages``) and keeps the dedupe record in Quix's own state (RocksDB with a changelog
topic, written in the same transaction: the sixth message). Run with the peer's virtual
environment (``bench/peers.py``) and this tree on PYTHONPATH:
``python -m media_stream.bench.peer_quix SPEC`` (SPEC JSON: bootstrap, group, source, topics,
state_dir); it runs until SIGTERM.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from quixstreams import Application
from quixstreams.models.serializers import Serializer

from media_stream.bench.same_messages import Topics, outcome_of
from media_stream.config import Settings
from media_stream.serde.encoding import EventEncoder
from media_stream.serde.codec import EventCodec


class _Prepared(Serializer):
    """Our outcome messages arrive encoded already: pass the bytes through."""

    def __call__(self, value: Any, ctx: Any) -> bytes:
        return value["v"]


def main(spec: dict[str, Any]) -> None:
    encoder = EventEncoder(EventCodec.from_settings(Settings()))
    topics = Topics(**spec["topics"])
    app = Application(
        broker_address=spec["bootstrap"],
        consumer_group=spec["group"],
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
        commit_interval=0.1,
        state_dir=spec["state_dir"],
        consumer_extra_config={"fetch.wait.max.ms": 20},  # as ours: librdkafka's 500 ms shows in latency
    )
    source = app.topic(spec["source"], value_deserializer="bytes", key_deserializer="bytes")
    out = {name: app.topic(getattr(topics, name), value_serializer=_Prepared(), key_serializer="bytes") for name in ("status", "ready", "batch")}
    role = {topics.status: "status", topics.ready: "ready", topics.batch: "batch"}

    def handle(value: bytes, state: Any) -> list[dict[str, Any]]:
        outcome = outcome_of(encoder, topics, value, None)
        if state.get(outcome.dedupe_key) is not None:
            return []
        state.set(outcome.dedupe_key, outcome.dedupe_value.hex())
        return [{"t": role[m.topic], "k": m.key, "v": m.value} for m in outcome.messages]

    sdf = app.dataframe(source).apply(handle, stateful=True, expand=True)
    sdf.to_topic(lambda value, _key, _ts, _headers: out[value["t"]], key=lambda value: value["k"])
    app.run()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
