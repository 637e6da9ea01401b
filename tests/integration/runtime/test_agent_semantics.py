"""The runtime's promises against the real broker: order, dedupe, resume, cancel, long renders,
bad input, and an accounting of every request."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, DeadLetter, ImageReady, JobFailed, JobStatusChanged
from media_stream.domain.requests import CancelRequested, ImageRequested, Scene, StoryboardRequested, StyleConfig
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect, ended, terminal_statuses
from tests.helpers.requests import image, publish, storyboard
from tests.helpers.scripted_renderer import ScriptedRenderer, render_log

pytestmark = pytest.mark.kafka


def test_per_project_order_holds_while_projects_share_batches(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    renderer = ScriptedRenderer(tmp_path / "renders.log", default_delay_s=0.05)
    running = start_agent(renderer)
    jobs = [(f"p{p}-j{j}", f"proj-{p}") for j in range(4) for p in range(3)]
    publish(settings, kafka_bootstrap, routes, *(storyboard(job, project, scenes=2) for job, project in jobs))
    seen = collect(settings, routes, kafka_bootstrap, ended({j for j, _ in jobs}))
    running.stop()
    for p in range(3):
        completed = [e.job_id for _, e in seen if isinstance(e, BatchCompleted) and e.project_id == f"proj-{p}"]
        assert completed == [f"p{p}-j{j}" for j in range(4)]  # offset order within the project
        ready = [(e.job_id, e.scene_id) for _, e in seen if isinstance(e, ImageReady) and e.project_id == f"proj-{p}"]
        assert ready == [(f"p{p}-j{j}", f"s{s}") for j in range(4) for s in range(2)]
    assert max(len(call) for call in renderer.calls) > 1  # different projects shared a render call
    assert all(statuses == ["completed"] for statuses in terminal_statuses(seen).values())


def test_a_re_sent_request_id_is_not_rendered_again(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    renderer = ScriptedRenderer(tmp_path / "renders.log")
    running = start_agent(renderer)
    publish(settings, kafka_bootstrap, routes, image("once", "proj-d"))
    collect(settings, routes, kafka_bootstrap, ended({"once"}))
    publish(settings, kafka_bootstrap, routes, image("once", "proj-d"), image("after", "proj-d"))
    seen = collect(settings, routes, kafka_bootstrap, ended({"once", "after"}))
    assert [tag for _, tag, _ in render_log(tmp_path / "renders.log")] == ["once", "after"]
    assert sum(isinstance(e, BatchCompleted) and e.job_id == "once" for _, e in seen) == 1
    assert running.agent.counters["duplicates"] == 1
    # a replay with a new render version renders again; the same version again does not
    again = dataclasses.replace(image("once", "proj-d"), render_version=2)
    publish(settings, kafka_bootstrap, routes, again, again, image("last", "proj-d"))
    seen = collect(settings, routes, kafka_bootstrap, lambda s: ended({"last"})(s) and sum(isinstance(e, BatchCompleted) and e.job_id == "once" for _, e in s) == 2)
    running.stop()
    assert [tag for _, tag, _ in render_log(tmp_path / "renders.log")] == ["once", "after", "once", "last"]
    versions = sorted(e.render_version for _, e in seen if isinstance(e, BatchCompleted) and e.job_id == "once")
    assert versions == [1, 2] and running.agent.counters["duplicates"] == 2
    stored = settings.storage.root / "images" / "proj-d" / "once" / "image"
    assert sorted(p.name for p in stored.glob("*.png")) == ["1.png", "2.png"]  # old and new side by side


def test_a_restarted_agent_resumes_a_storyboard_after_its_finished_scenes(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    log = tmp_path / "renders.log"
    first = start_agent(ScriptedRenderer(log, default_delay_s=0.3))
    publish(settings, kafka_bootstrap, routes, storyboard("long", "proj-r", scenes=8))
    collect(settings, routes, kafka_bootstrap, lambda seen: sum(isinstance(e, ImageReady) for _, e in seen) >= 3)
    first.stop()  # SIGTERM path: the scene in hand is finished and committed, the rest is left
    done_before = len(render_log(log))
    assert 3 <= done_before < 8
    second = start_agent(ScriptedRenderer(log))
    seen = collect(settings, routes, kafka_bootstrap, ended({"long"}))
    second.stop()
    scenes = [scene for _, _, scene in render_log(log)]
    assert sorted(scenes) == [f"s{i}" for i in range(8)]  # every scene rendered exactly once overall
    ready = [e.scene_id for _, e in seen if isinstance(e, ImageReady)]
    assert ready == [f"s{i}" for i in range(8)]  # and published exactly once, in order
    batch = next(e for _, e in seen if isinstance(e, BatchCompleted))
    assert [i.scene_id for i in batch.images] == [f"s{i}" for i in range(8)]


def test_cancel_drops_a_queued_job_and_stops_a_running_storyboard_after_the_current_scene(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    log = tmp_path / "renders.log"
    running = start_agent(ScriptedRenderer(log, default_delay_s=0.3))
    publish(settings, kafka_bootstrap, routes, storyboard("running", "proj-c", scenes=10), image("queued", "proj-c"))
    collect(settings, routes, kafka_bootstrap, lambda seen: any(isinstance(e, ImageReady) for _, e in seen))
    publish(
        settings, kafka_bootstrap, routes,
        CancelRequested("cancel-1", "queued", "proj-c", "user changed their mind"),
        CancelRequested("cancel-2", "running", "proj-c", "scene order changed"),
        CancelRequested("cancel-3", "nobody-knows", "proj-c"),
    )
    everything_rendered_is_seen = lambda seen: sum(isinstance(e, ImageReady) for _, e in seen) >= len(render_log(log))  # noqa: E731
    seen = collect(settings, routes, kafka_bootstrap, lambda seen: ended({"running", "queued", "nobody-knows"})(seen) and everything_rendered_is_seen(seen))
    running.stop()
    statuses = terminal_statuses(seen)
    assert statuses["queued"] == ["cancelled"] and statuses["running"] == ["cancelled"]
    assert not any(isinstance(e, BatchCompleted) for _, e in seen)
    rendered = [scene for _, tag, scene in render_log(log)]
    assert "queued" not in {tag for _, tag, _ in render_log(log)}
    assert 1 <= len(rendered) < 10
    ready = [e.scene_id for _, e in seen if isinstance(e, ImageReady)]
    assert ready == rendered  # nothing rendered goes unpublished, nothing after the cancel
    unknown = [e for _, e in seen if isinstance(e, JobStatusChanged) and e.job_id == "nobody-knows"]
    assert unknown and "no agent has started" in (unknown[-1].error or "")


def test_a_render_longer_than_max_poll_interval_causes_no_rebalance_and_no_duplicate(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    settings.worker.max_poll_interval_ms = 6_000
    settings.worker.session_timeout_ms = 6_000
    log = tmp_path / "renders.log"
    running = start_agent(ScriptedRenderer(log))
    publish(settings, kafka_bootstrap, routes, storyboard("slow", "proj-l", scenes=2, extra="slow=4.5"), image("quick", "proj-q"))
    seen = collect(settings, routes, kafka_bootstrap, ended({"slow", "quick"}), timeout_s=30)
    assert running.agent.counters["revoked"] == 0 and running.agent.counters["assigned"] == 1
    running.stop()
    assert Counter(scene for _, tag, scene in render_log(log) if tag == "slow-s0" or tag == "slow-s1") == {"s0": 1, "s1": 1}
    assert [e.scene_id for _, e in seen if isinstance(e, ImageReady) and e.job_id == "slow"] == ["s0", "s1"]
    finished = [e.job_id for _, e in seen if isinstance(e, BatchCompleted)]
    assert finished.index("quick") < finished.index("slow")  # the other project did not wait


def test_bad_input_interleaved_with_good_requests_is_dead_lettered_and_every_request_is_accounted_for(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    running = start_agent(ScriptedRenderer(tmp_path / "renders.log"))
    running.agent.retry = type(running.agent.retry)(attempts=2, first_backoff_s=0.05)
    codec = EventCodec.from_settings(settings)
    encoder = EventEncoder(codec)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    trace = "00-" + "3" * 32 + "-" + "4" * 16 + "-01"
    good = [image(f"good-{i}", "proj-m") for i in range(4)]
    wrong_schema = JobFailed("job-x", "proj-m", "not a request", "X", False, "req-x", 1)
    invalid = ImageRequested("req-bad", "bad", "proj-m", prompt="p", steps=500)
    plan = [
        good[0],
        b"\xc3\x01garbage that claims to be single-object",
        good[1],
        wrong_schema,
        invalid,
        image("flaky", "proj-m", prompt="flaky fail=retriable"),
        good[2],
        image("broken", "proj-m", prompt="broken fail=permanent"),
        good[3],
    ]
    for item in plan:
        if isinstance(item, bytes):
            producer.produce(routes.requests, key=b"proj-m", value=item)
        else:
            msg = encoder.message(routes.requests, "proj-m", item, trace)
            producer.produce(routes.requests, key=msg.key, value=msg.value, headers=list(msg.headers))
    producer.flush(30)
    expected_jobs = {g.job_id for g in good} | {"bad", "flaky", "broken"}
    seen = collect(settings, routes, kafka_bootstrap, lambda s: ended(expected_jobs)(s) and sum(isinstance(e, DeadLetter) for _, e in s) == 5)
    running.stop()

    statuses = terminal_statuses(seen)
    assert {job: s for job, s in statuses.items() if job in expected_jobs} == {
        **{g.job_id: ["completed"] for g in good}, "bad": ["failed"], "flaky": ["failed"], "broken": ["failed"],
    }
    completed = [e.job_id for _, e in seen if isinstance(e, BatchCompleted)]
    assert completed == [g.job_id for g in good]  # the good ones, in order, despite the bad in between
    letters = [e for _, e in seen if isinstance(e, DeadLetter)]
    reasons = {letter.error_class for letter in letters}
    assert {"UnknownSchema", "UnexpectedEventType", "ValidationError"} <= reasons
    assert all(letter.value for letter in letters) and {letter.source_offset for letter in letters} == {1, 3, 4, 5, 7}
    failures = {e.job_id: e for _, e in seen if isinstance(e, JobFailed)}
    assert "steps" in failures["bad"].reason and "gave up after 2 attempts" in failures["flaky"].reason
    assert "scripted permanent fault" in failures["broken"].reason
    accounted = running.agent.counters  # each consumed request ended exactly one way
    assert (accounted["completed"], accounted["failed"], accounted["cancelled"], accounted["dead_letters"]) == (4, 2, 0, 3)
    assert sum(accounted[k] for k in ("completed", "failed", "cancelled", "dead_letters")) == len(plan)


def test_characters_are_fixed_on_first_appearance_and_reused_across_requests_and_restarts(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    from media_stream.domain.requests import Character
    from media_stream.kafka.partition_reader import read_to_end
    from media_stream.serde.codec import EventCodec

    log = tmp_path / "renders.log"
    lea, fox = Character("lea", "Léa", "a girl in a yellow raincoat"), Character("fox", "the fox", "a red fox")

    def story(job: str, *cast: Character) -> StoryboardRequested:
        return StoryboardRequested(f"req-{job}", job, "proj-chars", scenes=(Scene("s0", f"{job}-s0", cast), Scene("s1", f"{job}-s1", cast[:1])), style_config=StyleConfig(width=64, height=64, steps=5))

    first = start_agent(ScriptedRenderer(log))
    publish(settings, kafka_bootstrap, routes, story("c1", lea), story("c2", lea, fox))
    collect(settings, routes, kafka_bootstrap, ended({"c1", "c2"}))
    first.stop()
    second = start_agent(ScriptedRenderer(log))  # a restart: the registry comes back from its changelog
    publish(settings, kafka_bootstrap, routes, story("c3", fox, lea))
    collect(settings, routes, kafka_bootstrap, ended({"c3"}))
    second.stop()

    portraits = [scene for _, _, scene in render_log(log) if scene.startswith("reference-")]
    assert portraits == ["reference-lea", "reference-fox"]  # each character's portrait once, ever
    codec = EventCodec.from_settings(settings)
    changelog = read_to_end(settings, kafka_bootstrap, [(routes.character_registry, p) for p in range(3)])
    identities = [codec.decode(m.value).value for messages in changelog.values() for m in messages]
    assert sorted(i["characterId"] for i in identities) == ["fox", "lea"]
    assert {i["referenceKey"] for i in identities} == {"characters/proj-chars/lea/reference/1.png", "characters/proj-chars/fox/reference/1.png"}
    assert (tmp_path / "storage" / "characters" / "proj-chars" / "lea" / "reference" / "1.png").is_file()


def test_control_images_are_read_from_our_storage_within_the_caps(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    import io

    from PIL import Image

    from media_stream.storage.filesystem import FilesystemStore

    store = FilesystemStore(settings.storage.root)
    small, huge = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(small, format="PNG")
    Image.new("1", (5000, 5000)).save(huge, format="PNG")  # 25 Mpx: over the pixel cap, a few KB on disk
    store.put("uploads/proj-k/edges.png", small.getvalue(), "image/png", {})
    store.put("uploads/proj-k/bomb.png", huge.getvalue(), "image/png", {})
    running = start_agent(ScriptedRenderer())
    publish(
        settings, kafka_bootstrap, routes,
        ImageRequested("req-ok", "ok", "proj-k", prompt="ok", width=64, height=64, control_image="uploads/proj-k/edges.png"),
        ImageRequested("req-missing", "missing", "proj-k", prompt="p", width=64, height=64, control_image="uploads/proj-k/nothing.png"),
        ImageRequested("req-bomb", "bomb", "proj-k", prompt="p", width=64, height=64, control_image="uploads/proj-k/bomb.png"),
    )
    seen = collect(settings, routes, kafka_bootstrap, ended({"ok", "missing", "bomb"}))
    running.stop()
    assert terminal_statuses(seen) == {"ok": ["completed"], "missing": ["failed"], "bomb": ["failed"]}
    failures = {e.job_id: e.reason for _, e in seen if isinstance(e, JobFailed)}
    assert "controlImage" in failures["missing"] and "no object" in failures["missing"]
    assert "controlImage" in failures["bomb"] and "pixels" in failures["bomb"]
