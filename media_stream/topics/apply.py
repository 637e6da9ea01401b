"""`topics apply` and `topics describe`: topics.yaml against the live cluster."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from media_stream.config import Settings
from media_stream.domain.errors import ConfigurationError, RetriableError
from media_stream.kafka.admin import TopicAdmin
from media_stream.kafka.messages import LiveTopic
from media_stream.topics.plan import (
    AddPartitions,
    AlterConfig,
    CreateTopic,
    TopicPlan,
    plan_changes,
    same_value,
)
from media_stream.topics.spec import TopicsFile, TopicSpec, load_topics


class TopicPlanRefused(ConfigurationError):
    """The cluster differs from topics.yaml in a way apply will not fix on its own."""


@dataclass(frozen=True)
class ApplyResult:
    plan: TopicPlan
    applied: bool

    @property
    def summary(self) -> str:
        if self.plan.is_noop:
            return self.plan.summary()
        return ("applied: " if self.applied else "dry run, would apply: ") + self.plan.summary()


def declared_topics(settings: Settings, profile: str | None) -> TopicsFile:
    return load_topics(settings.topics_file, profile if profile is not None else settings.topics_profile)


def apply_topics(
    settings: Settings,
    profile: str | None = None,
    bootstrap: str | None = None,
    dry_run: bool = False,
    allow_cleanup_policy_change: bool = False,
) -> ApplyResult:
    """Create what is missing, grow partitions, alter configs; refuse shrink and silent policy changes.

    Nothing is changed when any refusal is found: the plan is all or nothing.
    """
    declared = declared_topics(settings, profile)
    admin = TopicAdmin(settings, bootstrap)
    plan = plan_changes(declared.topics, admin.live_topics(declared.names()), allow_cleanup_policy_change)
    if plan.refusals and not dry_run:
        raise TopicPlanRefused("topics apply refused, nothing was changed:\n" + "\n".join(r.describe() for r in plan.refusals))
    if dry_run or plan.is_noop:
        return ApplyResult(plan, applied=False)
    admin.create([c.spec for c in plan.changes if isinstance(c, CreateTopic)])
    admin.add_partitions({c.topic: c.wanted for c in plan.changes if isinstance(c, AddPartitions)})
    changes = {c.topic: {k: new for k, (_old, new) in c.changes.items()} for c in plan.changes if isinstance(c, AlterConfig)}
    admin.alter_configs(changes)
    await_configs(admin, changes)
    return ApplyResult(plan, applied=True)


def await_configs(admin: TopicAdmin, changes: Mapping[str, Mapping[str, str]], timeout_s: float = 30.0) -> None:
    """Brokers apply config changes asynchronously: return once describe shows them."""
    if not any(changes.values()):
        return
    deadline = time.monotonic() + timeout_s
    while True:
        live = admin.live_topics(changes)
        if all(same_value(live[name].config.get(k), v) for name, values in changes.items() for k, v in values.items() if name in live):
            return
        if time.monotonic() > deadline:
            raise RetriableError(f"config changes not visible after {timeout_s:g}s: {dict(changes)}")
        time.sleep(0.1)


@dataclass(frozen=True)
class TopicComparison:
    spec: TopicSpec
    live: LiveTopic | None

    @property
    def differences(self) -> list[str]:
        plan = plan_changes([self.spec], {self.spec.name: self.live} if self.live else {}, allow_cleanup_policy_change=True)
        return [line.split(": ", 1)[-1] if not line.startswith("+") else "missing" for line in plan.lines()]


def describe_topics(settings: Settings, profile: str | None = None, bootstrap: str | None = None) -> list[TopicComparison]:
    declared = declared_topics(settings, profile)
    live = TopicAdmin(settings, bootstrap).live_topics(declared.names())
    return [TopicComparison(spec, live.get(spec.name)) for spec in declared.topics]
