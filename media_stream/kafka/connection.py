"""Can these settings reach Kafka? One metadata request through the configured security, with a
refusal told apart from an absent broker: wrong SASL credentials or a certificate that does not
verify is a ConfigurationError naming the setting to fix (retrying cannot help); no answer at
all is BrokerUnavailable."""

from __future__ import annotations

import threading
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from media_stream.config import Settings
from media_stream.domain.errors import ConfigurationError
from media_stream.kafka.config import client_config
from media_stream.kafka.probe import BrokerUnavailable

_TLS_HINT = (
    "check MEDIA_STREAM_KAFKA__SSL_CA_LOCATION (the CA that signed the broker's certificate), "
    "the client certificate and key, and that the certificate names the host dialled"
)
_SASL_HINT = "check MEDIA_STREAM_KAFKA__SASL_USERNAME, __SASL_PASSWORD and __SASL_MECHANISM"


def _refusal(error: KafkaError, settings: Settings, bootstrap: str) -> ConfigurationError | None:
    text = error.str()
    k = settings.kafka
    if error.code() == KafkaError._AUTHENTICATION or "SASL authentication" in text:
        return ConfigurationError(
            f"Kafka at {bootstrap} refused the SASL credentials of user {k.sasl_username!r} "
            f"({k.sasl_mechanism}): {text}; {_SASL_HINT}"
        )
    if error.code() == KafkaError._SSL or "SSL routines" in text or "SSL handshake failed" in text:
        return ConfigurationError(f"TLS handshake with Kafka at {bootstrap} failed: {text}; {_TLS_HINT}")
    return None


def check_connection(settings: Settings, bootstrap: str | None = None, timeout_s: float = 10.0) -> int:
    """The number of brokers the configured client sees; raises as the module says."""
    conf = client_config(settings, bootstrap)
    address = conf["bootstrap.servers"]
    errors: list[KafkaError] = []
    lock = threading.Lock()

    def on_error(error: KafkaError) -> None:
        with lock:
            errors.append(error)

    conf.update({"error_cb": on_error, "client.id": f"{settings.kafka.client_id}-check", "log_level": 0})
    admin = AdminClient(conf)
    deadline = time.monotonic() + timeout_s
    while True:  # short attempts, so a refusal is reported as soon as it is seen
        try:
            metadata = admin.list_topics(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except KafkaException as exc:
            admin.poll(0)  # deliver the error callbacks queued so far
            with lock:
                seen = list(errors)
            for error in seen:
                refusal = _refusal(error, settings, address)
                if refusal is not None:
                    raise refusal from exc
            if time.monotonic() >= deadline:
                detail = "; ".join(dict.fromkeys(e.str() for e in seen)) or str(exc)
                raise BrokerUnavailable(f"no answer from Kafka at {address} within {timeout_s:g}s: {detail}") from exc
            continue
        return len(metadata.brokers)


def refuse_misconfigured_security(settings: Settings, bootstrap: str | None = None, timeout_s: float = 10.0) -> None:
    """At startup: a ConfigurationError when the broker refuses our credentials or certificates;
    nothing when security is PLAINTEXT or no broker answers yet (the clients wait for it as usual)."""
    if settings.kafka.security_protocol == "PLAINTEXT":
        return
    try:
        check_connection(settings, bootstrap, timeout_s)
    except BrokerUnavailable:
        return
