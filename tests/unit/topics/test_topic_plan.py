"""Declared vs live → changes and refusals, with no broker (the broker side is in integration)."""

from __future__ import annotations

from media_stream.kafka.messages import LiveTopic
from media_stream.topics.plan import (
    AddPartitions,
    AlterConfig,
    CreateTopic,
    plan_changes,
)
from media_stream.topics.spec import TopicSpec

REQUESTS = TopicSpec("req", "requests", 12, 1, {"cleanup.policy": "delete", "retention.ms": "1000"})
STATUS = TopicSpec("status", "status", 12, 1, {"cleanup.policy": "compact,delete"})


def live(spec: TopicSpec, partitions: int | None = None, rf: int | None = None, **config: str) -> LiveTopic:
    merged = {**spec.config, **{k.replace("_", "."): v for k, v in config.items()}}
    return LiveTopic(spec.name, partitions or spec.partitions, rf or spec.replication_factor, merged)


def test_missing_topics_are_created_and_matching_ones_left_alone() -> None:
    plan = plan_changes([REQUESTS, STATUS], {"status": live(STATUS)})
    assert plan.changes == (CreateTopic(REQUESTS),)
    assert plan.unchanged == ("status",)
    assert plan.lines()[0].startswith("+ create req: partitions=12 rf=1")


def test_a_cluster_that_matches_is_a_no_op_and_says_so() -> None:
    plan = plan_changes([REQUESTS, STATUS], {"req": live(REQUESTS), "status": live(STATUS)})
    assert plan.is_noop
    assert plan.summary() == "no changes: 2 topics already match topics.yaml"


def test_undeclared_live_config_keys_are_not_changes_and_policy_order_does_not_matter() -> None:
    plan = plan_changes([STATUS], {"status": live(STATUS, cleanup_policy="delete,compact", segment_ms="10")})
    assert plan.is_noop


def test_partitions_grow_and_configs_change_with_old_and_new_values() -> None:
    plan = plan_changes([REQUESTS], {"req": live(REQUESTS, partitions=6, retention_ms="5")})
    assert plan.changes == (AddPartitions("req", 6, 12), AlterConfig("req", {"retention.ms": ("5", "1000")}))
    assert plan.lines() == ["~ req: partitions 6 → 12", "~ req: retention.ms 5 → 1000"]
    assert plan.summary() == "1 to grow, 1 to reconfigure"


def test_shrinking_partitions_is_refused() -> None:
    plan = plan_changes([REQUESTS], {"req": live(REQUESTS, partitions=24)})
    assert plan.changes == ()
    assert len(plan.refusals) == 1 and "cannot shrink" in plan.refusals[0].reason


def test_cleanup_policy_change_is_refused_unless_allowed_and_other_changes_still_planned() -> None:
    current = {"req": live(REQUESTS, cleanup_policy="compact", retention_ms="5")}
    refused = plan_changes([REQUESTS], current)
    assert [r.topic for r in refused.refusals] == ["req"]
    assert "--allow-cleanup-policy-change" in refused.refusals[0].reason
    assert refused.changes == (AlterConfig("req", {"retention.ms": ("5", "1000")}),)
    allowed = plan_changes([REQUESTS], current, allow_cleanup_policy_change=True)
    assert allowed.refusals == ()
    assert allowed.changes == (AlterConfig("req", {"cleanup.policy": ("compact", "delete"), "retention.ms": ("5", "1000")}),)


def test_a_different_replication_factor_is_refused_not_silently_ignored() -> None:
    plan = plan_changes([REQUESTS], {"req": live(REQUESTS, rf=3)})
    assert "replication factor is 3" in plan.refusals[0].reason
