"""deploy/k8s checked offline: every overlay renders with kustomize, every object validates
(Kubernetes' own schemas for built-in kinds, structural schemas for Strimzi and KEDA), and
everything the objects name exists in the project: commands, settings, topics and their
partition counts, consumer groups, ports and health paths."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from media_stream.catalog.topics import CatalogTopics
from media_stream.config import PROJECT_ROOT
from media_stream.runtime.assembly import MEDIA, agent_group_id
from media_stream.topics.spec import load_topics
from tests.unit.deploy.crd_schemas import SCHEMAS
from tests.unit.deploy.manifests import (
    EXTERNAL_ENV,
    K8S,
    OVERLAYS,
    PROJECT_IMAGES,
    agent_path_status,
    by_kind,
    catalog_path_status,
    container_env,
    containers,
    gateway_get_paths,
    kustomize_build,
    parse_command,
    project_version,
    settings_from,
    settings_path,
)

KUBERNETES_VERSION = "1.33"  # the oldest minor the manifests promise to fit (deploy/README.md)
TOPICS = PROJECT_ROOT / "topics.yaml"
AGENT_PROFILE = {"local": "local", "production": None}  # the topics.yaml profile each overlay's cluster matches
SECRET_SETTINGS = {
    "MEDIA_STREAM_STORAGE__ACCESS_KEY", "MEDIA_STREAM_STORAGE__SECRET_KEY", "MEDIA_STREAM_GATEWAY__TOKENS", "MEDIA_STREAM_CATALOG__RATER_HASH_KEY",
    "MEDIA_STREAM_KAFKA__SASL_PASSWORD", "MEDIA_STREAM_KAFKA__SSL_KEY_PASSWORD",
}
STORE_COMMANDS = {"worker", "gateway"}  # the commands that read or write the object store
THIRD_PARTY_IMAGES = {"minio/minio"}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {overlay: kustomize_build(K8S / "overlays" / overlay) for overlay in OVERLAYS}


def agents(objects: list[dict[str, Any]]) -> dict[str, tuple[dict[str, Any], dict[str, Any], str]]:
    """Deployment name -> (deployment, container, medium) for every `media-stream worker` container."""
    found = {}
    for deployment, container in containers(objects):
        if not is_project_image(container["image"]):
            continue
        command, params = parse_command(container["args"])
        if command == "worker":
            found[deployment["metadata"]["name"]] = (deployment, container, params["medium"])
    return found


def is_project_image(image: str) -> bool:
    return image.rsplit("/", 1)[-1].split(":")[0] in PROJECT_IMAGES


def test_every_yaml_file_parses() -> None:
    files = sorted(K8S.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        assert documents, f"{path} is empty"
        assert all(isinstance(d, dict) for d in documents), path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_its_schema(rendered: dict, overlay: str) -> None:
    objects = rendered[overlay]
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "Kafka", "KafkaNodePool", "KafkaTopic", "ScaledObject"} <= kinds
    for obj in objects:
        where = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
        assert obj["metadata"].get("namespace") == "media-stream", f"{where} has no namespace"
        custom = SCHEMAS.get((obj["apiVersion"], obj["kind"]))
        if custom is not None:
            errors = list(jsonschema.Draft202012Validator(custom).iter_errors(obj))
            assert not errors, f"{where}: " + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
        else:
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                raise AssertionError(f"{where}: {'/'.join(map(str, error.path))}: {error.message}") from None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_commands_settings_and_secrets_exist_in_the_project(rendered: dict, overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = rendered[overlay]
    seen_commands = set()
    for deployment, container in containers(objects):
        if not is_project_image(container["image"]):
            continue
        command, params = parse_command(container["args"])
        seen_commands.add(command)
        env = container_env(objects, container)
        for name, value in env.items():
            if name.startswith("MEDIA_STREAM_"):
                settings_path(name)
            else:
                assert name in EXTERNAL_ENV, f"{deployment['metadata']['name']}: {name} is neither a setting nor a known variable"
            if name in SECRET_SETTINGS:
                assert isinstance(value, dict) and "secretKeyRef" in value, f"{name} must come from a Secret by reference"
        settings = settings_from(env, monkeypatch)
        assert settings.kafka.bootstrap_servers
        if command in STORE_COMMANDS:
            assert settings.storage.backend == "minio"
            assert settings.storage.access_key is not None and settings.storage.secret_key is not None
        if command == "worker":
            assert params["medium"] in MEDIA
        if command == "gateway":
            assert settings.gateway.tokens
            assert settings.catalog.rater_hash_key is not None, "the gateway rates assets: it needs the rater hash key"
    assert seen_commands == {"worker", "gateway", "catalog run"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_the_projects_own_at_its_version_or_pinned(rendered: dict, overlay: str) -> None:
    for deployment, container in containers(rendered[overlay]):
        repository, _, tag = container["image"].rpartition(":")
        assert tag and tag != "latest", f"{deployment['metadata']['name']}: pin {container['image']}"
        if is_project_image(container["image"]):
            assert tag == project_version()
        else:
            assert repository in THIRD_PARTY_IMAGES, f"unknown image {container['image']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_ports_are_the_ones_the_servers_answer(rendered: dict, overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = rendered[overlay]
    found = agents(objects)
    assert {medium for *_, medium in found.values()} == set(MEDIA)
    for name, (_deployment, container, _medium) in found.items():
        settings = settings_from(container_env(objects, container), monkeypatch)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"metrics": settings.observability.port}
        probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
        assert all(p["port"] == "metrics" for p in probes.values())
        assert probes["readinessProbe"]["path"] == "/healthz/ready" and probes["livenessProbe"]["path"] == "/healthz/live"
        statuses = agent_path_status([p["path"] for p in probes.values()])
        assert 404 not in statuses.values(), f"{name}: {statuses}"
    (gateway,) = [c for d, c in containers(objects) if d["metadata"]["name"] == "gateway"]
    _, params = parse_command(gateway["args"])
    assert {p["name"]: p["containerPort"] for p in gateway["ports"]} == {"http": params["port"]}
    for kind in ("livenessProbe", "readinessProbe"):
        assert gateway[kind]["httpGet"]["port"] == "http" and gateway[kind]["httpGet"]["path"] in gateway_get_paths()
    service = by_kind(objects, "Service")["gateway"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"].items() <= by_kind(objects, "Deployment")["gateway"]["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_agents_get_a_gpu_in_production_a_grace_period_longer_than_a_step_and_a_disruption_budget(rendered: dict, overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = rendered[overlay]
    budgets = by_kind(objects, "PodDisruptionBudget")
    for name, (deployment, container, medium) in agents(objects).items():
        pod = deployment["spec"]["template"]
        limits = container["resources"]["limits"]
        if overlay == "production":
            assert limits.get("nvidia.com/gpu") == 1 and container["image"].split(":")[0].endswith("media-stream-cuda")
        else:
            assert "nvidia.com/gpu" not in limits
        settings = settings_from(container_env(objects, container), monkeypatch)
        backend = settings.worker.image_backend if medium == "image" else (settings.audio.speech_backend, settings.audio.music_backend)
        expected = {"image": ("preview", "sdxl"), "audio": (("espeak", "procedural"), ("coqui", "musicgen"))}[medium]
        assert backend == expected[overlay == "production"], f"{overlay}/{name}: renderers {backend}"
        assert pod["spec"]["terminationGracePeriodSeconds"] >= settings.worker.shutdown_timeout_s + 15, (
            f"{name}: the kubelet would kill an agent still finishing its step (worker.shutdown_timeout_s={settings.worker.shutdown_timeout_s:g})"
        )
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod["metadata"]["labels"].items()
        (budget,) = [b for b in budgets.values() if b["spec"]["selector"]["matchLabels"] == selector]
        assert budget["spec"].get("maxUnavailable") == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_scales_each_agent_on_its_group_lag_up_to_the_partition_count(rendered: dict, overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = rendered[overlay]
    topics = load_topics(TOPICS)
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in by_kind(objects, "ScaledObject").values()}
    found = agents(objects)
    assert set(scaled) == set(found)
    bootstrap = by_kind(objects, "ConfigMap")["media-stream-config"]["data"]["MEDIA_STREAM_KAFKA__BOOTSTRAP_SERVERS"]
    for name, (_deployment, container, medium) in found.items():
        spec = scaled[name]["spec"]
        (trigger,) = spec["triggers"]
        meta = trigger["metadata"]
        requests = topics.by_role(f"{medium}_requests")
        settings = settings_from(container_env(objects, container), monkeypatch)
        assert trigger["type"] == "kafka"
        assert meta["topic"] == requests.name
        assert meta["consumerGroup"] == agent_group_id(settings, medium)
        assert meta["bootstrapServers"] == bootstrap
        assert spec["maxReplicaCount"] == requests.partitions, "agents beyond the partition count hold no partition"
        assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        assert int(meta["lagThreshold"]) >= 1 and int(meta["activationLagThreshold"]) >= 1
        assert meta["allowIdleConsumers"] == "false"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_catalog_processor_needs_no_gpu_nor_store_key_its_probes_ask_its_server_and_its_topics_exist(rendered: dict, overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = rendered[overlay]
    (found,) = [(d, c) for d, c in containers(objects) if is_project_image(c["image"]) and parse_command(c["args"])[0] == "catalog run"]
    deployment, container = found
    assert container["image"].rsplit("/", 1)[-1].split(":")[0] == "media-stream", "the CPU image: no GPU needed"
    assert "nvidia.com/gpu" not in container["resources"].get("limits", {})
    assert "tolerations" not in deployment["spec"]["template"]["spec"]
    env = container_env(objects, container)
    assert not {"MEDIA_STREAM_STORAGE__ACCESS_KEY", "MEDIA_STREAM_STORAGE__SECRET_KEY", "MEDIA_STREAM_CATALOG__RATER_HASH_KEY"} & set(env), (
        "the catalog processor reads and writes Kafka only: it gets no store key nor the rater key"
    )
    settings = settings_from(env, monkeypatch)
    # `catalog run` serves /metrics and /healthz/* on observability.port (HealthServer, CatalogHealth)
    assert settings.observability.port > 0, "observability.port 0 starts no server: the probes would fail"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"metrics": settings.observability.port}
    probes = {kind: container[kind]["httpGet"] for kind in ("livenessProbe", "readinessProbe")}
    assert all(p["port"] == "metrics" for p in probes.values())
    live, ready = probes["livenessProbe"]["path"], probes["readinessProbe"]["path"]
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert annotations.get("prometheus.io/port") == str(settings.observability.port)
    scrape = annotations["prometheus.io/path"]
    # asked of the real server: a running member of the group with no partition is live and ready
    # (an idle replica must not stall a rollout); one not yet in the group is live, not ready
    assert catalog_path_status([live, ready, scrape], in_group=True) == {live: 200, ready: 200, scrape: 200}
    assert catalog_path_status([live, ready], in_group=False) == {live: 200, ready: 503}
    strategy = deployment["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate" and strategy["rollingUpdate"]["maxUnavailable"] == 0
    liveness = container["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= settings.observability.live_within_s, (
        "liveness must not restart a processor sooner than the server itself calls it stuck"
    )
    topics = CatalogTopics.resolve(settings)
    declared = load_topics(TOPICS)
    kafka_topics = {t["spec"]["topicName"] for t in by_kind(objects, "KafkaTopic").values()}
    assert {topics.image_ready, topics.audio_ready, topics.assets, topics.asset_ratings, topics.assets_dlq} <= kafka_topics
    outcome_partitions = min(declared.by_role(role).partitions for role in ("image_ready", "audio_ready"))
    assert 1 <= deployment["spec"]["replicas"] <= outcome_partitions, "replicas beyond the partitions idle"
    assert settings.catalog.group_id not in {agent_group_id(settings, medium) for medium in MEDIA}
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > settings.catalog.poll_timeout_s


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_strimzi_cluster_and_topics_match_topics_yaml(rendered: dict, overlay: str) -> None:
    objects = rendered[overlay]
    (kafka,) = by_kind(objects, "Kafka").values()
    cluster = kafka["metadata"]["name"]
    declared = load_topics(TOPICS, AGENT_PROFILE[overlay])
    kafka_topics = by_kind(objects, "KafkaTopic")
    assert sorted(t["spec"]["topicName"] for t in kafka_topics.values()) == sorted(declared.names())
    for spec in declared.topics:
        topic = kafka_topics[spec.name]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == cluster
        assert (topic["spec"]["partitions"], topic["spec"]["replicas"], topic["spec"]["config"]) == (spec.partitions, spec.replication_factor, dict(spec.config))
    pools = by_kind(objects, "KafkaNodePool").values()
    assert all(p["metadata"]["labels"]["strimzi.io/cluster"] == cluster for p in pools)
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    assert brokers >= max(t.replication_factor for t in declared.topics)
    config = kafka["spec"]["kafka"]["config"]
    assert config["offsets.topic.replication.factor"] <= brokers and config["transaction.state.log.replication.factor"] <= brokers
    config_data = by_kind(objects, "ConfigMap")["media-stream-config"]["data"]
    host, _, port = config_data["MEDIA_STREAM_KAFKA__BOOTSTRAP_SERVERS"].rpartition(":")
    assert host == f"{cluster}-kafka-bootstrap", "the clients' bootstrap is Strimzi's bootstrap Service"
    (listener,) = [listener for listener in kafka["spec"]["kafka"]["listeners"] if listener["port"] == int(port)]
    protocol = config_data.get("MEDIA_STREAM_KAFKA__SECURITY_PROTOCOL", "PLAINTEXT")
    assert listener["type"] == "internal" and listener["tls"] == protocol.endswith("SSL"), f"{protocol} against listener {listener}"
    assert (listener.get("authentication", {}).get("type") == "scram-sha-512") == protocol.startswith("SASL")


def test_local_uses_minio_in_the_cluster_and_production_an_external_store(rendered: dict) -> None:
    local = by_kind(rendered["local"], "ConfigMap")["media-stream-config"]["data"]
    host, port = local["MEDIA_STREAM_STORAGE__ENDPOINT"].split(":")
    service = by_kind(rendered["local"], "Service")[host]
    assert int(port) in {p["port"] for p in service["spec"]["ports"]}
    minio = by_kind(rendered["local"], "Deployment")["minio"]["spec"]["template"]["spec"]["containers"][0]
    assert {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in minio["env"]} == {"MINIO_ROOT_USER": "media-stream-s3", "MINIO_ROOT_PASSWORD": "media-stream-s3"}
    production = by_kind(rendered["production"], "ConfigMap")["media-stream-config"]["data"]
    assert "minio" not in by_kind(rendered["production"], "Deployment")
    assert production["MEDIA_STREAM_STORAGE__SECURE"] == "true" and not production["MEDIA_STREAM_STORAGE__ENDPOINT"].startswith("minio")
    for name, (deployment, _container, _medium) in agents(rendered["production"]).items():
        models = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}["models"]
        assert models["persistentVolumeClaim"] == {"claimName": "media-stream-models", "readOnly": True}, name
