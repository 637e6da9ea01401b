"""The catalog processor dead-letters what it cannot fold: each garbage message on an outcome topic
ends on the assets DLQ with its exact bytes, where it came from and the reason, committed with the
offsets (a restart of the group does not dead-letter it again), while the good outcomes around it
are cataloged once each."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from media_stream.catalog.topics import CatalogTopics
from media_stream.domain.outcomes import AudioReady, DeadLetter
from media_stream.domain.records import from_record
from media_stream.kafka.admin import TopicAdmin
from media_stream.kafka.messages import ConsumedMessage, OutgoingMessage
from media_stream.kafka.partition_reader import read_to_end
from media_stream.kafka.producer import EventProducer
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from tests.helpers.catalog_fixtures import CatalogEnv
from tests.helpers.outcomes import ready
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka
TRACE = "00-" + "5" * 32 + "-" + "6" * 16 + "-01"


def whole_log(env: CatalogEnv, topic: str) -> list[ConsumedMessage]:
    """Every committed message of ``topic`` (read_committed, from the beginning)."""
    partitions = TopicAdmin(env.settings, env.bootstrap).live_topics([topic])[topic].partitions
    read = read_to_end(env.settings, env.bootstrap, [(topic, p) for p in range(partitions)], 30)
    return [m for messages in read.values() for m in messages]


def test_garbage_on_an_outcome_topic_ends_in_the_dlq_with_its_bytes_and_reason(catalog_env: CatalogEnv, start_processor: Callable) -> None:
    env = catalog_env
    codec = EventCodec.from_settings(env.settings)
    encoder = EventEncoder(codec)
    producer = EventProducer(env.settings, env.bootstrap)
    image, audio = env.image.image_ready, env.audio.audio_ready
    good_audio = AudioReady("job-a1", "proj-q", "req-a1", 1, kind="music", url="file:///a", storage_key="audio/proj-q/job-a1/1.wav",
                            duration_seconds=2.0, sample_rate=22050, model="procedural-v1", sha256="1" * 64)  # fmt: skip
    cut = encoder.message(image, "proj-q", ready("job-cut", "noir", "preview/embedded-v1", 1, None), TRACE).value[:30]
    garbage = {
        b"not avro at all": (image, "UndecodableMessage", "unknown framing"),
        cut: (image, "UndecodableMessage", ""),  # our framing and fingerprint, the body cut short
        b"\x00\x00\x00\x00\x07registry framed": (audio, "UnknownSchema", "Schema Registry"),
    }
    sends = [
        encoder.message(image, "proj-q", ready("job-1", "noir", "preview/embedded-v1", 1, None), TRACE),
        OutgoingMessage(image, b"proj-q", b"not avro at all", (("traceparent", TRACE.encode()),)),
        encoder.message(audio, "proj-q", good_audio, TRACE),
        OutgoingMessage(image, b"proj-q", cut),
        encoder.message(image, "proj-q", ready("job-2", "noir", "preview/embedded-v1", 1, None), TRACE),
        OutgoingMessage(audio, b"proj-q", b"\x00\x00\x00\x00\x07registry framed"),
    ]
    for message in sends:
        producer.send(message)
    producer.flush()
    topics = CatalogTopics(env.topics.image_ready, env.topics.audio_ready, env.topics.assets, env.topics.asset_ratings, env.topics.assets_dlq)
    first = start_processor(topics)
    wait_for("three entries and three dead letters", lambda: len(whole_log(env, topics.assets)) == 3 and len(whole_log(env, topics.assets_dlq)) == 3)

    sources = {m.value: m for topic in (image, audio) for m in whole_log(env, topic)}
    letters = [from_record(DeadLetter, codec.decode(m.value).value) for m in whole_log(env, topics.assets_dlq)]
    assert sorted(letter.value for letter in letters) == sorted(garbage)  # the exact bytes, each once
    for letter in letters:
        topic, error_class, says = garbage[letter.value]
        source = sources[letter.value]
        assert (letter.source_topic, letter.source_partition, letter.source_offset) == (topic, source.partition, source.offset)
        assert letter.key == b"proj-q" and letter.error_class == error_class
        assert letter.error_message and says in letter.error_message
    (traced,) = [letter for letter in letters if letter.value == b"not avro at all"]
    assert [(h.key, h.value) for h in traced.headers] == [("traceparent", TRACE.encode())]  # the original headers travel too

    assert sorted(m.key for m in whole_log(env, topics.assets)) == [b"proj-q/job-1:s0:v1", b"proj-q/job-2:s0:v1", b"proj-q/job-a1:audio:v1"]
    assert first.folded == 3 and first.dead_lettered == 3

    # The dead letters were committed with the offsets: a restarted group goes on after them.
    first.stopping.set()
    first.thread.join(30)
    assert not first.thread.is_alive()
    producer.send(encoder.message(image, "proj-q", ready("job-3", "noir", "preview/embedded-v1", 1, None), TRACE))
    producer.flush()
    second = start_processor(topics)
    wait_for("the fourth entry", lambda: len(whole_log(env, topics.assets)) == 4)
    assert len(whole_log(env, topics.assets_dlq)) == 3 and second.dead_lettered == 0
    assert sorted(a.asset_id for a in env.client.catalog.assets("proj-q")) == ["job-1:s0:v1", "job-2:s0:v1", "job-3:s0:v1", "job-a1:audio:v1"]
    producer.close()
