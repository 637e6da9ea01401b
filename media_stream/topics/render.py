"""topics.yaml → Kubernetes resources, so the file stays the one source of the topics.

``render_strimzi`` turns each declared topic into a Strimzi ``KafkaTopic`` (the Topic Operator
creates and alters it on the cluster, as ``topics apply`` does on a broker it can reach). The
output is deterministic: the checked-in ``deploy/k8s/base/kafka/topics.generated.yaml`` is
compared with a fresh render by the tests.
"""

from __future__ import annotations

from typing import Any

import yaml

from media_stream.topics.spec import TopicsFile, TopicSpec

STRIMZI_API_VERSION = "kafka.strimzi.io/v1"
FORMATS = ("strimzi",)
GENERATED_HEADER = (
    "# GENERATED from topics.yaml by `media-stream topics render --format strimzi{args}`.\n"
    "# Do not edit: change topics.yaml and render again (a test fails while the two differ).\n"
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


def render(topics: TopicsFile, fmt: str, cluster: str = "media-stream") -> str:
    if fmt == "strimzi":
        return render_strimzi(topics, cluster)
    raise ValueError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
