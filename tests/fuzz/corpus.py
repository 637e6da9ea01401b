"""A corpus of bad request messages for the agent fuzz run, drawn by hypothesis, each with what
the agent must do with it.

Hypothesis draws the events (``gather`` runs a @given function as a generator, seeded so a
run can be repeated); a good ImageRequested is interleaved after every few bad ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from media_stream.domain.errors import PermanentError
from media_stream.kafka.messages import ConsumedMessage
from media_stream.runtime.control_feed import decode_cancel
from media_stream.serde.codec import EventCodec
from media_stream.serde.decoding import decode_request
from tests.fuzz.strategies import (
    IMAGE_REQUESTS,
    REQUEST_NAMES,
    TRAVERSAL_IDS,
    adversarial_requests,
    good_image,
    is_safe_id,
    mutated_bytes,
    schema_values,
    unknown_union_branch,
)


@dataclass
class Sent:
    """One message of the run: the bytes and what must become of them."""

    kind: str  # good | adversarial | schema | mutation:<name> | wrong-type | union | tombstone | key-mismatch | oversized
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    job_id: str | None = None  # good: the job that must complete; bad: the job that must fail, when readable
    partition: int = -1
    offset: int = -1

    @property
    def good(self) -> bool:
        return self.kind == "good"


def _readable_job(codec: EventCodec, value: bytes | None) -> str | None:
    """The job id a JobFailed must name: jobId and projectId decode and are safe ids (the rule
    written independently of the agent's)."""
    try:
        decoded = codec.decode(value).value
    except PermanentError:
        return None
    job, project = decoded.get("jobId"), decoded.get("projectId")
    if isinstance(job, str) and isinstance(project, str) and is_safe_id(job) and is_safe_id(project):
        return job
    return None


def bad_messages(codec: EventCodec) -> st.SearchStrategy[Sent]:
    return st.integers(0, 10**9).flatmap(lambda n: _bad_messages(codec, n))


def _bad_messages(codec: EventCodec, index: int) -> st.SearchStrategy[Sent]:
    store = codec.store
    job, project = f"bad-{index}", f"proj-{index % 7}"
    valid = codec.encode("ImageRequested", good_image(job, project))

    def encoded(pair: tuple[str, dict[str, Any]]) -> Sent:
        name, value = pair
        key = value["projectId"].encode("utf-8", "surrogatepass") if isinstance(value.get("projectId"), str) else None
        return Sent("adversarial", key, codec.encode(name, value))

    def schema_valid(draw_value: tuple[str, dict[str, Any]]) -> Sent:
        name, value = draw_value
        kind = "schema" if name in IMAGE_REQUESTS else "wrong-type"
        return Sent(kind, project.encode(), codec.encode(name, value))

    schema_events = st.sampled_from(REQUEST_NAMES + ("JobFailed", "DeadLetter", "ImageReady")).flatmap(
        lambda name: schema_values(store.get(name), depth_limit=3).map(lambda v: (name, v))
    )
    unions = st.sampled_from((("negativePrompt", 2), ("seed", 3), ("sceneId", 4), ("controlScale", 2), ("controlImage", 7)))
    headers = st.lists(
        st.tuples(st.sampled_from(("traceparent", "content-type", "x", "")), st.binary(max_size=64)), max_size=3
    )
    return st.one_of(
        adversarial_requests(job, project).map(encoded),
        schema_events.map(schema_valid),
        mutated_bytes(valid).map(lambda m: Sent(f"mutation:{m[0]}", project.encode(), m[1])),
        unions.map(lambda u: Sent("union", project.encode(), unknown_union_branch(store.get("ImageRequested"), good_image(job, project), *u))),
        st.just(Sent("tombstone", project.encode(), None)),
        st.sampled_from((b"other-project", None, b"\xff" * 9, TRAVERSAL_IDS[0].encode())).map(lambda k: Sent("key-mismatch", k, valid)),
    ).flatmap(lambda sent: headers.map(lambda h: Sent(sent.kind, sent.key, sent.value, h)))


def gather(codec: EventCodec, count: int, run_seed: int) -> list[Sent]:
    """``count`` bad messages drawn by hypothesis (phases: generate only, reproducible by seed)."""
    drawn: list[Sent] = []

    @seed(run_seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        drawn.append(data.draw(bad_messages(codec)))

    draw()
    return drawn


def control_garbage(codec: EventCodec, count: int, run_seed: int) -> list[Sent]:
    """Bad messages for the control topic: mutated cancels, cancels with unsafe ids, other events."""
    cancel = {"requestId": "req-x", "jobId": "job-x", "projectId": "proj-1", "reason": "", "createdAt": good_image("j", "p")["createdAt"]}
    valid = codec.encode("CancelRequested", cancel)
    messages = st.one_of(
        mutated_bytes(valid).map(lambda m: Sent(f"control:{m[0]}", b"proj-1", m[1])),
        st.sampled_from(TRAVERSAL_IDS).map(lambda bad: Sent("control:unsafe-id", b"proj-1", codec.encode("CancelRequested", cancel | {"jobId": bad}))),
        schema_values(codec.store.get("ImageRequested"), depth_limit=2).map(lambda v: Sent("control:wrong-type", b"proj-1", codec.encode("ImageRequested", v))),
        st.just(Sent("control:tombstone", b"proj-1", None)),
    )
    drawn: list[Sent] = []

    @seed(run_seed + 1)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(messages)
    def draw(sent: Sent) -> None:
        drawn.append(sent)

    draw()
    return drawn


def oversized(codec: EventCodec, index: int) -> list[Sent]:
    """Messages near the broker's 1 MiB limit: a huge prompt, a huge key, and a good request
    with huge headers."""
    job, project = f"huge-{index}", f"proj-{index % 7}"
    prompt = good_image(job, project) | {"prompt": "x" * 1_000_000}
    small = codec.encode("ImageRequested", good_image(f"huge-key-{index}", project))
    return [
        Sent("oversized", project.encode(), codec.encode("ImageRequested", prompt), job_id=job),
        Sent("oversized", b"k" * 900_000, small, job_id=f"huge-key-{index}"),
        # valid but for its headers, which are not the request's business: it must complete
        Sent("good", project.encode(), small.replace(b"huge-key", b"huge-hdr"), headers=[("h", b"v" * 500_000), ("i", b"w" * 450_000)], job_id=f"huge-hdr-{index}"),
    ]


def plan_run(codec: EventCodec, bad_count: int, good_every: int, run_seed: int) -> list[Sent]:
    """Bad messages with a good one after every ``good_every``; those that happen to be valid
    requests (a flipped byte inside the prompt) are left out, and counted by the caller."""
    bad = gather(codec, bad_count, run_seed) + oversized(codec, 0)
    random.Random(run_seed).shuffle(bad)
    plan: list[Sent] = []
    for i, sent in enumerate(bad):
        if sent.job_id is None:
            sent.job_id = _readable_job(codec, sent.value)
        plan.append(sent)
        if i % good_every == 0:
            job = f"good-{i}"
            project = f"proj-{i % 7}"
            plan.append(Sent("good", project.encode(), codec.encode("ImageRequested", good_image(job, project)), job_id=job))
    return plan


def is_really_bad_control(codec: EventCodec, sent: Sent) -> bool:
    """False for the rare control draw that is a valid cancel after all."""
    try:
        decode_cancel(codec, ConsumedMessage("control", 0, 0, sent.key, sent.value))
    except PermanentError:
        return True
    return False


def is_really_bad(codec: EventCodec, sent: Sent) -> bool:
    """False for the rare draw that is a valid request after all (e.g. a flip inside the prompt)."""
    try:
        decode_request(codec, ConsumedMessage("requests", 0, 0, sent.key, sent.value), IMAGE_REQUESTS)
    except PermanentError:
        return True
    return False
