"""The catalog after a storyboard, after a replay (both versions, with lineage), after a rerender
(the preview renderer's file is bitwise equal), and after the project is forgotten."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from media_stream.client.replay import replay
from media_stream.domain.outcomes import BatchCompleted
from media_stream.domain.requests import Character, Scene
from media_stream.storage.filesystem import FilesystemStore
from tests.helpers.catalog_fixtures import CatalogEnv
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka


def test_storyboard_replay_rerender_and_forget(catalog_env: CatalogEnv, start_agent: Callable, start_processor: Callable) -> None:
    env, client = catalog_env, catalog_env.client
    store = FilesystemStore(env.settings.storage.root)
    start_agent(on=env.image)
    start_processor(env.topics)
    lea = Character("lea", "Léa", "a girl in a red coat")
    scenes = [Scene("s0", "a fox in the snow"), Scene("s1", "Léa meets the fox", (lea,))]
    job = client.generate_storyboard("proj-cat", scenes, style="watercolor", width=64, height=64, steps=2, job_id="job-cat", request_id="req-cat")
    assert isinstance(job.wait(90), BatchCompleted)

    # -- after the storyboard: one entry per scene, with its lineage ------------------------------
    v1 = wait_for("two cataloged scenes", lambda: len(client.catalog.assets("proj-cat")) == 2 and client.catalog.assets("proj-cat"))
    assert [a.asset_id for a in v1] == ["job-cat:s0:v1", "job-cat:s1:v1"]
    for entry, scene in zip(v1, scenes):
        assert (entry.project_id, entry.job_id, entry.request_id, entry.render_version, entry.kind) == ("proj-cat", "job-cat", "req-cat", 1, "image")
        assert entry.backend == "preview" and entry.model.startswith("preview") and entry.style == "watercolor"
        assert entry.storage_key == f"images/proj-cat/job-cat/{scene.scene_id}/1.png"
        assert hashlib.sha256(store.get(entry.storage_key)).hexdigest() == entry.sha256
        assert scene.prompt in entry.prompt and entry.seed is not None
        assert entry.replay_of is None and entry.request_source.startswith(f"{env.image.requests}/")
        assert entry.storyboard is not None and entry.storyboard.scenes == (scene,)  # the one-scene request
        assert entry.storyboard.style_config.seed == entry.seed and entry.storyboard.style_config.width == 64
    assert "Léa" in v1[1].prompt  # the full prompt, characters merged in

    # -- after a replay: both versions listed, v2 points at the original request -------------------
    report = replay(env.settings, env.image.requests, 2, env.bootstrap, job="job-cat")
    assert report.published == 1
    both = wait_for("version 2 cataloged", lambda: len(client.catalog.assets("proj-cat")) == 4 and client.catalog.assets("proj-cat"))
    v2 = client.catalog.assets("proj-cat", render_version=2)
    assert [a.asset_id for a in v2] == ["job-cat:s0:v2", "job-cat:s1:v2"] and len(both) == 4
    for old, new in zip(v1, v2):
        assert new.replay_of == old.request_source  # replay-of: topic/partition/offset of the original
        assert new.request_id == old.request_id and new.seed == old.seed
        assert new.storage_key.endswith("/2.png") and store.exists(old.storage_key)  # old and new side by side
        assert new.sha256 == old.sha256  # same request, same seed, deterministic renderer

    # -- rerender one asset from its catalog entry alone: a new version, the same bytes -------------
    handle = client.rerender("proj-cat", "job-cat:s1:v1")
    assert handle.render_version == 3
    assert isinstance(handle.wait(90), BatchCompleted)
    again = wait_for("the rerender cataloged", lambda: client.catalog.assets("proj-cat", render_version=3))
    assert [a.asset_id for a in again] == ["job-cat:s1:v3"]
    assert again[0].replay_of == v1[1].request_source
    assert store.get(again[0].storage_key) == store.get(v1[1].storage_key)  # bitwise equal
    assert again[0].sha256 == v1[1].sha256

    # -- ratings, then forget the project: catalog, ratings and files gone ------------------------
    client.catalog.rate("proj-cat", "job-cat:s1:v1", 5, "alice@example.com")
    wait_for("the rating in the view", lambda: client.catalog.view.catch_up() >= 0 and client.catalog.view.ratings("proj-cat"))
    rows = client.catalog.view.ratings("proj-cat")
    assert rows[0][2] != "alice@example.com" and len(rows[0][2]) == 64  # stored hashed
    other = client.generate_image("proj-keep", "a lighthouse", width=64, height=64, steps=2, job_id="job-keep")
    other.wait(90)
    wait_for("the other project cataloged", lambda: client.catalog.assets("proj-keep"))
    files = store.list("images/proj-cat/") + store.list("characters/proj-cat/")
    assert len(files) >= 5  # 2 + 2 + 1 images and Léa's reference portrait
    report = client.catalog.forget_project("proj-cat")
    assert (report.assets, report.ratings) == (5, 1) and report.files == len(files)
    assert client.catalog.assets("proj-cat") == [] and client.catalog.view.ratings("proj-cat") == []
    assert store.list("images/proj-cat/") == [] and store.list("characters/proj-cat/") == []
    assert not (env.settings.storage.root / "images" / "proj-cat").exists()
    assert [a.asset_id for a in client.catalog.assets("proj-keep")] == ["job-keep:image:v1"]  # others untouched
    assert store.exists(client.catalog.assets("proj-keep")[0].storage_key)
