"""Structural JSON schemas of the custom resources the manifests use (Strimzi v1, KEDA v1alpha1):
Kafka, KafkaNodePool, KafkaTopic, KafkaUser, ScaledObject, TriggerAuthentication.

Not the operators' full CRDs (no package bundles them): the fields media-stream relies on, with
their types and the fields each operator requires, and closed objects where a typo would
silently do nothing (a misspelt ScaledObject or trigger key).
"""

from __future__ import annotations

from typing import Any

_METADATA_WITH_CLUSTER = {
    "type": "object",
    "required": ["name", "labels"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
        "labels": {"type": "object", "required": ["strimzi.io/cluster"], "additionalProperties": {"type": "string"}},
    },
}
_SCALAR = {"type": ["string", "integer", "number", "boolean"]}

KAFKA_TOPIC: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1"},
        "metadata": _METADATA_WITH_CLUSTER,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["topicName", "partitions", "replicas"],
            "properties": {
                "topicName": {"type": "string", "minLength": 1},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object", "additionalProperties": _SCALAR},
            },
        },
    },
}

_STORAGE_VOLUME = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "id": {"type": "integer", "minimum": 0},
        "type": {"enum": ["ephemeral", "persistent-claim"]},
        "size": {"type": "string", "pattern": r"^[0-9]+([KMGTPE]i?)?$"},
        "deleteClaim": {"type": "boolean"},
        "kraftMetadata": {"enum": ["shared"]},
        "class": {"type": "string"},
    },
}

KAFKA_NODE_POOL: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1"},
        "metadata": _METADATA_WITH_CLUSTER,
        "spec": {
            "type": "object",
            "required": ["replicas", "roles", "storage"],
            "properties": {
                "replicas": {"type": "integer", "minimum": 0},
                "roles": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": ["controller", "broker"]}},
                "storage": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {
                        "type": {"enum": ["ephemeral", "persistent-claim", "jbod"]},
                        "volumes": {"type": "array", "minItems": 1, "items": {**_STORAGE_VOLUME, "required": ["id", "type"]}},
                    },
                    "if": {"properties": {"type": {"const": "jbod"}}},
                    "then": {"required": ["volumes"]},
                },
                "resources": {"type": "object"},
            },
        },
    },
}

KAFKA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1"},
        "spec": {
            "type": "object",
            "required": ["kafka"],
            "properties": {
                "kafka": {
                    "type": "object",
                    "required": ["listeners"],
                    "not": {"anyOf": [{"required": ["replicas"]}, {"required": ["storage"]}]},  # node pools hold these
                    "properties": {
                        "listeners": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["name", "port", "type", "tls"],
                                "properties": {
                                    "name": {"type": "string", "pattern": r"^[a-z0-9]{1,11}$"},
                                    "port": {"type": "integer", "minimum": 9092},
                                    "type": {"enum": ["internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip"]},
                                    "tls": {"type": "boolean"},
                                    "authentication": {
                                        "type": "object",
                                        "required": ["type"],
                                        "properties": {"type": {"enum": ["tls", "scram-sha-512", "custom"]}},
                                    },
                                },
                            },
                        },
                        "authorization": {
                            "type": "object",
                            "required": ["type"],
                            "properties": {
                                "type": {"enum": ["simple", "custom"]},
                                "superUsers": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                        "config": {"type": "object", "additionalProperties": _SCALAR},
                        "version": {"type": "string"},
                    },
                },
                "entityOperator": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"topicOperator": {"type": "object"}, "userOperator": {"type": "object"}, "template": {"type": "object"}},
                },
            },
        },
    },
}

_KAFKA_TRIGGER_METADATA = {
    "type": "object",
    "required": ["bootstrapServers", "consumerGroup", "topic", "lagThreshold"],
    "additionalProperties": False,
    # KEDA reads trigger metadata as map[string]string: numbers and booleans must be quoted.
    "properties": {
        key: {"type": "string"}
        for key in (
            "bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold",
            "offsetResetPolicy", "allowIdleConsumers", "scaleToZeroOnInvalidOffset", "excludePersistentLag",
            "limitToPartitionsWithLag", "ensureEvenDistributionOfPartitions", "partitionLimitation", "version",
            "sasl", "tls", "unsafeSsl",
        )
    },
}

SCALED_OBJECT: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "kind": {"type": "string"}, "apiVersion": {"type": "string"}, "envSourceContainerName": {"type": "string"}},
                },
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "fallback": {"type": "object", "required": ["failureThreshold", "replicas"]},
                "advanced": {"type": "object"},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"type": "string"},
                            "metadata": {"type": "object"},
                            "authenticationRef": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}, "kind": {"enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]}},
                            },
                        },
                        "if": {"properties": {"type": {"const": "kafka"}}},
                        "then": {"properties": {"metadata": _KAFKA_TRIGGER_METADATA}},
                    },
                },
            },
        },
    },
}

_ACL_RULE = {
    "type": "object",
    "additionalProperties": False,  # v1 has `operations` only (the singular `operation` was removed)
    "required": ["resource", "operations"],
    "properties": {
        "resource": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type"],
            "properties": {
                "type": {"enum": ["topic", "group", "cluster", "transactionalId"]},
                "name": {"type": "string", "minLength": 1},
                "patternType": {"enum": ["literal", "prefix"]},
            },
            "if": {"properties": {"type": {"const": "cluster"}}},
            "then": {"not": {"required": ["name"]}},
            "else": {"required": ["name"]},
        },
        "type": {"enum": ["allow", "deny"]},
        "host": {"type": "string"},
        "operations": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {
                "enum": [
                    "Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction",
                    "AlterConfigs", "DescribeConfigs", "IdempotentWrite", "All",
                ]
            },
        },
    },
}

KAFKA_USER: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1"},
        "metadata": _METADATA_WITH_CLUSTER,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "authentication": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"enum": ["tls", "tls-external", "scram-sha-512"]}, "password": {"type": "object"}},
                },
                "authorization": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["type", "acls"],
                    "properties": {"type": {"const": "simple"}, "acls": {"type": "array", "items": _ACL_RULE}},
                },
                "quotas": {"type": "object"},
                "template": {"type": "object"},
            },
        },
    },
}

_SECRET_TARGET = {
    "type": "object",
    "additionalProperties": False,
    "required": ["parameter", "name", "key"],
    "properties": {"parameter": {"type": "string"}, "name": {"type": "string"}, "key": {"type": "string"}},
}
_ENV_TARGET = {
    "type": "object",
    "additionalProperties": False,
    "required": ["parameter", "name"],
    "properties": {"parameter": {"type": "string"}, "name": {"type": "string"}, "containerName": {"type": "string"}},
}

TRIGGER_AUTHENTICATION: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "secretTargetRef": {"type": "array", "items": _SECRET_TARGET},
                "env": {"type": "array", "items": _ENV_TARGET},
                "configMapTargetRef": {"type": "array", "items": _SECRET_TARGET},
            },
        },
    },
}

SCHEMAS = {
    ("kafka.strimzi.io/v1", "KafkaTopic"): KAFKA_TOPIC,
    ("kafka.strimzi.io/v1", "KafkaNodePool"): KAFKA_NODE_POOL,
    ("kafka.strimzi.io/v1", "Kafka"): KAFKA,
    ("kafka.strimzi.io/v1", "KafkaUser"): KAFKA_USER,
    ("keda.sh/v1alpha1", "ScaledObject"): SCALED_OBJECT,
    ("keda.sh/v1alpha1", "TriggerAuthentication"): TRIGGER_AUTHENTICATION,
}
