"""topics.yaml → Kubernetes resources, so the file stays the one source of the topics.

``render_strimzi`` turns each declared topic into a Strimzi ``KafkaTopic`` (the Topic Operator
creates and alters it on the cluster, as ``topics apply`` does on a broker it can reach).
``render_strimzi_users`` turns the components' grants (media_stream/topics/access.py) into
Strimzi ``KafkaUser`` resources (SCRAM-SHA-512, simple ACLs) naming the topics of topics.yaml.
The output is deterministic: the checked-in ``deploy/k8s/base/kafka/topics.generated.yaml`` and
``deploy/k8s/overlays/production/kafka-users.generated.yaml`` are compared with a fresh render
by the tests.
"""

from __future__ import annotations

from typing import Any

import yaml

from media_stream.topics.access import COMPONENTS, ComponentAccess, groupless_prefix
from media_stream.topics.spec import TopicsFile, TopicSpec

STRIMZI_API_VERSION = "kafka.strimzi.io/v1"
FORMATS = ("strimzi", "strimzi-users")
GENERATED_HEADER = (
    "# GENERATED from topics.yaml by `media-stream topics render --format strimzi{args}`.\n"
    "# Do not edit: change topics.yaml and render again (a test fails while the two differ).\n"
)
USERS_HEADER = (
    "# GENERATED from topics.yaml and media_stream/topics/access.py by\n"
    "# `media-stream topics render --format strimzi-users{args}`.\n"
    "# Do not edit: change those and render again (a test fails while the two differ).\n"
)


def kafka_topic(spec: TopicSpec, cluster: str) -> dict[str, Any]:
    """One Strimzi KafkaTopic; metadata.name is the topic name (dots are valid in a k8s name)."""
    return {
        "apiVersion": STRIMZI_API_VERSION,
        "kind": "KafkaTopic",
        "metadata": {
            "name": spec.name,
            "labels": {
                "strimzi.io/cluster": cluster,
                "app.kubernetes.io/part-of": "media-stream",
                "media-stream.io/topic-role": spec.role,
            },
            "annotations": {"media-stream.io/doc": spec.doc} if spec.doc else {},
        },
        "spec": {
            "topicName": spec.name,
            "partitions": spec.partitions,
            "replicas": spec.replication_factor,
            "config": dict(sorted(spec.config.items())),
        },
    }


def render_strimzi(topics: TopicsFile, cluster: str = "media-stream") -> str:
    """Every declared topic as a KafkaTopic, in topics.yaml order, as one multi-document YAML."""
    args = f" --cluster {cluster}" if cluster != "media-stream" else ""
    if topics.profile:
        args += f" --profile {topics.profile}"
    documents = [kafka_topic(spec, cluster) for spec in topics.topics]
    for doc in documents:
        if not doc["metadata"]["annotations"]:
            del doc["metadata"]["annotations"]
    body = yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False, width=200, explicit_start=True)
    return GENERATED_HEADER.format(args=args) + body


def _acl(kind: str, name: str, operations: list[str], pattern: str = "literal") -> dict[str, Any]:
    return {"resource": {"type": kind, "name": name, "patternType": pattern}, "operations": operations}


def kafka_user_acls(access: ComponentAccess, topics: TopicsFile) -> list[dict[str, Any]]:
    """The simple ACLs of one component: its topics (in topics.yaml order), its group, the
    groupless readers' group prefixes, its transactional-id prefix."""
    reads = {topics.name(role) for role in access.reads}
    writes = {topics.name(role) for role in access.writes}
    configs = {topics.name(role) for role in access.describe_configs}
    acls = []
    for spec in topics.topics:
        operations = [op for op, names in (("Read", reads), ("Write", writes), ("DescribeConfigs", configs)) if spec.name in names]
        if operations:
            acls.append(_acl("topic", spec.name, [*operations, "Describe"]))
    if access.group:
        acls.append(_acl("group", access.group, ["Read"]))
    for purpose in access.groupless:
        acls.append(_acl("group", groupless_prefix(purpose), ["Describe"], "prefix"))
    for group in access.describes_groups:
        acls.append(_acl("group", group, ["Describe"]))
    if access.transactional_prefix:
        acls.append(_acl("transactionalId", access.transactional_prefix, ["Write", "Describe"], "prefix"))
    return acls


def kafka_user(access: ComponentAccess, topics: TopicsFile, cluster: str) -> dict[str, Any]:
    """One Strimzi KafkaUser: SCRAM-SHA-512 (the User Operator writes its password to the Secret
    of the same name, key ``password``) with simple ACLs."""
    return {
        "apiVersion": STRIMZI_API_VERSION,
        "kind": "KafkaUser",
        "metadata": {
            "name": access.user,
            "labels": {
                "strimzi.io/cluster": cluster,
                "app.kubernetes.io/part-of": "media-stream",
                "app.kubernetes.io/component": access.component,
            },
        },
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": kafka_user_acls(access, topics)},
        },
    }


def render_strimzi_users(topics: TopicsFile, cluster: str = "media-stream") -> str:
    """A KafkaUser per deployed component (media_stream/topics/access.py), as one multi-document YAML."""
    args = f" --cluster {cluster}" if cluster != "media-stream" else ""
    documents = [kafka_user(access, topics, cluster) for access in COMPONENTS]
    body = yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False, width=200, explicit_start=True)
    return USERS_HEADER.format(args=args) + body


def render(topics: TopicsFile, fmt: str, cluster: str = "media-stream") -> str:
    if fmt == "strimzi":
        return render_strimzi(topics, cluster)
    if fmt == "strimzi-users":
        return render_strimzi_users(topics, cluster)
    raise ValueError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
