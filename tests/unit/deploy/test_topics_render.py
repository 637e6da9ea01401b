"""`media-stream topics render --format strimzi`: topics.yaml as KafkaTopic resources, and the
checked-in deploy/k8s/base/kafka/topics.generated.yaml kept equal to a fresh render."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from media_stream.cli import app
from media_stream.config import PROJECT_ROOT
from media_stream.topics.render import render, render_strimzi
from media_stream.topics.spec import load_topics, parse_topics

GENERATED = PROJECT_ROOT / "deploy" / "k8s" / "base" / "kafka" / "topics.generated.yaml"
TOPICS = PROJECT_ROOT / "topics.yaml"


def test_checked_in_topics_equal_a_fresh_render() -> None:
    fresh = render_strimzi(load_topics(TOPICS))
    assert GENERATED.read_text(encoding="utf-8") == fresh, (
        "deploy/k8s/base/kafka/topics.generated.yaml is stale: run "
        "`media-stream topics render --format strimzi -o deploy/k8s/base/kafka/topics.generated.yaml`"
    )


def test_every_declared_topic_becomes_one_kafka_topic_with_its_partitions_replicas_and_config() -> None:
    declared = load_topics(TOPICS)
    documents = list(yaml.safe_load_all(render_strimzi(declared, cluster="prod-kafka")))
    assert [d["spec"]["topicName"] for d in documents] == declared.names()
    for spec, doc in zip(declared.topics, documents):
        assert doc["apiVersion"] == "kafka.strimzi.io/v1" and doc["kind"] == "KafkaTopic"
        assert doc["metadata"]["name"] == spec.name
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "prod-kafka"
        assert doc["metadata"]["labels"]["media-stream.io/topic-role"] == spec.role
        assert doc["spec"]["partitions"] == spec.partitions
        assert doc["spec"]["replicas"] == spec.replication_factor
        assert doc["spec"]["config"] == dict(spec.config)
        assert all(isinstance(v, str) for v in doc["spec"]["config"].values())


def test_a_profile_renders_its_overrides_and_says_so_in_the_header() -> None:
    raw = {
        "defaults": {"partitions": 6, "replication_factor": 3, "config": {"min.insync.replicas": "2"}},
        "profiles": {"local": {"replication_factor": 1, "config": {"min.insync.replicas": "1"}}},
        "topics": [{"name": "a.v1", "role": "a", "config": {"cleanup.policy": "compact"}}],
    }
    text = render_strimzi(parse_topics(raw, "local"))
    assert "--profile local" in text.splitlines()[0]
    (doc,) = yaml.safe_load_all(text)
    assert doc["spec"] == {"topicName": "a.v1", "partitions": 6, "replicas": 1, "config": {"cleanup.policy": "compact", "min.insync.replicas": "1"}}
    assert "annotations" not in doc["metadata"]  # no doc: no empty annotation


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="helm"):
        render(load_topics(TOPICS), "helm")
    result = CliRunner().invoke(app, ["topics", "render", "--format", "helm"])
    assert result.exit_code != 0


def test_the_command_writes_what_the_function_renders(tmp_path) -> None:
    out = tmp_path / "topics.yaml"
    result = CliRunner().invoke(app, ["topics", "render", "--format", "strimzi", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == render_strimzi(load_topics(TOPICS))
    stdout = CliRunner().invoke(app, ["topics", "render", "--cluster", "other"])
    assert stdout.exit_code == 0 and "strimzi.io/cluster: other" in stdout.output


def test_kafka_users_name_the_declared_topics_of_each_role_for_the_given_cluster(tmp_path) -> None:
    from media_stream.topics.access import COMPONENTS
    from media_stream.topics.render import render_strimzi_users

    declared = load_topics(TOPICS)
    documents = list(yaml.safe_load_all(render_strimzi_users(declared, cluster="prod-kafka")))
    assert [d["metadata"]["name"] for d in documents] == [c.user for c in COMPONENTS]
    for access, doc in zip(COMPONENTS, documents):
        assert doc["apiVersion"] == "kafka.strimzi.io/v1" and doc["kind"] == "KafkaUser"
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "prod-kafka"
        topics = {a["resource"]["name"]: a["operations"] for a in doc["spec"]["authorization"]["acls"] if a["resource"]["type"] == "topic"}
        assert set(topics) == {declared.name(role) for role in access.roles()}
        for role in access.reads:
            assert "Read" in topics[declared.name(role)] and "Describe" in topics[declared.name(role)]
        for role in access.writes:
            assert "Write" in topics[declared.name(role)]
    out = tmp_path / "users.yaml"
    result = CliRunner().invoke(app, ["topics", "render", "--format", "strimzi-users", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == render_strimzi_users(declared)
