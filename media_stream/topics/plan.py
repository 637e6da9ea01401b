"""Declared vs live → the changes that make the cluster match, and what we refuse to do.

Pure: no Kafka client here (``LiveTopic`` is the plain value ``TopicAdmin`` reports). ``plan_changes`` compares each declared topic with what the cluster has and
returns creations, partition increases and config alterations, plus refusals (shrinking
partitions, a changed cleanup.policy unless explicitly allowed, a changed replication factor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from media_stream.kafka.messages import LiveTopic
from media_stream.topics.spec import TopicSpec


@dataclass(frozen=True)
class CreateTopic:
    spec: TopicSpec

    def describe(self) -> str:
        s = self.spec
        return f"+ create {s.name}: partitions={s.partitions} rf={s.replication_factor} " + _kv(s.config)


@dataclass(frozen=True)
class AddPartitions:
    topic: str
    current: int
    wanted: int

    def describe(self) -> str:
        return f"~ {self.topic}: partitions {self.current} → {self.wanted}"


@dataclass(frozen=True)
class AlterConfig:
    topic: str
    changes: Mapping[str, tuple[str | None, str]]  # key → (live, declared)

    def describe(self) -> str:
        parts = [f"{k} {old if old is not None else '(default)'} → {new}" for k, (old, new) in sorted(self.changes.items())]
        return f"~ {self.topic}: " + ", ".join(parts)


@dataclass(frozen=True)
class Refusal:
    topic: str
    reason: str

    def describe(self) -> str:
        return f"! {self.topic}: {self.reason}"


Change = CreateTopic | AddPartitions | AlterConfig


@dataclass(frozen=True)
class TopicPlan:
    changes: tuple[Change, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    unchanged: tuple[str, ...] = field(default=())

    @property
    def is_noop(self) -> bool:
        return not self.changes and not self.refusals

    def lines(self) -> list[str]:
        return [c.describe() for c in self.changes] + [r.describe() for r in self.refusals]

    def summary(self) -> str:
        if self.is_noop:
            return f"no changes: {len(self.unchanged)} topics already match topics.yaml"
        counts = {
            "to create": sum(isinstance(c, CreateTopic) for c in self.changes),
            "to grow": sum(isinstance(c, AddPartitions) for c in self.changes),
            "to reconfigure": sum(isinstance(c, AlterConfig) for c in self.changes),
            "refused": len(self.refusals),
            "unchanged": len(self.unchanged),
        }
        return ", ".join(f"{n} {what}" for what, n in counts.items() if n)


def plan_changes(
    declared: Sequence[TopicSpec],
    live: Mapping[str, LiveTopic],
    allow_cleanup_policy_change: bool = False,
) -> TopicPlan:
    changes: list[Change] = []
    refusals: list[Refusal] = []
    unchanged: list[str] = []
    for spec in declared:
        current = live.get(spec.name)
        if current is None:
            changes.append(CreateTopic(spec))
            continue
        before = len(changes) + len(refusals)
        if spec.partitions > current.partitions:
            changes.append(AddPartitions(spec.name, current.partitions, spec.partitions))
        elif spec.partitions < current.partitions:
            refusals.append(Refusal(spec.name, f"has {current.partitions} partitions, topics.yaml says {spec.partitions}: Kafka cannot shrink a topic (and shrinking would move keys); raise the declared count or recreate the topic by hand"))
        if spec.replication_factor != current.replication_factor:
            refusals.append(Refusal(spec.name, f"replication factor is {current.replication_factor}, topics.yaml says {spec.replication_factor}: change it with a partition reassignment, not with apply (or pick the right --profile)"))
        config_changes = _config_changes(spec, current)
        policy = config_changes.get("cleanup.policy")
        if policy is not None and not allow_cleanup_policy_change:
            refusals.append(Refusal(spec.name, f"cleanup.policy is {policy[0] or 'delete (default)'}, topics.yaml says {policy[1]}: changing it can delete data or keep it forever; re-run with --allow-cleanup-policy-change if that is meant"))
            config_changes.pop("cleanup.policy")
        if config_changes:
            changes.append(AlterConfig(spec.name, config_changes))
        if len(changes) + len(refusals) == before:
            unchanged.append(spec.name)
    return TopicPlan(tuple(changes), tuple(refusals), tuple(unchanged))


def _config_changes(spec: TopicSpec, current: LiveTopic) -> dict[str, tuple[str | None, str]]:
    return {
        key: (current.config.get(key), wanted)
        for key, wanted in spec.config.items()
        if not same_value(current.config.get(key), wanted)
    }


def same_value(live: str | None, declared: str | None) -> bool:
    """Config values compare as sets of comma-separated parts ("compact,delete" == "delete,compact")."""
    return _normalise(live) == _normalise(declared)


def _normalise(value: str | None) -> str | None:
    if value is None:
        return None
    return ",".join(sorted(part.strip() for part in value.split(",")))


def _kv(config: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(config.items()))
