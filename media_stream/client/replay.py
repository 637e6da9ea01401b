"""Replay for reprocessing: re-publish selected request events with a new render version.

Each selected event is re-encoded with ``renderVersion`` set to the new version and sent again
to its topic, keyed by its project, with the lineage header ``replay-of`` =
``topic/partition/offset``. Agents render a (request, version) once: the outcomes carry the new
version, the files sit beside the old ones (the version is part of every storage key), and
replaying the same version again renders nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from media_stream.config import Settings
from media_stream.domain.errors import MediaStreamError, ValidationError
from media_stream.kafka.messages import ConsumedMessage, OutgoingMessage
from media_stream.kafka.producer import EventProducer
from media_stream.kafka.topic_scan import scan
from media_stream.serde.codec import EventCodec

REPLAYABLE = ("ImageRequested", "StoryboardRequested", "NarrationRequested", "MusicRequested")


@dataclass
class ReplayReport:
    selected: int = 0
    per_partition: Counter = field(default_factory=Counter)
    per_project: Counter = field(default_factory=Counter)
    skipped: int = 0  # undecodable or not a request
    published: int = 0


def replay(
    settings: Settings,
    topic: str,
    render_version: int,
    bootstrap: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    project: str | None = None,
    job: str | None = None,
    dry_run: bool = False,
    partition: int | None = None,
    from_offset: int | None = None,
    to_offset: int | None = None,
) -> ReplayReport:
    """Select by time range, project, job and/or an explicit offset range (inclusive; on one
    ``partition`` or on every partition), then re-publish, or with ``dry_run`` only count."""
    if not 1 <= render_version <= 1_000_000:
        raise ValidationError("renderVersion", f"{render_version} is out of range", "1..1000000")
    if from_offset is not None and to_offset is not None and from_offset > to_offset:
        raise ValidationError("fromOffset", f"{from_offset} is after toOffset {to_offset}")
    if (from_offset is not None and from_offset < 0) or (to_offset is not None and to_offset < 0):
        raise ValidationError("fromOffset" if (from_offset or 0) < 0 else "toOffset", "must not be negative")
    codec = EventCodec.from_settings(settings)
    report = ReplayReport()
    producer = None if dry_run else EventProducer(settings, bootstrap)
    since_ms = int(since.timestamp() * 1000) if since else None
    until_ms = int(until.timestamp() * 1000) if until else None
    try:
        partitions = None if partition is None else [partition]
        for message in scan(settings, bootstrap, topic, since_ms, until_ms, partitions=partitions, from_offset=from_offset, to_offset=to_offset):
            republished = _select(codec, message, render_version, project, job)
            if republished is None:
                report.skipped += 1
                continue
            report.selected += 1
            report.per_partition[message.partition] += 1
            report.per_project[(message.key or b"").decode()] += 1
            if producer is not None:
                producer.send(republished)
                report.published += 1
        if producer is not None:
            producer.flush()
    finally:
        if producer is not None:
            producer.close()
    return report


def _select(codec: EventCodec, message: ConsumedMessage, version: int, project: str | None, job: str | None) -> OutgoingMessage | None:
    if message.value is None:
        return None
    try:
        decoded = codec.decode(message.value)
    except MediaStreamError:
        return None
    value = dict(decoded.value)
    if decoded.record_name not in REPLAYABLE:
        return None
    if (project and value.get("projectId") != project) or (job and value.get("jobId") != job):
        return None
    value["renderVersion"] = version
    lineage = ("replay-of", f"{message.topic}/{message.partition}/{message.offset}".encode())
    headers = tuple((k, v) for k, v in message.headers if k != "replay-of" and v is not None) + (lineage,)
    key = str(value.get("projectId") or "").encode() or message.key  # keyed by project, as every request
    return OutgoingMessage(message.topic, key, codec.encode(decoded.record_name, value), headers)
