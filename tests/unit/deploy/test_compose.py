"""deploy/compose.yaml (and the CPU override) checked offline: the compose-spec schema, then
everything it names against the project (commands, settings, images, ports, health paths).
No Docker engine runs here: `docker compose up` itself is not exercised (deploy/README.md)."""

from __future__ import annotations

import json
import re
from importlib import resources

import jsonschema
import pytest

from media_stream.config import LocalKafkaSettings, PROJECT_ROOT
from media_stream.runtime.assembly import MEDIA
from tests.unit.deploy.manifests import (
    DEPLOY,
    EXTERNAL_ENV,
    PROJECT_IMAGES,
    agent_path_status,
    catalog_path_status,
    gateway_get_paths,
    interpolate,
    load_compose,
    parse_command,
    project_version,
    read_env_file,
    required_variables,
    settings_from,
    settings_path,
)

AGENTS = {"image-agent": "image", "audio-agent": "audio"}
STORE_COMMANDS = {"worker", "gateway"}  # the commands that read or write the object store
EXAMPLE_ENV = read_env_file(DEPLOY / ".env.example")


def compose_schema() -> dict:
    vendored = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(vendored.read_text(encoding="utf-8"))


def merged(base: dict, override: dict) -> dict:
    """Compose's merge of an override file, for the keys compose.cpu.yaml uses (`!reset` read as {})."""
    services = {name: dict(service) for name, service in base["services"].items()}
    for name, changes in override.get("services", {}).items():
        target = services[name]
        for key, value in changes.items():
            if key == "environment":
                target[key] = {**target.get(key, {}), **value}
            elif key == "deploy" and value == {}:
                target.pop(key, None)
            else:
                target[key] = value
    return {**base, "services": services}


def project_services(compose: dict) -> dict[str, dict]:
    return {n: s for n, s in compose["services"].items() if s["image"].split(":")[0] in PROJECT_IMAGES}


@pytest.mark.parametrize("name", ["compose.yaml", "compose.cpu.yaml"])
def test_compose_files_parse_and_follow_the_compose_spec(name: str) -> None:
    document = load_compose(name)
    schema = compose_schema()
    errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(document), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_stack_has_kafka_minio_topics_job_agents_and_gateway_with_health_checks() -> None:
    compose = load_compose()
    services = compose["services"]
    assert set(services) >= {"kafka", "minio", "topics", "image-agent", "audio-agent", "gateway", "catalog"}
    for name, service in services.items():
        if name == "topics":
            assert service["restart"] == "no", "the topics job runs once"
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name
    for name in ("image-agent", "audio-agent", "gateway", "catalog"):
        depends = services[name]["depends_on"]
        assert depends["topics"]["condition"] == "service_completed_successfully", name
        if name != "catalog":  # the catalog processor never touches the store
            assert depends["minio"]["condition"] == "service_healthy", name
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    declared = set(compose["volumes"])
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source in declared, f"{name} mounts undeclared volume {source}"
    assert {"kafka-data", "minio-data"} <= declared


