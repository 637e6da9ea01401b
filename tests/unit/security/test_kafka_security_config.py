"""Kafka security settings from the environment to librdkafka's configuration, and the refusals
that come before any connection."""

from __future__ import annotations

import pytest

from media_stream.config import Settings
from media_stream.domain.errors import ConfigurationError
from media_stream.kafka.config import client_config


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    for name in ("SECURITY_PROTOCOL", "SASL_MECHANISM", "SASL_USERNAME", "SASL_PASSWORD", "SSL_CA_LOCATION", "SSL_CERTIFICATE_LOCATION", "SSL_KEY_LOCATION", "SSL_KEY_PASSWORD", "SSL_ENDPOINT_IDENTIFICATION_ALGORITHM"):
        monkeypatch.delenv(f"MEDIA_STREAM_KAFKA__{name}", raising=False)

    def set_(**values: str) -> Settings:
        for name, value in values.items():
            monkeypatch.setenv(f"MEDIA_STREAM_KAFKA__{name.upper()}", value)
        return Settings()

    return set_


def test_plaintext_carries_no_security_settings(env) -> None:
    conf = client_config(env(ssl_ca_location="/ca.pem"), "b:9092")
    assert conf["security.protocol"] == "PLAINTEXT"
    assert not any(key.startswith(("sasl.", "ssl.")) for key in conf)


def test_sasl_ssl_with_scram_and_mutual_tls(env) -> None:
    settings = env(
        security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="agent", sasl_password="pw-1",
        ssl_ca_location="/ca.pem", ssl_certificate_location="/client.pem", ssl_key_location="/client.key", ssl_key_password="kp-2",
    )
    conf = client_config(settings, "b:9093")
    assert {k: v for k, v in conf.items() if k.startswith(("security.", "sasl.", "ssl."))} == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "agent",
        "sasl.password": "pw-1",
        "ssl.ca.location": "/ca.pem",
        "ssl.certificate.location": "/client.pem",
        "ssl.key.location": "/client.key",
        "ssl.key.password": "kp-2",
        "ssl.endpoint.identification.algorithm": "https",
    }
    assert "pw-1" not in repr(settings) and "kp-2" not in repr(settings)


def test_hostname_verification_can_only_be_switched_off_explicitly(env) -> None:
    conf = client_config(env(security_protocol="SSL", ssl_endpoint_identification_algorithm="none"), "b:9093")
    assert conf["ssl.endpoint.identification.algorithm"] == "none"
    with pytest.raises(ValueError):
        env(ssl_endpoint_identification_algorithm="sometimes")


@pytest.mark.parametrize("missing", ["sasl_mechanism", "sasl_username", "sasl_password"])
def test_sasl_without_its_settings_is_refused_naming_them(env, missing: str) -> None:
    values = {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "agent", "sasl_password": "pw"}
    del values[missing]
    with pytest.raises(ConfigurationError, match=f"MEDIA_STREAM_KAFKA__{missing.upper()}"):
        client_config(env(**values), "b:9093")


def test_a_client_certificate_needs_its_key(env) -> None:
    with pytest.raises(ConfigurationError, match="SSL_KEY_LOCATION"):
        client_config(env(security_protocol="SSL", ssl_certificate_location="/client.pem"), "b:9093")


def test_startup_check_waits_for_an_absent_broker_instead_of_failing(env) -> None:
    from media_stream.kafka.connection import check_connection, refuse_misconfigured_security
    from media_stream.kafka.probe import BrokerUnavailable

    settings = env(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="agent", sasl_password="pw")
    refuse_misconfigured_security(settings, "127.0.0.1:9", timeout_s=1.0)  # nothing listens: not a refusal
    with pytest.raises(BrokerUnavailable, match="no answer from Kafka at 127.0.0.1:9"):
        check_connection(settings, "127.0.0.1:9", timeout_s=1.0)
