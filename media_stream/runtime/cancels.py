"""Which requests a cancel applies to: the job's original request, and its replays or rerenders
published before the cancel.

A replay or a rerender keeps the jobId of the request it redoes (with a new renderVersion), and
the control topic is read from its beginning by every agent, so "cancel job J" must not reach a
replay of J published after the cancel. The rule, applied to jobs already here and to cancels
remembered for jobs not seen yet: a cancel applies to a request of renderVersion 1 (the original:
a cancel may overtake its request, they travel on different topics), and to a later version only
when the request's timestamp is no later than the cancel's (either one unknown: it applies).
Timestamps are the records' (CreateTime by default: the publishing client's clock).
"""

from __future__ import annotations

from collections import OrderedDict

REMEMBERED_CANCELS = 10_000


def applies(render_version: int, request_timestamp_ms: int | None, cancel_timestamp_ms: int | None) -> bool:
    """A cancel at ``cancel_timestamp_ms`` applies to a request of ``render_version`` published at
    ``request_timestamp_ms``."""
    if render_version <= 1 or request_timestamp_ms is None or cancel_timestamp_ms is None:
        return True
    return request_timestamp_ms <= cancel_timestamp_ms


class RememberedCancels:
    """Cancels of jobs this agent has not seen (yet): jobId → (projectId, cancel timestamp), bounded."""

    def __init__(self, limit: int = REMEMBERED_CANCELS) -> None:
        self._cancels: OrderedDict[str, tuple[str, int | None]] = OrderedDict()
        self._limit = limit

    def remember(self, job_id: str, project_id: str, timestamp_ms: int | None) -> None:
        self._cancels[job_id] = (project_id, timestamp_ms)
        self._cancels.move_to_end(job_id)
        while len(self._cancels) > self._limit:
            self._cancels.popitem(last=False)

    def forget(self, job_id: str) -> None:
        self._cancels.pop(job_id, None)

    def take(self, job_id: str, project_id: str, render_version: int, request_timestamp_ms: int | None) -> bool:
        """A remembered cancel applies to this request: consumed (True), else kept (False)."""
        remembered = self._cancels.get(job_id)
        if remembered is None or remembered[0] != project_id or not applies(render_version, request_timestamp_ms, remembered[1]):
            return False
        del self._cancels[job_id]
        return True

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._cancels

    def __len__(self) -> int:
        return len(self._cancels)
