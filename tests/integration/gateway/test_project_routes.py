"""The routes the console adds, against the real broker, agent and catalog processor: the project
list, a project's jobs, a rerender (scopes, unknown assets, the new version with its lineage),
and a stored file's bytes equal to what the agent stored."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from media_stream.domain.outcomes import ImageReady
from media_stream.storage.filesystem import FilesystemStore
from tests.helpers.waiting import wait_for
from tests.integration.gateway.conftest import OPERATOR, PROJECT, VIEWER, ConsoleEnv, bearer

pytestmark = pytest.mark.kafka



def test_projects_jobs_files_and_rerender(console_env: ConsoleEnv) -> None:
    env = console_env
    op, viewer = bearer(OPERATOR), bearer(VIEWER)
    with httpx.Client(base_url=env.url, timeout=60) as http:
        scenes = [{"sceneId": f"s{i}", "prompt": f"scene {i}"} for i in range(2)]
        posted = http.post("/api/v1/images/batch-generate", json={"projectId": PROJECT, "jobId": "job-routes", "scenes": scenes, "styleConfig": {"width": 64, "height": 64, "steps": 2}}, headers=op)
        assert posted.status_code == 202, posted.text
        listed = wait_for("two cataloged assets", lambda: len(r := http.get(f"/api/v1/projects/{PROJECT}/assets", headers=viewer).json()) == 2 and r)
        assert http.get("/api/v1/projects", headers=viewer).json() == [{"projectId": PROJECT, "assets": 2}]
        jobs = wait_for("the job completed", lambda: (j := http.get(f"/api/v1/projects/{PROJECT}/jobs", headers=viewer).json()) and j[0]["status"] == "completed" and j)
        assert [(j["jobId"], j["projectId"], j["renderVersion"]) for j in jobs] == [("job-routes", PROJECT, 1)]
        assert jobs[0]["updatedAt"].endswith("Z") and jobs[0]["progress"] == 1.0
        assert http.get("/api/v1/projects/other/jobs", headers=viewer).json() == []
        assert http.get("/api/v1/projects/a..b/jobs", headers=viewer).status_code == 404
        assert http.get("/api/v1/projects").status_code == 401

        # the stored bytes, as the agent stored them
        entry = listed[0]
        got = http.get(f"/api/v1/files/{entry['storageKey']}", headers=viewer)
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        assert hashlib.sha256(got.content).hexdigest() == entry["sha256"]
        assert got.content == FilesystemStore(env.settings.storage.root).get(entry["storageKey"])

        # rerender: images:write needed, unknown assets 404, then the next version with its lineage
        asset = f"{PROJECT}/assets/job-routes:s1:v1/rerender"
        assert http.post(f"/api/v1/projects/{asset}", headers=viewer).status_code == 403
        assert http.post(f"/api/v1/projects/{PROJECT}/assets/job-routes:s9:v1/rerender", headers=op).status_code == 404
        assert http.post(f"/api/v1/projects/{PROJECT}/assets/not-an-asset/rerender", headers=op).status_code == 404
        again = http.post(f"/api/v1/projects/{asset}", headers=op)
        assert again.status_code == 202, again.text
        body = again.json()
        assert (body["jobId"], body["renderVersion"], body["status"]) == ("job-routes", 2, "queued")
        assert body["eventsUrl"].endswith("/api/v1/jobs/job-routes/events?renderVersion=2")
    v2 = wait_for("version 2 rendered", lambda: [e for e in env.on_topic(env.image.image_ready, 1, ImageReady) if e.render_version == 2])
    original = next(e for e in env.on_topic(env.image.image_ready, 1, ImageReady) if e.render_version == 1 and e.scene_id == "s1")
    assert [(e.job_id, e.scene_id) for e in v2] == [("job-routes", "s1")]
    assert v2[0].seed == original.seed and v2[0].sha256 == original.sha256  # the same request again
    assert v2[0].replay_of == original.request_source  # published with its replay-of lineage
