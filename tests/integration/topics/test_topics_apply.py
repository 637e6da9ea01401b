"""`topics apply` / `describe` against the real broker: create, no-op, grow, alter, refuse.

Each test writes its own topics file with unique names, so tests never share a topic.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner

from media_stream.config import PROJECT_ROOT, Settings, get_settings
from media_stream.kafka.admin import TopicAdmin
from media_stream.topics.apply import TopicPlanRefused, apply_topics, describe_topics

pytestmark = pytest.mark.kafka


def topics_file(tmp_path: Path, partitions: int = 2, **overrides: Any) -> dict[str, Any]:
    """The project's topics.yaml with unique names and small partition counts."""
    raw = yaml.safe_load((PROJECT_ROOT / "topics.yaml").read_text())
    suffix = uuid.uuid4().hex[:8]
    for topic in raw["topics"]:
        topic["name"] = f"{topic['name']}.{suffix}"
        topic["partitions"] = 1 if topic["role"].endswith("_dlq") else partitions
    raw.update(overrides)
    return raw


def write(tmp_path: Path, raw: dict[str, Any]) -> Settings:
    path = tmp_path / "topics.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return Settings(topics_file=path, topics_profile="local")


def live(settings: Settings, bootstrap: str) -> dict[str, Any]:
    raw = yaml.safe_load(Path(settings.topics_file).read_text())
    return TopicAdmin(settings, bootstrap).live_topics([t["name"] for t in raw["topics"]])


def test_apply_creates_everything_then_a_second_run_changes_nothing_and_says_so(tmp_path: Path, kafka_bootstrap: str) -> None:
    raw = topics_file(tmp_path)
    settings = write(tmp_path, raw)
    first = apply_topics(settings, bootstrap=kafka_bootstrap)
    assert first.applied and first.summary == f"applied: {len(raw['topics'])} to create"
    topics = live(settings, kafka_bootstrap)
    assert len(topics) == len(raw["topics"])
    status = next(t for t in topics.values() if ".job.status." in t.name)
    assert status.config["cleanup.policy"] == "compact" and status.config["retention.ms"] == "-1"
    requests = next(t for t in topics.values() if t.name.startswith("media.image.requested.v1.") and "dlq" not in t.name)
    assert (requests.partitions, requests.replication_factor, requests.config["retention.ms"]) == (2, 1, "1209600000")

    second = apply_topics(settings, bootstrap=kafka_bootstrap)
    assert not second.applied and second.plan.is_noop
    assert second.summary == f"no changes: {len(raw['topics'])} topics already match topics.yaml"
    assert all(not row.differences for row in describe_topics(settings, bootstrap=kafka_bootstrap))


def test_apply_grows_partitions_and_alters_configs_in_place(tmp_path: Path, kafka_bootstrap: str) -> None:
    raw = topics_file(tmp_path)
    apply_topics(write(tmp_path, raw), bootstrap=kafka_bootstrap)
    grown = topics_file(tmp_path, partitions=4)
    for old, new in zip(raw["topics"], grown["topics"]):
        new["name"] = old["name"]
    grown["topics"][0]["config"]["retention.ms"] = "3600000"
    settings = write(tmp_path, grown)

    dry = apply_topics(settings, bootstrap=kafka_bootstrap, dry_run=True)
    assert not dry.applied and dry.summary.startswith("dry run, would apply:")
    assert live(settings, kafka_bootstrap)[grown["topics"][0]["name"]].partitions == 2  # dry run changed nothing

    result = apply_topics(settings, bootstrap=kafka_bootstrap)
    assert f"~ {grown['topics'][0]['name']}: partitions 2 → 4" in result.plan.lines()
    assert f"~ {grown['topics'][0]['name']}: retention.ms 1209600000 → 3600000" in result.plan.lines()
    after = live(settings, kafka_bootstrap)
    first = after[grown["topics"][0]["name"]]
    assert first.partitions == 4 and first.config["retention.ms"] == "3600000"
    assert all(t.partitions == 4 for t in after.values() if "dlq" not in t.name)
    assert apply_topics(settings, bootstrap=kafka_bootstrap).plan.is_noop


def test_apply_refuses_to_shrink_and_changes_nothing_at_all(tmp_path: Path, kafka_bootstrap: str) -> None:
    raw = topics_file(tmp_path, partitions=3)
    apply_topics(write(tmp_path, raw), bootstrap=kafka_bootstrap)
    shrunk = yaml.safe_load(yaml.safe_dump(raw))
    for topic in shrunk["topics"]:
        if topic["partitions"] == 3:
            topic["partitions"] = 2
    shrunk["topics"][-1]["config"]["retention.ms"] = "60000"  # a change that must not slip through either
    settings = write(tmp_path, shrunk)
    with pytest.raises(TopicPlanRefused, match="cannot shrink"):
        apply_topics(settings, bootstrap=kafka_bootstrap)
    after = live(settings, kafka_bootstrap)
    assert after[raw["topics"][0]["name"]].partitions == 3
    assert after[raw["topics"][-1]["name"]].config["retention.ms"] == "2592000000"


def test_apply_refuses_a_cleanup_policy_change_unless_explicitly_allowed(tmp_path: Path, kafka_bootstrap: str, kafka_admin: AdminClient) -> None:
    raw = topics_file(tmp_path)
    apply_topics(write(tmp_path, raw), bootstrap=kafka_bootstrap)
    ready = next(t for t in raw["topics"] if t["role"] == "image_ready")
    ready["config"] = {"cleanup.policy": "compact"}
    settings = write(tmp_path, raw)
    with pytest.raises(TopicPlanRefused, match="cleanup.policy is delete.*says compact"):
        apply_topics(settings, bootstrap=kafka_bootstrap)
    assert live(settings, kafka_bootstrap)[ready["name"]].config["cleanup.policy"] == "delete"
    apply_topics(settings, bootstrap=kafka_bootstrap, allow_cleanup_policy_change=True)
    assert live(settings, kafka_bootstrap)[ready["name"]].config["cleanup.policy"] == "compact"


def test_cli_apply_and_describe_print_the_diff_and_live_against_declared(tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from media_stream.cli import app

    raw = topics_file(tmp_path)
    write(tmp_path, raw)
    monkeypatch.setenv("MEDIA_STREAM_TOPICS_FILE", str(tmp_path / "topics.yaml"))
    monkeypatch.setenv("MEDIA_STREAM_TOPICS_PROFILE", "local")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        dry = runner.invoke(app, ["topics", "apply", "--dry-run", "--bootstrap", kafka_bootstrap])
        assert dry.exit_code == 0, dry.output
        assert f"+ create {raw['topics'][0]['name']}: partitions=2 rf=1" in dry.output
        assert "dry run, would apply" in dry.output
        applied = runner.invoke(app, ["topics", "apply", "--bootstrap", kafka_bootstrap])
        assert applied.exit_code == 0 and "applied:" in applied.output
        again = runner.invoke(app, ["topics", "apply", "--bootstrap", kafka_bootstrap])
        assert again.exit_code == 0 and "no changes" in again.output
        described = runner.invoke(app, ["topics", "describe", "--bootstrap", kafka_bootstrap], env={"COLUMNS": "250"})
        assert described.exit_code == 0, described.output
        assert described.output.count("matches") == len(raw["topics"])
    finally:
        get_settings.cache_clear()
