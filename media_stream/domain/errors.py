"""Error classes, classified once: permanent errors dead-letter, retriable ones retry."""

from __future__ import annotations


class MediaStreamError(Exception):
    """Base of every error this project raises on purpose."""

    retryable: bool = False


class PermanentError(MediaStreamError):
    """Processing the same bytes again cannot succeed: dead-letter and fail the job."""


class RetriableError(MediaStreamError):
    """A transient fault (storage outage, broker hiccup): retry with bounded backoff."""

    retryable = True


class ValidationError(PermanentError):
    """A request field is out of its contract. The message names the field and what is allowed."""

    def __init__(self, field: str, problem: str, allowed: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.allowed = allowed
        text = f"{field}: {problem}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)


class UndecodableMessage(PermanentError):
    """The bytes are not an event we can decode (bad framing, truncated, corrupt)."""


class UnknownSchema(PermanentError):
    """The bytes name a schema we do not know (fingerprint or registry id)."""


class UnexpectedEventType(PermanentError):
    """A well-formed event arrived on a topic that does not carry its type."""


class ConfigurationError(MediaStreamError):
    """The deployment is misconfigured; raised at startup with what to fix."""


class RenderCancelled(MediaStreamError):
    """A render stopped between steps because its job was cancelled; the job ends cancelled."""


class StorageUnavailable(RetriableError):
    """The object store does not answer (connection refused, timeouts, 5xx after retries).

    Not the job's fault: the agent holds all work and probes until the store is back, instead of
    failing every job at once."""
