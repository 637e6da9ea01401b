"""topics.yaml → typed topic specs, with a profile's overrides applied and the file checked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from media_stream.domain.errors import ConfigurationError

ALLOWED_CLEANUP = ("delete", "compact", "compact,delete")


@dataclass(frozen=True)
class TopicSpec:
    name: str
    role: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str]
    key: str = "projectId"
    events: tuple[str, ...] = ()
    copartition: str | None = None
    doc: str = ""

    @property
    def cleanup_policy(self) -> str:
        return self.config.get("cleanup.policy", "delete")


@dataclass(frozen=True)
class TopicsFile:
    """The declared topics of one profile; find a topic by its role or by an event it carries."""

    topics: tuple[TopicSpec, ...]
    profile: str | None = None
    _by_role: dict[str, TopicSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_role", {t.role: t for t in self.topics})

    def by_role(self, role: str) -> TopicSpec:
        try:
            return self._by_role[role]
        except KeyError:
            raise ConfigurationError(f"topics.yaml declares no topic with role {role!r} (roles: {', '.join(sorted(self._by_role))})") from None

    def name(self, role: str) -> str:
        return self.by_role(role).name

    def for_event(self, record_name: str) -> TopicSpec:
        """The topic that carries ``record_name`` (e.g. StoryboardRequested → the image requests)."""
        carriers = [t for t in self.topics if record_name in t.events]
        if len(carriers) != 1:
            raise ConfigurationError(f"topics.yaml must declare exactly one topic carrying {record_name}, found {len(carriers)}")
        return carriers[0]

    def names(self) -> list[str]:
        return [t.name for t in self.topics]


class HasRoles(Protocol):
    """Anything that names topics by role (``runtime.routes.AgentRoutes``, ``catalog.topics.CatalogTopics``)."""

    def roles(self) -> Mapping[str, str]: ...


class TopicResolver:
    """The one lookup of topic names: by role or by the event a topic carries, from topics.yaml,
    with per-role overrides (tests, the SDK's ``topics=``) taking precedence.

    Used by the agent (``AgentRoutes``), the catalog, the SDK, the gateway and the publisher.
    """

    def __init__(self, declared: TopicsFile | None, overrides: Mapping[str, str] | HasRoles | None = None) -> None:
        self.declared = declared
        raw = overrides.roles() if overrides is not None and not isinstance(overrides, Mapping) else (overrides or {})
        self.overrides = {role: name for role, name in raw.items() if name}

    @classmethod
    def load(cls, path: Path, overrides: Mapping[str, str] | HasRoles | None = None, profile: str | None = None) -> TopicResolver:
        return cls(load_topics(path, profile), overrides)

    def name(self, role: str) -> str:
        """The topic with ``role``; a ConfigurationError naming the roles when there is none."""
        if role in self.overrides:
            return self.overrides[role]
        if self.declared is None:
            raise ConfigurationError(f"no topic for role {role!r} (overridden roles: {', '.join(sorted(self.overrides))})")
        return self.declared.name(role)

    def has(self, role: str) -> bool:
        return role in self.overrides or (self.declared is not None and role in self.declared._by_role)

    def names(self, roles: Iterable[str]) -> list[str]:
        """The distinct topics of the roles this deployment has, in order (roles it lacks are skipped)."""
        found: list[str] = []
        for role in roles:
            if self.has(role) and (name := self.name(role)) not in found:
                found.append(name)
        return found

    def for_event(self, record_name: str) -> str:
        """The topic carrying ``record_name`` (its role as topics.yaml declares it, then overrides)."""
        if self.declared is None:
            raise ConfigurationError(f"no topics file to find the topic carrying {record_name}")
        return self.name(self.declared.for_event(record_name).role)


def load_topics(path: Path, profile: str | None = None) -> TopicsFile:
    """Read and check ``path``; ``profile`` (e.g. "local") overrides the defaults."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"topics file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path} is not valid YAML: {exc}") from exc
    return parse_topics(raw, profile, source=str(path))


def parse_topics(raw: Any, profile: str | None = None, source: str = "topics.yaml") -> TopicsFile:
    if not isinstance(raw, dict) or not isinstance(raw.get("topics"), list):
        raise ConfigurationError(f"{source}: expected a mapping with a 'topics' list")
    defaults = _section(raw.get("defaults", {}), f"{source}: defaults")
    profiles = _section(raw.get("profiles", {}), f"{source}: profiles")
    if profile is not None:
        if profile not in profiles:
            raise ConfigurationError(f"{source}: unknown profile {profile!r} (profiles: {', '.join(sorted(profiles)) or 'none'})")
        defaults = _merge(defaults, _section(profiles[profile], f"{source}: profiles.{profile}"))
    topics = tuple(_topic(entry, defaults, profile, profiles, source) for entry in raw["topics"])
    _check(topics, source)
    return TopicsFile(topics, profile)


def _topic(entry: Any, defaults: Mapping[str, Any], profile: str | None, profiles: Mapping[str, Any], source: str) -> TopicSpec:
    entry = _section(entry, f"{source}: topic")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"{source}: every topic needs a name")
    merged = _merge(defaults, entry)
    if profile is not None:  # a profile's settings beat a topic's own, e.g. rf=1 on a single node
        merged = _merge(merged, {k: v for k, v in profiles[profile].items() if k != "config"})
        merged["config"] = {**merged["config"], **profiles[profile].get("config", {})}
    for required in ("role", "partitions", "replication_factor"):
        if required not in merged:
            raise ConfigurationError(f"{source}: topic {name} has no {required}")
    return TopicSpec(
        name=name,
        role=str(merged["role"]),
        partitions=_positive(merged["partitions"], f"{name}: partitions"),
        replication_factor=_positive(merged["replication_factor"], f"{name}: replication_factor"),
        config={str(k): str(v) for k, v in merged.get("config", {}).items()},
        key=str(merged.get("key", "projectId")),
        events=tuple(merged.get("events") or ()),
        copartition=merged.get("copartition"),
        doc=str(merged.get("doc", "")),
    )


def _check(topics: Iterable[TopicSpec], source: str) -> None:
    seen_names: set[str] = set()
    seen_roles: set[str] = set()
    groups: dict[str, list[TopicSpec]] = {}
    for topic in topics:
        if topic.name in seen_names:
            raise ConfigurationError(f"{source}: topic {topic.name} is declared twice")
        if topic.role in seen_roles:
            raise ConfigurationError(f"{source}: role {topic.role} is declared twice")
        seen_names.add(topic.name)
        seen_roles.add(topic.role)
        if topic.cleanup_policy not in ALLOWED_CLEANUP:
            raise ConfigurationError(f"{source}: {topic.name}: cleanup.policy {topic.cleanup_policy!r} (allowed: {', '.join(ALLOWED_CLEANUP)})")
        if topic.copartition:
            groups.setdefault(topic.copartition, []).append(topic)
    for group, members in groups.items():
        counts = {t.partitions for t in members}
        if len(counts) > 1:
            listing = ", ".join(f"{t.name}={t.partitions}" for t in members)
            raise ConfigurationError(f"{source}: co-partitioned group {group!r} must share one partition count: {listing}")


def _section(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}: expected a mapping")
    return value


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**base, **override}
    merged["config"] = {**base.get("config", {}), **(override.get("config") or {})}
    return merged


def _positive(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{where} must be a positive integer, got {value!r}")
    return value
