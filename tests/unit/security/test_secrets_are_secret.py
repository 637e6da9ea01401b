"""Every setting that holds a secret is a SecretStr, so no repr, log line or dump shows it."""

from __future__ import annotations

import json
import re
import types
import typing

from pydantic import BaseModel, SecretStr

from media_stream.config import Settings

SECRET_NAME = re.compile(r"password|secret|token$|tokens?_?key|auth$|basic_auth|hash_key|access_key|api_key")


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _is_secret(annotation: object) -> bool:
    if annotation is SecretStr:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return all(a is type(None) or _is_secret(a) for a in typing.get_args(annotation))
    return False


def secret_named_fields(model: type[BaseModel], path: str = "", seen: set | None = None) -> list[tuple[str, object]]:
    seen = seen if seen is not None else set()
    if model in seen:
        return []
    seen.add(model)
    out = []
    for name, info in model.model_fields.items():
        if SECRET_NAME.search(name):
            out.append((f"{path}{name}", info.annotation))
        for inner in _models_in(info.annotation):
            out += secret_named_fields(inner, f"{path}{name}.", seen)
    return out


def test_every_secret_setting_is_a_secret_str() -> None:
    fields = secret_named_fields(Settings)
    assert len(fields) >= 6  # the walk found the known ones (kafka, registry, storage, gateway, catalog)
    not_secret = [name for name, annotation in fields if not _is_secret(annotation)]
    assert not not_secret, f"settings that hold secrets but are not SecretStr: {not_secret}"


def test_no_secret_value_shows_in_repr_or_dump(monkeypatch) -> None:
    secret = "s3cr3t-value-never-shown"
    monkeypatch.setenv("MEDIA_STREAM_KAFKA__SASL_PASSWORD", secret)
    monkeypatch.setenv("MEDIA_STREAM_KAFKA__SSL_KEY_PASSWORD", secret)
    monkeypatch.setenv("MEDIA_STREAM_STORAGE__SECRET_KEY", secret)
    monkeypatch.setenv("MEDIA_STREAM_GATEWAY__TOKENS", json.dumps([{"name": "ci", "token": secret, "kind": "service", "scopes": ["*"]}]))
    monkeypatch.setenv("MEDIA_STREAM_CATALOG__RATER_HASH_KEY", secret)
    settings = Settings()
    assert settings.gateway.tokens[0].token.get_secret_value() == secret  # it was read
    for shown in (repr(settings), str(settings), settings.model_dump_json(), repr(settings.model_dump())):
        assert secret not in shown
