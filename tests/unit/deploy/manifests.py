"""Helpers of the manifest tests: load deploy/ files, render the kustomize overlays, and map what
the manifests name (commands, settings, ports) back onto the project."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import BaseModel

from media_stream.config import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("local", "production")
PROJECT_IMAGES = {"media-stream": DEPLOY / "docker" / "Dockerfile", "media-stream-cuda": DEPLOY / "docker" / "Dockerfile.cuda"}
# Variables the containers read that are not media-stream settings: the model caches' own.
EXTERNAL_ENV = {"HF_HOME", "TTS_HOME", "HF_HUB_OFFLINE", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES"}


# ---- YAML ------------------------------------------------------------------------------------


class ComposeLoader(yaml.SafeLoader):
    """SafeLoader that reads Compose's merge tags (`!reset`, `!override`) as their plain value."""


def _compose_tag(loader: ComposeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


ComposeLoader.add_multi_constructor("!", _compose_tag)


def load_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def load_compose(name: str = "compose.yaml") -> dict[str, Any]:
    return yaml.load((DEPLOY / name).read_text(encoding="utf-8"), Loader=ComposeLoader)  # noqa: S506 - a SafeLoader subclass


# ---- kustomize ----------------------------------------------------------------------------------


def kustomize_binary() -> str:
    """The kustomize that scripts/install-kustomize builds (built now when missing), or $KUSTOMIZE."""
    if os.environ.get("KUSTOMIZE"):
        return os.environ["KUSTOMIZE"]
    script = PROJECT_ROOT / "scripts" / "install-kustomize"
    path = Path(subprocess.run([str(script), "--print-path"], check=True, capture_output=True, text=True).stdout.strip())
    if not path.is_file():
        result = subprocess.run([str(script)], capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"scripts/install-kustomize failed:\n{result.stderr[-4000:]}"
    assert shutil.which(str(path)), f"no kustomize at {path}"
    return str(path)


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run([kustomize_binary(), "build", str(directory)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kustomize build {directory} failed:\n{result.stderr}"
    return load_documents(result.stdout)


def by_kind(objects: Sequence[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def containers(objects: Sequence[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) for every container of every Deployment."""
    for obj in objects:
        if obj["kind"] == "Deployment":
            for container in obj["spec"]["template"]["spec"]["containers"]:
                yield obj, container


def container_env(objects: Sequence[dict[str, Any]], container: dict[str, Any]) -> dict[str, Any]:
    """The variables a container sees: its ConfigMaps (envFrom) under its own env entries."""
    configmaps = by_kind(objects, "ConfigMap")
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        assert ref in configmaps, f"{container['name']}: envFrom names ConfigMap {ref}, which the overlay does not define"
        env.update(configmaps[ref].get("data", {}))
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return env


# ---- what the manifests name, mapped onto the project -------------------------------------------------


def media_stream_command() -> Any:
    """The click command tree typer builds from media_stream.cli.app (typer ships its own click)."""
    from media_stream.cli import app

    command = typer.main.get_command(app)
    assert _is_group(command)
    return command


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands") and hasattr(command, "get_command")


def parse_command(args: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """Resolve ``media-stream ARGS`` to its command path and parsed parameters, or raise click's error."""
    command = media_stream_command()
    ctx = command.context_class(command, info_name="media-stream")
    rest = list(args)
    path: list[str] = []
    while _is_group(command):
        assert rest, f"{' '.join(args)!r} stops at the group {' '.join(path) or 'media-stream'}"
        name = rest.pop(0)
        sub = command.get_command(ctx, name)
        assert sub is not None, f"media-stream has no command {' '.join([*path, name])!r}"
        path.append(name)
        command = sub
        if _is_group(command):
            ctx = command.context_class(command, info_name=name, parent=ctx)
    leaf = command.make_context(path[-1], rest, parent=ctx)  # UsageError on an unknown option or a missing argument
    return " ".join(path), dict(leaf.params)


def settings_path(env_name: str) -> tuple[str, ...]:
    """``MEDIA_STREAM_A__B`` → ('a', 'b') after checking each step names a Settings field."""
    prefix = Settings.model_config.get("env_prefix", "")
    delimiter = Settings.model_config.get("env_nested_delimiter", "__")
    assert env_name.startswith(prefix), f"{env_name} lacks the prefix {prefix}"
    parts = tuple(env_name[len(prefix):].lower().split(delimiter))
    model: type[BaseModel] | None = Settings
    for depth, part in enumerate(parts):
        assert model is not None, f"{env_name}: {'.'.join(parts[:depth])} is not a nested section"
        fields = model.model_fields
        assert part in fields, f"{env_name}: {model.__name__} has no field {part!r} (fields: {', '.join(sorted(fields))})"
        model = _nested_model(fields[part].annotation)
        if model is None and _is_mapping(fields[part].annotation):
            return parts  # a dict field (e.g. audio.coqui_models): its keys are free
    return parts


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *typing.get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _is_mapping(annotation: Any) -> bool:
    return typing.get_origin(annotation) is dict or any(typing.get_origin(a) is dict for a in typing.get_args(annotation))


def settings_from(env: dict[str, Any], monkeypatch: Any) -> Settings:
    """Settings as a container with ``env`` would build them (values from secrets: placeholders)."""
    for name in list(os.environ):
        if name.startswith("MEDIA_STREAM_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("MEDIA_STREAM_"):
            monkeypatch.setenv(name, value if isinstance(value, str) else _placeholder(name))
    return Settings()


def _placeholder(name: str) -> str:
    if name.endswith("GATEWAY__TOKENS"):
        return '[{"name": "placeholder", "token": "placeholder-token", "kind": "service", "scopes": ["*"]}]'
    return "placeholder"


def project_version() -> str:
    import tomllib

    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


# ---- HTTP paths the probes name, asked of the real servers -------------------------------------------------


def agent_path_status(paths: Sequence[str]) -> dict[str, int]:
    """Status code of each path on a real agent health server (a fresh agent: starting, not ready)."""
    from prometheus_client import CollectorRegistry

    from media_stream.observability.health import AgentHealth

    return path_status(AgentHealth(), CollectorRegistry(), paths)


def catalog_path_status(paths: Sequence[str], in_group: bool) -> dict[str, int]:
    """Status code of each path on the catalog processor's health server (``HealthServer`` with
    ``CatalogHealth`` and ``CatalogMetrics``, as `catalog run` starts it): a processor whose loop
    runs, a member of its group with no partition (idle) when ``in_group``, else not yet one."""
    from media_stream.catalog.health import CatalogHealth
    from media_stream.catalog.metrics import CatalogMetrics

    health = CatalogHealth()
    health.phase = "running"
    health.loop_turned()
    if in_group:
        health.assigned([])
    return path_status(health, CatalogMetrics().registry, paths)


def path_status(health: Any, registry: Any, paths: Sequence[str]) -> dict[str, int]:
    import urllib.error
    import urllib.request

    from media_stream.observability.health_server import HealthServer

    server = HealthServer(health, registry, "127.0.0.1", 0).start()
    statuses = {}
    try:
        for path in paths:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as response:
                    statuses[path] = response.status
            except urllib.error.HTTPError as error:
                statuses[path] = error.code
    finally:
        server.stop()
    return statuses


def gateway_get_paths() -> set[str]:
    from media_stream.gateway.routes import health

    return {route.path for route in health.router.routes if "GET" in getattr(route, "methods", ())}


# ---- Compose variable interpolation ------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def required_variables(text: str) -> set[str]:
    return {m.group(1) for m in _VARIABLE.finditer(text) if m.group(2) in (":?", "?")}


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} applied to every string in ``value``."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: Any) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if op in (":?", "?"):
            assert name in env, f"compose needs {name}: {arg}"
        if name in env and (env[name] or op not in (":-",)):
            return env[name]
        return arg or ""

    return _VARIABLE.sub(one, value)
