"""What the routes share: the SDK client (publisher and topics), the idempotency store, the
job-status view, the object store, and which job this replica published when (its ``queued``
status until an agent reports one, and the request topic whose consumers the SSE checks)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media_stream.client.listeners import ListenerCheck
from media_stream.client.sdk import ALL_OUTCOME_ROLES, MediaStreamClient
from media_stream.config import Settings
from media_stream.domain.requests import CancelRequested, ImageRequested, StoryboardRequested
from media_stream.gateway.idempotency import IdempotencyStore
from media_stream.state.status_view import StatusRow, StatusView


@dataclass(frozen=True)
class PublishedJob:
    """A job this replica published: enough to answer its status before any agent has."""

    job_id: str
    project_id: str
    request_id: str
    render_version: int
    sent_ms: int
    medium: str
    topic: str


class GatewayServices:
    def __init__(self, settings: Settings, bootstrap: str | None, *, topics: Any = None, store: Any = None) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.client = MediaStreamClient(settings, bootstrap, topics)
        gateway = settings.gateway
        self.idempotency = IdempotencyStore(gateway.idempotency_capacity, gateway.idempotency_ttl_s)
        self._published: OrderedDict[str, PublishedJob] = OrderedDict()  # jobId -> the job, bounded
        self._published_capacity = gateway.idempotency_capacity
        self._store = store
        self._lock = threading.Lock()
        self._status_lock = threading.Lock()

    # -- publishing ------------------------------------------------------------------------------
    def publish(self, request: Any, headers: tuple[tuple[str, bytes], ...] = ()) -> Any:
        """Validate and publish one request event (flushed, with extra ``headers``: a rerender's
        ``replay-of``); returns the publisher's Published."""
        request.validate()
        sent_ms = int(time.time() * 1000)
        published = self.client.publisher.publish(request, headers=headers)  # the topic carrying its event type
        self.client.publisher.flush()
        if not isinstance(request, CancelRequested):
            job = PublishedJob(
                request.job_id,
                request.project_id,
                request.request_id,
                request.render_version,
                sent_ms,
                "image" if isinstance(request, (ImageRequested, StoryboardRequested)) else "audio",
                published.topic,
            )
            with self._lock:
                self._published[request.job_id] = job
                self._published.move_to_end(request.job_id)
                while len(self._published) > self._published_capacity:
                    self._published.popitem(last=False)
        return published

    def published_job(self, job_id: str) -> PublishedJob | None:
        with self._lock:
            return self._published.get(job_id)

    def published_at_ms(self, job_id: str) -> int | None:
        job = self.published_job(job_id)
        return job.sent_ms if job is not None else None

    def listener_check(self, job_id: str) -> ListenerCheck | None:
        """A check that the job's request topic has a consumer (jobs this replica published)."""
        job = self.published_job(job_id)
        if job is None:
            return None
        return ListenerCheck(self.settings, self.bootstrap, job.medium, job.topic)

    def outcome_topics(self) -> list[str]:
        return self.client.topics.names(ALL_OUTCOME_ROLES)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def status_view_path(self) -> Path:
        return StatusView.default_path(self.settings, self.client.topic("job_status"))

    def status(self, job_id: str) -> StatusRow | None:
        """The job's row of the job-status view, caught up with the compacted topic first."""
        return self._caught_up_view(lambda view: view.get(job_id))

    def project_jobs(self, project_id: str) -> list[StatusRow]:
        """The project's rows of the job-status view (latest first), caught up first."""
        return self._caught_up_view(lambda view: view.jobs_of(project_id))

    def status_projects(self) -> list[str]:
        """Every project with a job in the job-status view."""
        return self._caught_up_view(lambda view: view.projects())

    def _caught_up_view(self, read: Callable[[StatusView], Any]) -> Any:
        with self._status_lock:  # one SQLite writer at a time
            view = StatusView(self.status_view_path, self.settings, self.client.topic("job_status"), self.bootstrap)
            try:
                view.catch_up()
                return read(view)
            finally:
                view.close()

    @property
    def store(self) -> Any:
        if self._store is None:
            from media_stream.storage.factory import object_store

            self._store = object_store(self.settings.storage)
        return self._store

    def close(self) -> None:
        self.client.close()
