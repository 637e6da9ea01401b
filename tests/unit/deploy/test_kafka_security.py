"""Kafka security of the production overlay, checked offline: the brokers take SCRAM-SHA-512 over
TLS only, with simple ACLs; every client Deployment authenticates as its own KafkaUser with the
password from the User Operator's Secret and trusts the cluster CA from a mounted Secret; each
KafkaUser is granted the topics (by topics.yaml), group and transactional ids its code uses, and
nothing of the other components'. The local overlay stays plaintext."""

from __future__ import annotations

import ast
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from media_stream.catalog.topics import CatalogTopics
from media_stream.client.sdk import ALL_OUTCOME_ROLES
from media_stream.config import PROJECT_ROOT
from media_stream.kafka.config import security_config
from media_stream.runtime.assembly import MEDIA, agent_group_id
from media_stream.runtime.routes import AgentRoutes
from media_stream.topics.access import (
    COMPONENTS,
    GROUPLESS_PURPOSES,
    component,
    groupless_prefix,
)
from media_stream.topics.render import render_strimzi_users
from media_stream.topics.spec import TopicResolver, load_topics
from tests.unit.deploy.manifests import (
    K8S,
    by_kind,
    container_env,
    containers,
    kustomize_build,
    settings_from,
)

TOPICS = PROJECT_ROOT / "topics.yaml"
USERS = K8S / "overlays" / "production" / "kafka-users.generated.yaml"
CA_SECRET_KEY = "ca.crt"


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return kustomize_build(K8S / "overlays" / "production")


@pytest.fixture(scope="module")
def local() -> list[dict[str, Any]]:
    return kustomize_build(K8S / "overlays" / "local")


def cluster_name(objects: list[dict[str, Any]]) -> str:
    (kafka,) = by_kind(objects, "Kafka").values()
    return kafka["metadata"]["name"]


