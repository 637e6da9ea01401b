"""Kafka client security by configuration, against a real broker with a SASL_SSL listener
(SCRAM-SHA-512 over TLS, client certificates required), certificates made by the test.

One broker for the module (its own data dir and ports; the jar cache is shared). Through
Settings alone (MEDIA_STREAM_KAFKA__SECURITY_PROTOCOL etc.) our EventProducer and EventConsumer
publish and read over SASL_SSL; a wrong password, a wrong CA and a missing client certificate are
refused with an error that names what to fix.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from media_stream.config import Settings
from media_stream.dev.local_kafka import LocalKafka
from media_stream.dev.server_properties import SaslSslListener
from media_stream.domain.errors import ConfigurationError
from media_stream.kafka.connection import check_connection, refuse_misconfigured_security
from media_stream.kafka.consumer import EventConsumer
from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.producer import EventProducer
from tests.integration.security.tls_material import TlsFiles, certificate_authority, write_tls_files

pytestmark = pytest.mark.kafka
USER, PASSWORD = "media-agent", "s3cret-Scram-512"


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalKafka, TlsFiles]]:
    home = tmp_path_factory.mktemp("sasl-ssl")
    tls = write_tls_files(home / "tls")
    settings = Settings()  # the environment's jar cache
    local = settings.local_kafka.model_copy(update={"port": 0})
    listener = SaslSslListener(keystore=tls.broker_keystore, truststore=tls.ca, users=((USER, PASSWORD),))
    broker = LocalKafka(settings.model_copy(update={"local_kafka": local}), data_dir=home / "broker", sasl_ssl=listener)
    broker.start()
    try:
        yield broker, tls
    finally:
        broker.stop()


def secure_settings(broker: LocalKafka, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch, **override: str) -> Settings:
    """Settings as a deployment gives them: from the environment only."""
    env = {
        "BOOTSTRAP_SERVERS": broker.sasl_ssl_bootstrap,
        "SECURITY_PROTOCOL": "SASL_SSL",
        "SASL_MECHANISM": "SCRAM-SHA-512",
        "SASL_USERNAME": USER,
        "SASL_PASSWORD": PASSWORD,
        "SSL_CA_LOCATION": str(tls.ca),
        "SSL_CERTIFICATE_LOCATION": str(tls.client_certificate),
        "SSL_KEY_LOCATION": str(tls.client_key),
        "SSL_KEY_PASSWORD": tls.client_key_password,
        **override,
    }
    for name, value in env.items():
        if value == "":
            monkeypatch.delenv(f"MEDIA_STREAM_KAFKA__{name}", raising=False)
        else:
            monkeypatch.setenv(f"MEDIA_STREAM_KAFKA__{name}", value)
    return Settings()


def test_settings_from_the_environment_map_to_librdkafka_security(secure_broker: tuple[LocalKafka, TlsFiles], monkeypatch: pytest.MonkeyPatch) -> None:
    from media_stream.kafka.config import client_config

    settings = secure_settings(*secure_broker, monkeypatch)
    conf = client_config(settings)
    tls = secure_broker[1]
    assert {k: conf[k] for k in ("security.protocol", "sasl.mechanisms", "sasl.username", "sasl.password")} == {
        "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": USER, "sasl.password": PASSWORD,
    }
    assert conf["ssl.ca.location"] == str(tls.ca) and conf["ssl.key.password"] == tls.client_key_password
    assert conf["ssl.endpoint.identification.algorithm"] == "https"
    assert PASSWORD not in repr(settings) and tls.client_key_password not in repr(settings)  # SecretStr


def test_events_go_through_sasl_ssl_with_our_producer_and_consumer(secure_broker: tuple[LocalKafka, TlsFiles], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    broker, tls = secure_broker
    topic = f"secure-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})  # PLAINTEXT, the operator's side
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    settings = secure_settings(broker, tls, monkeypatch)
    caplog.set_level(logging.DEBUG)

    assert check_connection(settings, timeout_s=20) == 1
    refuse_misconfigured_security(settings)  # accepted: no error
    producer = EventProducer(settings)
    for i in range(3):
        producer.send(OutgoingMessage(topic, b"proj-1", f"event-{i}".encode()))
    producer.close(20)
    consumer = EventConsumer(settings, f"secure-{uuid.uuid4().hex[:6]}", [topic])
    got: list[bytes] = []
    try:
        for _ in range(200):
            message = consumer.poll(0.2)
            if message is not None and message.value is not None:
                got.append(message.value)
            if len(got) == 3:
                break
    finally:
        consumer.close()
    assert got == [b"event-0", b"event-1", b"event-2"]
    assert PASSWORD not in caplog.text and tls.client_key_password not in caplog.text  # no secret in the logs


def test_a_wrong_password_is_refused_naming_the_credentials(secure_broker: tuple[LocalKafka, TlsFiles], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = secure_settings(*secure_broker, monkeypatch, SASL_PASSWORD="not-the-password")
    with pytest.raises(ConfigurationError, match=r"refused the SASL credentials of user 'media-agent'.*(?i:authentication)"):
        check_connection(settings, timeout_s=15)
    with pytest.raises(ConfigurationError, match="SASL_PASSWORD"):  # what an agent's startup calls
        refuse_misconfigured_security(settings)
    producer = EventProducer(settings, **{"message.timeout.ms": 3000})
    producer.send(OutgoingMessage("anything", b"k", b"v"))
    with pytest.raises(KafkaException, match="1 messages not delivered"):  # a publish is never silently lost
        producer.flush(10)


def test_a_broker_certificate_from_another_ca_is_refused(secure_broker: tuple[LocalKafka, TlsFiles], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other_ca, _, _ = certificate_authority(tmp_path, "some other CA")
    settings = secure_settings(*secure_broker, monkeypatch, SSL_CA_LOCATION=str(other_ca))
    with pytest.raises(ConfigurationError, match=r"TLS handshake .* failed: .*certificate verify failed.*SSL_CA_LOCATION"):
        check_connection(settings, timeout_s=15)


def test_a_client_without_a_certificate_is_refused(secure_broker: tuple[LocalKafka, TlsFiles], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = secure_settings(*secure_broker, monkeypatch, SSL_CERTIFICATE_LOCATION="", SSL_KEY_LOCATION="", SSL_KEY_PASSWORD="")
    with pytest.raises(ConfigurationError, match="TLS handshake .* failed: .*bad certificate"):
        check_connection(settings, timeout_s=15)


def test_sasl_without_credentials_fails_before_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_STREAM_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("MEDIA_STREAM_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("MEDIA_STREAM_KAFKA__SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.delenv("MEDIA_STREAM_KAFKA__SASL_USERNAME", raising=False)
    monkeypatch.delenv("MEDIA_STREAM_KAFKA__SASL_PASSWORD", raising=False)
    with pytest.raises(ConfigurationError, match="MEDIA_STREAM_KAFKA__SASL_USERNAME, MEDIA_STREAM_KAFKA__SASL_PASSWORD"):
        EventProducer(Settings())
