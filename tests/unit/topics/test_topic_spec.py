"""topics.yaml → specs: profiles, roles, co-partitioning and the checks that refuse a bad file."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from media_stream.config import PROJECT_ROOT
from media_stream.domain.errors import ConfigurationError
from media_stream.serde.schema_store import load_schema_store
from media_stream.topics.spec import load_topics, parse_topics

TOPICS_FILE = PROJECT_ROOT / "topics.yaml"
RAW = yaml.safe_load(TOPICS_FILE.read_text())


def test_production_defaults_replicate_three_times_with_two_in_sync() -> None:
    topics = load_topics(TOPICS_FILE)
    for topic in topics.topics:
        assert topic.replication_factor == 3, topic.name
        assert topic.config["min.insync.replicas"] == "2", topic.name
        assert "max.message.bytes" in topic.config and "retention.ms" in topic.config


def test_local_profile_fits_a_single_node_and_keeps_each_topics_own_settings() -> None:
    topics = load_topics(TOPICS_FILE, profile="local")
    assert {t.replication_factor for t in topics.topics} == {1}
    assert {t.config["min.insync.replicas"] for t in topics.topics} == {"1"}
    assert topics.by_role("job_status").cleanup_policy == "compact"
    assert topics.by_role("image_requests_dlq").partitions == 3


def test_every_kind_of_topic_is_declared_with_the_house_names() -> None:
    topics = load_topics(TOPICS_FILE)
    assert topics.name("image_requests") == "media.image.requested.v1"
    assert topics.name("image_requests_dlq") == "media.image.requested.v1.dlq"
    for role in ("audio_requests", "control", "image_ready", "batch_completed", "audio_ready", "job_failed"):
        assert topics.by_role(role).cleanup_policy == "delete"
    for role in ("job_status", "character_registry", "dedupe"):
        assert "compact" in topics.by_role(role).cleanup_policy
    assert topics.by_role("job_status").key == "jobId"


def test_requests_and_project_state_are_co_partitioned() -> None:
    topics = load_topics(TOPICS_FILE)
    group = [t for t in topics.topics if t.copartition == "project"]
    assert {t.role for t in group} >= {"image_requests", "audio_requests", "control", "character_registry", "dedupe"}
    assert len({t.partitions for t in group}) == 1


def test_each_request_and_outcome_event_has_exactly_one_topic_and_every_name_is_a_schema() -> None:
    topics = load_topics(TOPICS_FILE)
    records = set(load_schema_store(PROJECT_ROOT / "schemas" / "media" / "v1").names())
    for event in ("ImageRequested", "StoryboardRequested", "NarrationRequested", "MusicRequested", "CancelRequested",
                  "ImageReady", "BatchCompleted", "AudioReady", "JobStatusChanged", "JobFailed"):
        assert topics.for_event(event).events.count(event) == 1
    assert topics.for_event("StoryboardRequested").name == "media.image.requested.v1"
    assert topics.for_event("CancelRequested").name == "media.control.v1"
    for topic in topics.topics:
        assert set(topic.events) <= records, topic.name


def test_an_unknown_role_or_profile_is_named_in_the_error() -> None:
    with pytest.raises(ConfigurationError, match="no topic with role 'nope'"):
        load_topics(TOPICS_FILE).by_role("nope")
    with pytest.raises(ConfigurationError, match="unknown profile 'staging'.*local"):
        load_topics(TOPICS_FILE, profile="staging")


def _edited(edit) -> dict:  # noqa: ANN001
    raw = copy.deepcopy(RAW)
    edit(raw)
    return raw


def test_co_partitioned_topics_with_different_counts_are_refused() -> None:
    def grow_one(raw: dict) -> None:
        raw["topics"][0]["partitions"] = 24

    with pytest.raises(ConfigurationError, match="co-partitioned group 'project' must share one partition count"):
        parse_topics(_edited(grow_one))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: raw["topics"].append(dict(raw["topics"][0])), "declared twice"),
        (lambda raw: raw["topics"][0]["config"].update({"cleanup.policy": "forever"}), "cleanup.policy 'forever'"),
        (lambda raw: raw["topics"][0].update({"partitions": 0}), "partitions must be a positive integer"),
        (lambda raw: raw["topics"][0].pop("role"), "has no role"),
        (lambda raw: raw.pop("topics"), "expected a mapping with a 'topics' list"),
    ],
)
def test_malformed_files_are_refused_with_the_reason(edit, message: str) -> None:  # noqa: ANN001
    with pytest.raises(ConfigurationError, match=message):
        parse_topics(_edited(edit))


def test_a_missing_or_broken_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        load_topics(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("topics: [\n")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_topics(broken)
