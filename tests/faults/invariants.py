"""The accounting invariant every fault scenario asserts, over what a read_committed subscriber saw.

1. Every submitted request (job and render version) ends as exactly one of completed (one
   BatchCompleted, no JobFailed), failed (one JobFailed, no BatchCompleted) or cancelled (neither),
   and has exactly one terminal status that says the same (the notes a cancel adds for a job no
   agent holds, or one that already ended, are not terminal statuses of their own).
2. No duplicate ready event: each scene's ImageReady at most once; a completed job's ImageReady
   scenes are exactly the images of its BatchCompleted.
3. Per-project order: a project's BatchCompleted follow the order its requests were published,
   and its ImageReady follow (request order, scene order). With ``strict_order`` (issue 18) all
   of a project's outcomes do: its terminal statuses (completed, failed — dead letters included —
   and cancelled, on the status topic), its JobFailed, and the DeadLetters of each source
   partition (in source offset order), so a request that ends at once (dead-lettered, cancelled
   before it started) may not end ahead of an earlier request still rendering.

``assert_accounted`` returns each job's ending; with ``MEDIA_STREAM_FAULTS_LEDGER`` set it appends
one JSON line per call (the figures `scripts/reliability-report` adds up), and ``record_rounds``
one per round-based scenario (zombie, network partition: rounds, scenes, duplicates, lost).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from media_stream.domain.outcomes import (
    BatchCompleted,
    DeadLetter,
    ImageReady,
    JobFailed,
    JobStatus,
    JobStatusChanged,
)

TERMINAL = tuple(s.value for s in JobStatus if s.terminal)
NOTES = ("cancel ignored", "cancel recorded")  # status events a cancel adds about a job it cannot act on
Seen = Sequence[tuple[str, object]]
JobKey = tuple[str, int]  # (jobId, renderVersion)


def _key(request: Any) -> JobKey:
    return (request.job_id, getattr(request, "render_version", 1))


def _is_note(event: JobStatusChanged) -> bool:
    return (event.error or "").startswith(NOTES)


def terminal_statuses(seen: Seen) -> dict[JobKey, list[str]]:
    out: dict[JobKey, list[str]] = {}
    for _, e in seen:
        if isinstance(e, JobStatusChanged) and e.status in TERMINAL and not _is_note(e):
            out.setdefault((e.job_id, e.render_version), []).append(e.status)
    return out


def all_ended(requests: Iterable[Any]) -> Callable[[Seen], bool]:
    """For ``collect(until=...)``: every request has its terminal status and its outcome events
    (topics are read in no joint order, so both are needed)."""
    wanted = {_key(r) for r in requests}

    def check(seen: Seen) -> bool:
        statuses = terminal_statuses(seen)
        if not wanted <= set(statuses):
            return False
        batches = {(e.job_id, e.render_version): e for _, e in seen if isinstance(e, BatchCompleted)}
        failed = {(e.job_id, e.render_version) for _, e in seen if isinstance(e, JobFailed)}
        ready = Counter((e.job_id, e.render_version) for _, e in seen if isinstance(e, ImageReady))
        for key in wanted:
            last = statuses[key][-1]
            if last == "completed" and (key not in batches or ready[key] < batches[key].total_images):
                return False
            if last == "failed" and key not in failed:
                return False
        return True

    return check


def assert_accounted(
    seen: Seen,
    submitted: Sequence[Any],
    expect: Mapping[str, str] | None = None,
    streams: Sequence[Sequence[Any]] | None = None,
    scenario: str = "",
    strict_order: bool = False,
) -> dict[str, str]:
    """Assert the invariant for ``submitted`` (requests in publish order; duplicates allowed) and
    return jobId (with ``@v`` for versions above 1) → ending. ``expect`` checks some endings.
    ``streams``: when requests were published by several producers at once, the sequences whose
    order is known (default: ``submitted`` is one)."""
    requests: dict[JobKey, Any] = {}
    for request in submitted:
        requests.setdefault(_key(request), request)
    statuses = terminal_statuses(seen)
    batches = Counter((e.job_id, e.render_version) for _, e in seen if isinstance(e, BatchCompleted))
    failures = Counter((e.job_id, e.render_version) for _, e in seen if isinstance(e, JobFailed))
    ready = Counter((e.job_id, e.render_version, e.scene_id) for _, e in seen if isinstance(e, ImageReady))
    duplicates = {k: n for k, n in ready.items() if n > 1}
    assert not duplicates, f"ImageReady seen more than once by a read_committed subscriber: {duplicates}"

    endings: dict[str, str] = {}
    for key in requests:
        label = key[0] if key[1] == 1 else f"{key[0]}@v{key[1]}"
        ends = statuses.get(key, [])
        assert len(ends) == 1, f"{label}: expected exactly one terminal status, got {ends or 'none'}"
        ending = ends[0]
        outcome = (batches[key], failures[key])
        assert outcome == {"completed": (1, 0), "failed": (0, 1), "cancelled": (0, 0)}[ending], (
            f"{label} ended {ending} but has {batches[key]} BatchCompleted and {failures[key]} JobFailed"
        )
        endings[label] = ending
    for _, e in seen:
        if isinstance(e, BatchCompleted) and (e.job_id, e.render_version) in requests:
            scenes = {s for (job, version, s) in ready if (job, version) == (e.job_id, e.render_version)}
            assert scenes == {i.scene_id for i in e.images} and e.total_images == len(e.images), (
                f"{e.job_id}: ImageReady scenes {sorted(scenes)} differ from its BatchCompleted {[i.scene_id for i in e.images]}"
            )
    for stream in streams or [submitted]:
        firsts: dict[JobKey, Any] = {}
        for request in stream:
            firsts.setdefault(_key(request), request)
        _assert_project_order(seen, list(firsts.values()))
        if strict_order:
            _assert_every_outcome_in_order(seen, list(firsts.values()))
    if expect:
        assert {job: endings[job] for job in expect} == dict(expect)
    _record(scenario, endings)
    return endings


def _assert_project_order(seen: Seen, requests: list[Any]) -> None:
    rank = {_key(r): i for i, r in enumerate(requests)}
    projects = {_key(r): r.project_id for r in requests}
    completed: dict[str, list[int]] = {}
    scenes: dict[str, list[tuple[int, int]]] = {}
    for _, e in seen:
        key = (getattr(e, "job_id", None), getattr(e, "render_version", 1))
        if key not in rank:
            continue
        if isinstance(e, BatchCompleted):
            completed.setdefault(projects[key], []).append(rank[key])
        elif isinstance(e, ImageReady):
            scenes.setdefault(projects[key], []).append((rank[key], e.scene_index))
    for project, order in completed.items():
        assert order == sorted(order), f"{project}: BatchCompleted out of publish order: {order}"
    for project, order in scenes.items():
        assert order == sorted(order), f"{project}: ImageReady out of (request, scene) order: {order}"


def _assert_every_outcome_in_order(seen: Seen, requests: list[Any]) -> None:
    rank = {_key(r): i for i, r in enumerate(requests)}
    projects = {_key(r): r.project_id for r in requests}
    ended: dict[str, list[tuple[int, str]]] = {}
    failed: dict[str, list[int]] = {}
    letters: dict[tuple[str, int], list[int]] = {}
    for _, e in seen:
        key = (getattr(e, "job_id", None), getattr(e, "render_version", 1))
        if isinstance(e, DeadLetter):
            letters.setdefault((e.source_topic, e.source_partition), []).append(e.source_offset)
        if key not in rank:
            continue
        if isinstance(e, JobStatusChanged) and e.status in TERMINAL and not _is_note(e):
            ended.setdefault(projects[key], []).append((rank[key], f"{key[0]}:{e.status}"))
        elif isinstance(e, JobFailed):
            failed.setdefault(projects[key], []).append(rank[key])
    for project, order in ended.items():
        assert [r for r, _ in order] == sorted(r for r, _ in order), f"{project}: terminal statuses out of request order: {[label for _, label in order]}"
    for project, ranks in failed.items():
        assert ranks == sorted(ranks), f"{project}: JobFailed out of request order: {ranks}"
    for source, offsets in letters.items():
        assert offsets == sorted(offsets), f"{source}: DeadLetters out of source offset order: {offsets}"


def _record(scenario: str, endings: Mapping[str, str]) -> None:
    path = os.environ.get("MEDIA_STREAM_FAULTS_LEDGER")
    if not path:
        return
    name = scenario or os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    line = {"scenario": name, "requests": len(endings), **Counter(endings.values())}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def record_rounds(scenario: str, rounds: Sequence[Mapping[str, Any]]) -> None:
    """With ``MEDIA_STREAM_FAULTS_LEDGER`` set, one line of a round-based scenario's figures (rounds,
    scenes, ImageReady seen, duplicates, lost, restarts of the agent at fault), recorded before its
    assertions so a failing run's counts are in the report too."""
    path = os.environ.get("MEDIA_STREAM_FAULTS_LEDGER")
    if not path:
        return
    line: dict[str, Any] = {"scenario": scenario, "rounds": len(rounds)}
    for figure in ("scenes", "image_ready", "duplicates", "lost", "restarts"):
        line[figure] = sum(int(r.get(figure, 0)) for r in rounds)
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
