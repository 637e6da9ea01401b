"""librdkafka configuration built from Settings: bootstrap resolution and security."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from media_stream.config import Settings
from media_stream.domain.errors import ConfigurationError

LOCAL_STATE_FILE = "state.json"
LIBRDKAFKA_LOG = logging.getLogger("media_stream.librdkafka")


def local_state_path(settings: Settings) -> Path:
    """Where `media-stream dev up` records the running local broker (pid, port, bootstrap)."""
    return settings.local_kafka.home / LOCAL_STATE_FILE


def resolve_bootstrap(settings: Settings) -> str:
    """Configured servers win; otherwise the local dev broker, if one is running."""
    if settings.kafka.bootstrap_servers:
        return settings.kafka.bootstrap_servers
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if env:
        return env
    state = local_state_path(settings)
    if state.exists():
        return json.loads(state.read_text())["bootstrap"]
    raise ConfigurationError(
        "no Kafka configured: set MEDIA_STREAM_KAFKA__BOOTSTRAP_SERVERS "
        "or start the local broker with `media-stream dev up`"
    )


def bootstrap_is_local_dev(settings: Settings) -> bool:
    """True when clients will reach the local dev broker (nothing configured, its state file present)."""
    if settings.kafka.bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return False
    return local_state_path(settings).exists()


def client_config(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """Common librdkafka settings for every client (consumer, producer, admin), security included."""
    k = settings.kafka
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap or resolve_bootstrap(settings),
        "client.id": k.client_id,
        # librdkafka's own log lines go through Python logging (delivered on poll), not stderr.
        "logger": LIBRDKAFKA_LOG,
    }
    conf.update(security_config(settings))
    return conf


def security_config(settings: Settings) -> dict[str, Any]:
    """security.protocol, SASL and TLS settings for librdkafka; ConfigurationError naming the
    variable to set when the chosen protocol lacks what it needs. Secrets come out of SecretStr
    only here, into the client's configuration."""
    k = settings.kafka
    conf: dict[str, Any] = {"security.protocol": k.security_protocol}
    if k.security_protocol.startswith("SASL"):
        missing = [
            env
            for env, value in (
                ("MEDIA_STREAM_KAFKA__SASL_MECHANISM", k.sasl_mechanism),
                ("MEDIA_STREAM_KAFKA__SASL_USERNAME", k.sasl_username),
                ("MEDIA_STREAM_KAFKA__SASL_PASSWORD", k.sasl_password and k.sasl_password.get_secret_value()),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(f"security_protocol {k.security_protocol} needs {', '.join(missing)}")
        conf["sasl.mechanisms"] = k.sasl_mechanism
        conf["sasl.username"] = k.sasl_username
        conf["sasl.password"] = k.sasl_password.get_secret_value()  # type: ignore[union-attr]
    if k.security_protocol in ("SSL", "SASL_SSL"):
        for key, value in (
            ("ssl.ca.location", k.ssl_ca_location),
            ("ssl.certificate.location", k.ssl_certificate_location),
            ("ssl.key.location", k.ssl_key_location),
        ):
            if value:
                conf[key] = value
        if bool(k.ssl_certificate_location) != bool(k.ssl_key_location):
            raise ConfigurationError(
                "a client certificate needs both MEDIA_STREAM_KAFKA__SSL_CERTIFICATE_LOCATION and "
                "MEDIA_STREAM_KAFKA__SSL_KEY_LOCATION"
            )
        if k.ssl_key_password is not None:
            conf["ssl.key.password"] = k.ssl_key_password.get_secret_value()
        conf["ssl.endpoint.identification.algorithm"] = k.ssl_endpoint_identification_algorithm
    return conf
