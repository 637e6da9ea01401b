"""The catalog commands against the real broker: assets (table and --json), rate, quality --json,
forget-project; topics.yaml rewritten to the test's fresh topics."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from media_stream.cli import app
from media_stream.config import PROJECT_ROOT, get_settings
from media_stream.kafka.producer import EventProducer
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from media_stream.storage.filesystem import FilesystemStore
from tests.helpers.catalog_fixtures import RATER_KEY, CatalogEnv
from tests.helpers.outcomes import ready
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka


def test_assets_rate_quality_and_forget_from_the_cli(catalog_env: CatalogEnv, start_processor: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = catalog_env
    raw = yaml.safe_load((PROJECT_ROOT / "topics.yaml").read_text())
    for topic in raw["topics"]:
        if topic["role"] in env.roles:
            topic["name"] = env.roles[topic["role"]]
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(raw))
    for name, value in {"TOPICS_FILE": tmp_path / "topics.yaml", "STORAGE__ROOT": env.settings.storage.root,
                        "CATALOG__VIEW_PATH": tmp_path / "cli-view.sqlite", "CATALOG__RATER_HASH_KEY": RATER_KEY}.items():  # fmt: skip
        monkeypatch.setenv(f"MEDIA_STREAM_{name}", str(value))
    get_settings.cache_clear()
    try:
        store = FilesystemStore(env.settings.storage.root)
        encoder = EventEncoder(EventCodec.from_settings(env.settings))
        producer = EventProducer(env.settings, env.bootstrap)
        for job in ("job-1", "job-2"):
            outcome = ready(job, "watercolor", "preview/embedded-v1", 1, 0.9)
            store.put(outcome.storage_key, job.encode(), "image/png", {})
            producer.send(encoder.message(env.image.image_ready, "proj-q", outcome, "00-" + "1" * 32 + "-" + "2" * 16 + "-01"))
        producer.close()
        start_processor(env.topics)
        wait_for("two cataloged assets", lambda: len(env.client.catalog.assets("proj-q")) == 2)
        runner, boot = CliRunner(), ["--bootstrap", env.bootstrap]

        listed = runner.invoke(app, ["assets", "proj-q", "--json", *boot])
        assert listed.exit_code == 0, listed.output
        assert [a["assetId"] for a in json.loads(listed.output)] == ["job-1:s0:v1", "job-2:s0:v1"]
        table = runner.invoke(app, ["assets", "proj-q", *boot])
        assert table.exit_code == 0 and "job-1:s0:v1" in table.output and "2 asset(s)" in table.output

        rated = runner.invoke(app, ["rate", "proj-q", "job-1:s0:v1", "5", "--rater", "ann", "--comment", "lovely", *boot])
        assert rated.exit_code == 0, rated.output
        bad = runner.invoke(app, ["rate", "proj-q", "job-1:s0:v1", "9", "--rater", "ann", *boot])
        assert bad.exit_code == 2 and "rating" in bad.output
        report = runner.invoke(app, ["quality", "--json", *boot])
        assert report.exit_code == 0, report.output
        overall = next(q for q in json.loads(report.output)["quality"] if (q["dimension"], q["window"]) == ("all", "all"))
        assert (overall["count"], overall["mean"], overall["meetsTarget"]) == (1, 5.0, True)
        assert "target" in runner.invoke(app, ["quality", *boot]).output

        rerendered = runner.invoke(app, ["rerender", "proj-q/job-2:s0:v1", *boot])
        assert rerendered.exit_code == 0, rerendered.output
        assert "job job-2 version 2 published" in rerendered.output
        unknown = runner.invoke(app, ["rerender", "job-9:s0:v1", "--project", "proj-q", *boot])
        assert unknown.exit_code == 2 and "assetId" in unknown.output

        forgot = runner.invoke(app, ["forget-project", "proj-q", "--yes", *boot])
        assert forgot.exit_code == 0, forgot.output
        assert "2 catalog entries, 1 ratings, 2 files" in forgot.output
        assert json.loads(runner.invoke(app, ["assets", "proj-q", "--json", *boot]).output) == []
        assert store.list("images/proj-q/") == []
    finally:
        get_settings.cache_clear()
