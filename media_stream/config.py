"""The one typed configuration object.

Every setting comes from the environment (prefix ``MEDIA_STREAM_``, nested with ``__``) or
from defaults that run the main job on a laptop. Secrets are ``SecretStr`` and are read only
from the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    return Path.home() / ".media-stream"


class KafkaSettings(BaseModel):
    """How agents and clients reach Kafka."""

    bootstrap_servers: str | None = Field(
        default=None,
        description="host:port list; unset means the local dev broker (media-stream dev up).",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    schema_registry_url: str | None = Field(
        default=None,
        description="Confluent Schema Registry URL; unset means Avro single-object encoding.",
    )
    schema_registry_basic_auth: SecretStr | None = None
    client_id: str = "media-stream"


class LocalKafkaSettings(BaseModel):
    """The single-node KRaft broker that `media-stream dev up` runs on loopback."""

    kafka_version: str = "4.4.0"
    home: Path = Field(default_factory=lambda: _default_home() / "kafka")
    port: int = 0  # 0: pick a free port once and remember it in the state file
    start_timeout_s: float = 120.0
    heap: str = "512m"


class StorageSettings(BaseModel):
    backend: Literal["filesystem", "minio"] = "filesystem"
    root: Path = Field(default_factory=lambda: _default_home() / "storage")
    endpoint: str | None = None
    bucket: str = "media-stream"
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    secure: bool = False


class WorkerSettings(BaseModel):
    group_id: str = "media-stream-image-agents"
    max_batch_size: int = Field(default=4, ge=1, le=64)
    poll_timeout_s: float = 0.2
    image_backend: Literal["preview"] = "preview"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEDIA_STREAM_", env_nested_delimiter="__", extra="ignore"
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    local_kafka: LocalKafkaSettings = Field(default_factory=LocalKafkaSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    topics_file: Path = PROJECT_ROOT / "topics.yaml"
    # A profile of topics.yaml ("local" for a single-node broker); None = the file's defaults.
    topics_profile: str | None = None
    schemas_dir: Path = PROJECT_ROOT / "schemas"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