def kafka_clients(objects: list[dict[str, Any]]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Deployment name -> (deployment, container) of every container that talks to Kafka: every
    container reading the media-stream ConfigMap (it carries the bootstrap servers)."""
    found = {}
    for deployment, container in containers(objects):
        if any(s.get("configMapRef", {}).get("name") == "media-stream-config" for s in container.get("envFrom", [])):
            found[deployment["metadata"]["name"]] = (deployment, container)
    return found


def grants(user: dict[str, Any]) -> dict[tuple[str, str, str], set[str]]:
    """(resource type, name, pattern) -> operations of one KafkaUser."""
    out: dict[tuple[str, str, str], set[str]] = {}
    for acl in user["spec"]["authorization"]["acls"]:
        r = acl["resource"]
        out.setdefault((r["type"], r.get("name", ""), r.get("patternType", "literal")), set()).update(acl["operations"])
    return out


def topic_grants(user: dict[str, Any], operation: str) -> set[str]:
    return {name for (kind, name, _), ops in grants(user).items() if kind == "topic" and operation in ops}


# ---- the generated KafkaUsers --------------------------------------------------------------------


def test_checked_in_kafka_users_equal_a_fresh_render() -> None:
    assert USERS.read_text(encoding="utf-8") == render_strimzi_users(load_topics(TOPICS)), (
        "deploy/k8s/overlays/production/kafka-users.generated.yaml is stale: run `media-stream topics render "
        "--format strimzi-users -o deploy/k8s/overlays/production/kafka-users.generated.yaml`"
    )


def test_every_topic_an_acl_names_is_declared_in_topics_yaml_and_patterns_are_literal(production: list) -> None:
    declared = set(load_topics(TOPICS).names())
    users = by_kind(production, "KafkaUser")
    assert set(users) == {c.user for c in COMPONENTS}
    for name, user in users.items():
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == cluster_name(production)
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        for (kind, resource, pattern), operations in grants(user).items():
            assert kind != "cluster" and "All" not in operations, f"{name}: {kind} {resource} {operations} is broader than a client needs"
            if kind == "topic":
                assert pattern == "literal" and resource in declared, f"{name}: topic {resource!r} ({pattern}) is not in topics.yaml"
            else:
                assert resource.startswith("media-stream-"), f"{name}: {kind} {resource!r}"


# ---- what each component's code uses is granted, and no more ----------------------------------------------------


def test_each_agent_is_granted_the_topics_group_and_transactional_ids_its_code_uses(production: list, monkeypatch: pytest.MonkeyPatch) -> None:
    topics = load_topics(TOPICS)
    users = by_kind(production, "KafkaUser")
    clients = kafka_clients(production)
    for medium in MEDIA:
        access = component(f"{medium}-agent")
        user = users[access.user]
        routes = AgentRoutes.from_topics(TopicResolver(topics), medium)
        state = {routes.dedupe, routes.progress} | ({routes.character_registry} if medium == "image" else set())
        outcomes = {"image": {routes.image_ready, routes.batch_completed}, "audio": {routes.audio_ready}}[medium]
        reads = {routes.requests, routes.control} | state
        writes = {routes.dead_letters, routes.job_status, routes.job_failed, topics.name("agents")} | state | outcomes
        assert reads <= topic_grants(user, "Read"), f"{medium} agents read {reads - topic_grants(user, 'Read')}"
        assert writes <= topic_grants(user, "Write"), f"{medium} agents write {writes - topic_grants(user, 'Write')}"
        # least privilege: the other medium's requests and outcomes are out of reach
        other = AgentRoutes.from_topics(TopicResolver(topics), next(m for m in MEDIA if m != medium))
        foreign = {other.requests, other.dead_letters} | ({other.audio_ready} if medium == "image" else {other.image_ready, other.batch_completed})
        assert not foreign & (topic_grants(user, "Read") | topic_grants(user, "Write")), f"{medium} agents reach {foreign}"

        _deployment, container = clients[access.component]
        settings = settings_from(container_env(production, container), monkeypatch)
        group = agent_group_id(settings, medium)
        assert grants(user).get(("group", group, "literal")) == {"Read"}, f"{medium} agents join {group}"
        transactional_id = agent_transactional_id(settings, medium, monkeypatch)
        assert access.transactional_prefix and transactional_id.startswith(access.transactional_prefix)
        assert grants(user)[("transactionalId", access.transactional_prefix, "prefix")] >= {"Write", "Describe"}


class _Stop(Exception):
    pass


def agent_transactional_id(settings: Any, medium: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The transactional.id build_agent gives the agent's producer (build stops right there)."""
    import media_stream.runtime.assembly as assembly
    from media_stream.storage.memory import MemoryStore

    seen: list[str] = []

    def capture(_settings: Any, transactional_id: str, *_args: Any, **_kwargs: Any) -> None:
        seen.append(transactional_id)
        raise _Stop

    monkeypatch.setattr(assembly, "TransactionalProducer", capture)
    with pytest.raises(_Stop):
        assembly.build_agent(settings, medium, "localhost:9", store=MemoryStore())
    return seen[0]


def test_the_catalog_is_granted_its_outcomes_group_and_transactional_ids_and_nothing_of_the_agents(production: list, monkeypatch: pytest.MonkeyPatch) -> None:
    import media_stream.catalog.processor as processor

    access = component("catalog")
    user = by_kind(production, "KafkaUser")[access.user]
    _deployment, container = kafka_clients(production)[access.component]
    settings = settings_from(container_env(production, container), monkeypatch)
    seen: dict[str, Any] = {}

    def consumer(_settings: Any, group_id: str, topics: Any, *_a: Any, **_k: Any) -> None:
        seen["group"], seen["topics"] = group_id, set(topics)

    def producer(_settings: Any, transactional_id: str, *_a: Any, **_k: Any) -> None:
        seen["transactional_id"] = transactional_id

    monkeypatch.setattr(processor, "EventConsumer", consumer)
    monkeypatch.setattr(processor, "TransactionalProducer", producer)
    catalog_topics = CatalogTopics.resolve(settings)
    processor.CatalogProcessor(settings, catalog_topics)
    assert seen["topics"] <= topic_grants(user, "Read")
    assert {catalog_topics.assets, catalog_topics.assets_dlq} <= topic_grants(user, "Write")
    assert grants(user).get(("group", seen["group"], "literal")) == {"Read"}
    assert access.transactional_prefix and seen["transactional_id"].startswith(access.transactional_prefix)
    topics = load_topics(TOPICS)
    requests = {topics.name("image_requests"), topics.name("audio_requests"), topics.name("control")}
    assert not requests & (topic_grants(user, "Read") | topic_grants(user, "Write"))


def test_the_gateway_is_granted_what_it_publishes_and_reads_and_writes_no_outcome(production: list, monkeypatch: pytest.MonkeyPatch) -> None:
    topics = load_topics(TOPICS)
    user = by_kind(production, "KafkaUser")[component("gateway").user]
    _deployment, container = kafka_clients(production)["gateway"]
    catalog = CatalogTopics.resolve(settings_from(container_env(production, container), monkeypatch))
    publishes = {topics.name(role) for role in ("image_requests", "audio_requests", "control")} | {catalog.asset_ratings, catalog.assets}
    reads = {topics.name(role) for role in ALL_OUTCOME_ROLES} | {catalog.assets, catalog.asset_ratings, topics.name("agents")}
    assert publishes <= topic_grants(user, "Write"), publishes - topic_grants(user, "Write")
    assert reads <= topic_grants(user, "Read"), reads - topic_grants(user, "Read")
    outcomes = {topics.name(role) for role in ALL_OUTCOME_ROLES}
    assert not outcomes & topic_grants(user, "Write"), "only agents write outcomes and job status"
    assert not any(kind == "transactionalId" for kind, *_ in grants(user)), "the gateway publishes without transactions"


def test_the_gateway_may_describe_the_configs_of_the_topics_its_views_ask_about(production: list, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The status, catalog and agents views ask TopicAdmin.live_topics (DescribeConfigs) before
    reading a topic to its end: without the grant the broker refuses and the view fails."""
    import media_stream.catalog.view as catalog_view
    import media_stream.client.agents as client_agents
    import media_stream.state.status_view as status_view
    import media_stream.state.topic_view as topic_view  # the status and catalog views catch up through it

    topics = load_topics(TOPICS)
    user = by_kind(production, "KafkaUser")[component("gateway").user]
    _deployment, container = kafka_clients(production)["gateway"]
    settings = settings_from(container_env(production, container), monkeypatch)
    asked: set[str] = set()

    class RecordingAdmin:
        def __init__(self, *_args: Any, **_kwargs: Any) -> None:
            pass

        def live_topics(self, names: Any) -> dict:
            asked.update(names)
            raise _Stop

    for module in (topic_view, client_agents):
        monkeypatch.setattr(module, "TopicAdmin", RecordingAdmin)
    calls = (
        lambda: status_view.StatusView(tmp_path / "status.sqlite", settings, topics.name("job_status"), "localhost:9").catch_up(),
        lambda: catalog_view.CatalogView(tmp_path / "catalog.sqlite", settings, CatalogTopics.resolve(settings), "localhost:9").catch_up(),
        lambda: client_agents.running_agents(settings, "localhost:9", topics.name("agents")),
    )
    for call in calls:
        with pytest.raises(_Stop):
            call()
    assert asked == {topics.name(r) for r in ("job_status", "assets", "asset_ratings", "agents")}
    assert asked <= topic_grants(user, "DescribeConfigs"), asked - topic_grants(user, "DescribeConfigs")


def test_groupless_readers_are_granted_describe_on_their_group_prefix() -> None:
    """Every `groupless_consumer(..., "<purpose>")` outside the operator tools has its prefix granted."""
    purposes = set()
    for path in (PROJECT_ROOT / "media_stream").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "groupless_consumer":
                purpose = node.args[2]
                assert isinstance(purpose, ast.Constant), f"{path}: a groupless purpose that is not a literal"
                purposes.add(purpose.value)
    assert purposes - {"reset", "bench-watch"} == set(GROUPLESS_PURPOSES)
    for access in COMPONENTS:
        if access.component != "catalog":  # the catalog processor reads in its group only
            assert set(access.groupless) == set(GROUPLESS_PURPOSES)
    assert groupless_prefix("follow") == "media-stream-follow-"


# ---- brokers and clients -------------------------------------------------------------------------


def test_production_brokers_take_only_scram_over_tls_and_authorize_every_request(production: list) -> None:
    (kafka,) = by_kind(production, "Kafka").values()
    spec = kafka["spec"]
    for listener in spec["kafka"]["listeners"]:
        assert listener["tls"] is True and listener["authentication"] == {"type": "scram-sha-512"}, f"listener {listener['name']} lets clients in without SCRAM over TLS"
    assert spec["kafka"]["authorization"]["type"] == "simple"
    assert "allow.everyone.if.no.acl.found" not in spec["kafka"].get("config", {})
    assert "userOperator" in spec["entityOperator"], "without the User Operator no KafkaUser becomes credentials"


def test_every_production_kafka_client_uses_sasl_ssl_its_own_user_a_secret_password_and_the_cluster_ca(production: list, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = cluster_name(production)
    (kafka,) = by_kind(production, "Kafka").values()
    users = by_kind(production, "KafkaUser")
    clients = kafka_clients(production)
    assert set(clients) == {"image-agent", "audio-agent", "gateway", "catalog"}
    usernames = set()
    for name, (deployment, container) in clients.items():
        env = container_env(production, container)
        assert env.get("MEDIA_STREAM_KAFKA__SECURITY_PROTOCOL") == "SASL_SSL", name
        assert env.get("MEDIA_STREAM_KAFKA__SASL_MECHANISM") == "SCRAM-SHA-512", name
        username = env.get("MEDIA_STREAM_KAFKA__SASL_USERNAME")
        assert username in users and users[username]["metadata"]["labels"]["app.kubernetes.io/component"] == name, f"{name}: user {username!r}"
        usernames.add(username)
        password = env.get("MEDIA_STREAM_KAFKA__SASL_PASSWORD")
        assert isinstance(password, dict), f"{name}: the SASL password is a literal in the manifest"
        assert password == {"secretKeyRef": {"name": username, "key": "password"}}, f"{name}: not the User Operator's Secret: {password}"
        # the CA file lies in a read-only mount of the cluster CA Secret
        ca_location = PurePosixPath(env["MEDIA_STREAM_KAFKA__SSL_CA_LOCATION"])
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        mounts = [m for m in container.get("volumeMounts", []) if ca_location.parent == PurePosixPath(m["mountPath"])]
        assert len(mounts) == 1, f"{name}: nothing mounted at {ca_location.parent} (MEDIA_STREAM_KAFKA__SSL_CA_LOCATION)"
        (mount,) = mounts
        assert mount.get("readOnly") is True
        secret = volumes[mount["name"]]["secret"]
        assert secret["secretName"] == f"{cluster}-cluster-ca-cert"
        files = {item["path"]: item["key"] for item in secret.get("items", [])} or {CA_SECRET_KEY: CA_SECRET_KEY}
        assert files.get(ca_location.name) == CA_SECRET_KEY, f"{name}: {ca_location} is not the secret's {CA_SECRET_KEY}"
        # the bootstrap is the SCRAM TLS listener; hostname verification stays on
        host, _, port = env["MEDIA_STREAM_KAFKA__BOOTSTRAP_SERVERS"].rpartition(":")
        assert host == f"{cluster}-kafka-bootstrap"
        (listener,) = [li for li in kafka["spec"]["kafka"]["listeners"] if li["port"] == int(port)]
        assert listener["tls"] and listener["authentication"]["type"] == "scram-sha-512"
        settings = settings_from(env, monkeypatch)
        conf = security_config(settings)  # what librdkafka gets; refuses a SASL setup missing a piece
        assert conf["security.protocol"] == "SASL_SSL" and conf["sasl.mechanisms"] == "SCRAM-SHA-512"
        assert conf["ssl.ca.location"] == str(ca_location) and conf["ssl.endpoint.identification.algorithm"] == "https"
    assert len(usernames) == len(clients), "each component authenticates as its own user"


def test_kafka_user_secrets_collide_with_no_other_secret(production: list) -> None:
    """The User Operator writes a Secret named after each KafkaUser: it must not overwrite one an
    operator creates (media-stream-s3, -gateway, -catalog) nor a Strimzi one (<cluster>-...)."""
    cluster = cluster_name(production)
    others = set()
    for _deployment, container in containers(production):
        for entry in container.get("env", []):
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["key"] != "password":
                others.add(ref["name"])
    for name in by_kind(production, "KafkaUser"):
        assert name not in others and not name.startswith(f"{cluster}-"), name


def test_keda_reads_the_lag_over_scram_tls_as_the_agent_it_scales(production: list) -> None:
    cluster = cluster_name(production)
    auths = by_kind(production, "TriggerAuthentication")
    users = by_kind(production, "KafkaUser")
    clients = kafka_clients(production)
    for scaled in by_kind(production, "ScaledObject").values():
        (trigger,) = scaled["spec"]["triggers"]
        meta = trigger["metadata"]
        assert meta["sasl"] == "scram_sha512" and meta["tls"] == "enable"
        auth = auths[trigger["authenticationRef"]["name"]]["spec"]
        _deployment, container = clients[scaled["spec"]["scaleTargetRef"]["name"]]
        env = {e["name"]: e for e in container["env"]}  # KEDA resolves `env` from the scaled container
        by_parameter = {e["parameter"]: e["name"] for e in auth.get("env", [])}
        assert by_parameter == {"username": "MEDIA_STREAM_KAFKA__SASL_USERNAME", "password": "MEDIA_STREAM_KAFKA__SASL_PASSWORD"}
        assert "secretKeyRef" in env[by_parameter["password"]]["valueFrom"], "KEDA's password must come from a Secret"
        user = grants(users[env[by_parameter["username"]]["value"]])
        # the lag: offsets of the group (Describe, implied by Read) and of the topic's partitions
        assert user.get(("group", meta["consumerGroup"], "literal"), set()) & {"Read", "Describe"}
        assert user.get(("topic", meta["topic"], "literal"), set()) >= {"Describe"}
        (ca,) = [r for r in auth["secretTargetRef"] if r["parameter"] == "ca"]
        assert (ca["name"], ca["key"]) == (f"{cluster}-cluster-ca-cert", CA_SECRET_KEY)


def test_local_stays_plaintext_without_users(local: list) -> None:
    (kafka,) = by_kind(local, "Kafka").values()
    assert "authorization" not in kafka["spec"]["kafka"]
    assert not by_kind(local, "KafkaUser") and not by_kind(local, "TriggerAuthentication")
    for name, (_deployment, container) in kafka_clients(local).items():
        env = container_env(local, container)
        assert env.get("MEDIA_STREAM_KAFKA__SECURITY_PROTOCOL", "PLAINTEXT") == "PLAINTEXT", name
        assert not any(key.startswith(("MEDIA_STREAM_KAFKA__SASL", "MEDIA_STREAM_KAFKA__SSL")) for key in env), name