def test_agents_reserve_one_gpu_and_the_cpu_override_drops_the_reservation() -> None:
    compose = load_compose()
    for name in AGENTS:
        (device,) = compose["services"][name]["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["count"] == 1 and "gpu" in device["capabilities"]
        assert compose["services"][name]["image"].startswith("media-stream-cuda:")
    cpu = merged(compose, load_compose("compose.cpu.yaml"))
    for name in AGENTS:
        assert "deploy" not in cpu["services"][name]
        assert cpu["services"][name]["image"].startswith("media-stream:")


@pytest.mark.parametrize("override", [None, "compose.cpu.yaml"])
def test_every_command_and_setting_exists_in_the_project(override: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    compose = load_compose()
    if override:
        compose = merged(compose, load_compose(override))
    compose = interpolate(compose, EXAMPLE_ENV)
    for name, service in project_services(compose).items():
        command, params = parse_command(service["command"])
        env = service.get("environment", {})
        for variable in env:
            if variable.startswith("MEDIA_STREAM_"):
                settings_path(variable)
            else:
                assert variable in EXTERNAL_ENV, f"{name}: {variable} is neither a setting nor a known variable"
        settings = settings_from(env, monkeypatch)  # types and allowed values, as the container would
        assert settings.kafka.bootstrap_servers == "kafka:9092"
        if command.split()[0] in STORE_COMMANDS:
            assert settings.storage.backend == "minio" and settings.storage.endpoint == "minio:9000"
            assert settings.storage.access_key is not None and settings.storage.secret_key is not None
        if name in AGENTS:
            assert command == "worker" and params["medium"] == AGENTS[name] and params["medium"] in MEDIA
            grace = float(re.fullmatch(r"(\d+)s", service["stop_grace_period"]).group(1))
            assert grace > settings.worker.shutdown_timeout_s, f"{name}: stop_grace_period must exceed worker.shutdown_timeout_s"
            assert str(settings.observability.port) in service["expose"]
            if override:
                assert (settings.worker.image_backend, settings.audio.speech_backend, settings.audio.music_backend) == ("preview", "espeak", "procedural")
        elif name == "gateway":
            assert command == "gateway" and params["host"] == "0.0.0.0"
            assert service["ports"][0].endswith(f":{params['port']}")
            assert settings.gateway.tokens, "the gateway needs tokens"
            assert settings.catalog.rater_hash_key is not None, "the gateway rates assets: it needs the rater hash key"
            mounted = [v.split(":")[1] for v in service["volumes"]]
            for path in (settings.gateway.status_view_path, settings.catalog.view_path):
                assert any(str(path).startswith(m + "/") for m in mounted), f"gateway: {path} is not on a volume"
        elif name == "catalog":
            assert command == "catalog run"
            assert settings.storage.access_key is None and settings.catalog.rater_hash_key is None, "the processor needs no store key nor the rater key"
            assert float(re.fullmatch(r"(\d+)s", service["stop_grace_period"]).group(1)) > settings.catalog.poll_timeout_s
            assert "deploy" not in service and service["image"].startswith("media-stream:"), "no GPU: the CPU image"
            assert settings.observability.port > 0 and str(settings.observability.port) in service["expose"]
        elif name == "topics":
            assert command == "topics apply" and params["profile"] == "local"


def test_health_checks_ask_paths_the_servers_answer() -> None:
    services = load_compose()["services"]
    agent_urls = {re.search(r"http://127\.0\.0\.1:(\d+)(/[^'\"]*)", " ".join(services[n]["healthcheck"]["test"])).groups() for n in AGENTS}
    assert {port for port, _ in agent_urls} == {"9400"}
    statuses = agent_path_status([path for _, path in agent_urls])
    assert all(code != 404 for code in statuses.values()), statuses
    port, path = re.search(r"http://127\.0\.0\.1:(\d+)(/[^'\"]*)", " ".join(services["gateway"]["healthcheck"]["test"])).groups()
    assert port == "8080" and path in gateway_get_paths()
    port, path = re.search(r"http://127\.0\.0\.1:(\d+)(/[^'\"]*)", " ".join(services["catalog"]["healthcheck"]["test"])).groups()
    assert port == services["catalog"]["environment"]["MEDIA_STREAM_OBSERVABILITY__PORT"]
    # the real catalog server: healthy once a member of its group (even with no partition), not before
    assert catalog_path_status([path], in_group=True) == {path: 200}
    assert catalog_path_status([path], in_group=False) == {path: 503}


def test_images_are_the_projects_own_or_pinned_and_match_the_local_broker() -> None:
    assert EXAMPLE_ENV["MEDIA_STREAM_IMAGE_TAG"] == project_version()
    defaults_only = {k: v for k, v in EXAMPLE_ENV.items() if k != "MEDIA_STREAM_IMAGE_TAG"}  # the file's own defaults
    compose = interpolate(load_compose(), defaults_only)
    for name, service in compose["services"].items():
        repository, _, tag = service["image"].rpartition(":")
        assert tag and tag != "latest", f"{name}: pin the image tag"
        if repository in PROJECT_IMAGES:
            assert tag == project_version()
            build = service["build"]
            assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == PROJECT_IMAGES[repository].resolve()
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{LocalKafkaSettings().kafka_version}"


def test_env_example_covers_every_required_variable_and_holds_no_secret() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    assert required_variables(text) <= set(EXAMPLE_ENV)
    assert "change-me" in EXAMPLE_ENV["MINIO_ROOT_PASSWORD"]
    assert '"token":"change-me"' in EXAMPLE_ENV["MEDIA_STREAM_GATEWAY__TOKENS"]
    assert "change-me" in EXAMPLE_ENV["MEDIA_STREAM_CATALOG__RATER_HASH_KEY"]
    assert "deploy/.env" in (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_dockerfiles_copy_what_exists_install_real_extras_and_run_the_cli() -> None:
    import tomllib

    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = set(pyproject["project"]["optional-dependencies"])
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for dockerfile in PROJECT_IMAGES.values():
        text = dockerfile.read_text(encoding="utf-8")
        for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
            *sources, _destination = line.split()
            for source in sources:
                assert (PROJECT_ROOT / source).exists(), f"{dockerfile.name}: COPY {source} does not exist"
                assert source not in ignored, f".dockerignore drops {source}, which {dockerfile.name} copies"
        for extra in re.findall(r"--extra ([\w-]+)", text):
            assert extra in extras, f"{dockerfile.name}: no extra {extra!r} in pyproject.toml"
        assert "uv sync --frozen --no-dev" in text
        assert 'ENTRYPOINT ["media-stream"]' in text and "media-stream" in pyproject["project"]["scripts"]
        assert "USER 10001" in text
    assert "--extra image" in PROJECT_IMAGES["media-stream-cuda"].read_text(encoding="utf-8")
