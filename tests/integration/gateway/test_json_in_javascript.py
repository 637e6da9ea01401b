"""Every JSON answer and SSE event of the gateway parsed by JavaScript (node) reads as Python reads it:
no integer past 2^53 (JSON.parse rounds those silently), every time RFC 3339 with ``Z``.

A storyboard with a seed near the top of the range (the per-scene seeds wrap inside it) and one
image with a derived seed are followed to their end over SSE, against a real preview agent.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.agents import RunningAgent
from tests.helpers.sse import sse_events
from tests.integration.gateway.conftest import SERVICE, ServedGateway, bearer

pytestmark = [pytest.mark.kafka]

NODE = r"""
const texts = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const badTimes = [];
function walk(value, where) {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:/.test(value)) {
    const parsed = new Date(value);
    if (isNaN(parsed) || parsed.toISOString() !== value) badTimes.push(where + ': ' + value);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, where + '[' + i + ']'));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walk(v, where + '.' + k);
  }
}
const out = texts.map((text, i) => { const v = JSON.parse(text); walk(v, '#' + i); return JSON.stringify(v); });
process.stdout.write(JSON.stringify({out, badTimes}));
"""
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
SMALL = {"width": 64, "height": 64, "steps": 5}


def node_reads(texts: list[str], folder: Path) -> dict[str, Any]:
    if shutil.which("node") is None:  # a missing engine fails the test: the parse it proves never ran
        pytest.fail("node is not installed: the JavaScript parse test needs Node.js on PATH", pytrace=False)
    (folder / "texts.json").write_text(json.dumps(texts))
    (folder / "read.js").write_text(NODE)
    done = subprocess.run(["node", str(folder / "read.js"), str(folder / "texts.json")], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def times_in(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from times_in(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from times_in(v, key)
    elif key.endswith("At") or (isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:", value)):
        yield key, value


def ints_in(value: Any) -> Iterator[int]:
    if isinstance(value, dict):
        for v in value.values():
            yield from ints_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from ints_in(v)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value


def follow(http: httpx.Client, path: str, body: dict, job_id: str) -> tuple[list[str], list[tuple[str, dict]]]:
    """POST ``body`` while streaming the job's events; the raw ``data:`` texts and the events."""
    raw: list[str] = []
    with http.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=bearer(SERVICE)) as stream:
        lines = stream.iter_lines()

        def recorded() -> Iterator[str]:
            for line in lines:
                if line.startswith("data: "):
                    raw.append(line[len("data: "):])
                yield line

        events = sse_events(recorded())
        assert next(events) == ("comment", None)
        posted = http.post(path, json={**body, "jobId": job_id}, headers=bearer(SERVICE))
        assert posted.status_code == 202, posted.text
        raw.append(posted.text)
        seen = [(name, data) for name, data in events if name != "comment"]
    return raw, seen


def test_every_answer_and_event_reads_the_same_in_javascript(served_gateway: ServedGateway, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    start_agent()
    texts: list[str] = []
    with httpx.Client(base_url=served_gateway.url, timeout=60) as http:
        top = 2**53 - 2
        scenes = [{"sceneId": s, "prompt": f"scene {s}", "characters": []} for s in ("a", "b", "c")]
        raw, storyboard = follow(http, "/api/v1/images/batch-generate", {"projectId": "proj-js", "scenes": scenes, "style": {"seed": top, **SMALL}}, "job-js-1")
        texts += raw
        raw, image = follow(http, "/api/v1/images/generate", {"projectId": "proj-js", "prompt": "a fox, seed derived", **SMALL}, "job-js-2")
        texts += raw
        for path in ("/api/v1/images/status/job-js-1", "/api/v1/audio/status/job-js-2", "/api/v1/styles", "/api/v1/styles/anime", "/api/v1/audio/voices", "/api/v1/models"):
            answer = http.get(path, headers=bearer(SERVICE))
            assert answer.status_code == 200, (path, answer.text)
            texts.append(answer.text)
        texts.append(http.post("/api/v1/audio/narration", json={"text": "Bonjour.", "voice": "fr-FR-Denise"}, headers=bearer(SERVICE)).text)

    # Both jobs ended by the one rule, every image delivered before the end
    for seen, expected in ((storyboard, ["a", "b", "c"]), (image, None)):
        names = [n for n, _ in seen]
        assert names[-1] == "end" and seen[-1][1]["status"] == "completed", names
        ready = [d["sceneId"] for n, d in seen if n == "ImageReady"]
        (batch,) = [d for n, d in seen if n == "BatchCompleted"]
        assert sorted(ready) == sorted(i["sceneId"] for i in batch["images"]) and (expected is None or ready == expected)
    seeds = [d["seed"] for n, d in storyboard if n == "ImageReady"]
    assert seeds == [top, top + 1, 0]  # the per-scene seeds wrap inside 0..2^53-1
    assert all(0 <= d["seed"] < 2**53 for n, d in image if n == "ImageReady")

    parsed = [json.loads(t) for t in texts]
    read = node_reads(texts, tmp_path)
    assert read["badTimes"] == []
    assert [json.loads(t) for t in read["out"]] == parsed  # JavaScript loses no digit
    for value in parsed:
        assert all(abs(i) < 2**53 for i in ints_in(value))
        for key, moment in times_in(value):
            assert isinstance(moment, str) and RFC3339_Z.match(moment), (key, moment)
    assert any(key == "createdAt" for value in parsed for key, _ in times_in(value))  # times were there to check
