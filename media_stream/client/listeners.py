"""A clear word when nothing listens: whether a request topic has a live agent consuming it.

A client waiting for a job (``--wait``, ``watch``, ``JobHandle.wait()``, the gateway's SSE) calls
``ListenerCheck.notice()`` as it polls: the first check runs ``first_after_s`` after the start,
then every ``every_s``; it returns a sentence when the request topic's consumers went from some (or
unknown) to none, and when they came back, else None. The caller says it and keeps waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from media_stream.config import Settings, agent_group_id
from media_stream.domain.errors import MediaStreamError

log = logging.getLogger(__name__)

FIRST_AFTER_S = 2.0
EVERY_S = 10.0


def nobody_message(medium: str, topic: str) -> str:
    return f"no {medium} agent is consuming {topic}: start `media-stream worker {medium}` (still waiting)"


class ListenerCheck:
    """Checks now and then that ``topic`` (the requests of ``medium``) has a live consumer."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str | None,
        medium: str,
        topic: str,
        *,
        first_after_s: float = FIRST_AFTER_S,
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings, self.bootstrap, self.medium, self.topic = settings, bootstrap, medium, topic
        self._clock = clock
        self._next = clock() + first_after_s
        self._every = every_s
        self._probe: object | None = None
        self.listening: bool | None = None  # unknown until the first check

    def members(self) -> int:
        if self._probe is None:
            from media_stream.kafka.topic_consumers import TopicConsumers

            self._probe = TopicConsumers(self.settings, self.bootstrap)
        return self._probe.members(self.topic, [agent_group_id(self.settings, self.medium)])  # type: ignore[attr-defined]

    def notice(self) -> str | None:
        """A sentence when the answer changed since the last check (due now), else None."""
        now = self._clock()
        if now < self._next:
            return None
        self._next = now + self._every
        try:
            listening = self.members() > 0
        except MediaStreamError as exc:  # the broker is slow to answer: say nothing, try later
            log.debug("listener check on %s: %s", self.topic, exc)
            return None
        before, self.listening = self.listening, listening
        if not listening and before is not False:
            return nobody_message(self.medium, self.topic)
        if listening and before is False:
            return f"{'an' if self.medium[:1] in 'aeiou' else 'a'} {self.medium} agent is now consuming {self.topic}"
        return None


def warn(message: str) -> None:
    """The default for SDK callers that pass no ``on_notice``: a log warning."""
    log.warning("%s", message)
