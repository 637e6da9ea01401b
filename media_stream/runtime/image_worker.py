"""The image agent: consume requests → render scene by scene → store → publish + commit.

Each scene's ImageReady and progress go out in their own transaction as soon as the file is
stored; the request's offset is committed in the same transaction as its BatchCompleted (or its
failure), so a read_committed subscriber sees every outcome once the job ends. Bad input goes
to the dead-letter topic with a JobFailed, in the transaction that commits its offset.

This is the walking skeleton: one request at a time. The runtime issue adds per-project
concurrency, cross-project batches, paused polling during long renders, cancel and state.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Callable

from media_stream.config import Settings
from media_stream.domain.errors import PermanentError
from media_stream.domain.outcomes import BatchCompleted, ImageSummary, JobFailed, JobStatus, JobStatusChanged
from media_stream.domain.requests import ImageRequested, StoryboardRequested
from media_stream.kafka.consumer import EventConsumer
from media_stream.kafka.messages import ConsumedMessage
from media_stream.kafka.producer import TransactionalProducer
from media_stream.runtime.dead_letters import dead_letter_messages
from media_stream.runtime.decoding import best_effort_ids, decode_request
from media_stream.runtime.encoding import EventEncoder
from media_stream.runtime.routes import ImageRoutes
from media_stream.runtime.storyboard import StoryboardRenderer
from media_stream.runtime.tracing import child_traceparent
from media_stream.serde.codec import EventCodec
from media_stream.topics.spec import load_topics

log = logging.getLogger(__name__)


class ImageWorker:
    def __init__(
        self,
        settings: Settings,
        storyboards: StoryboardRenderer,
        routes: ImageRoutes | None = None,
        bootstrap: str | None = None,
        group_id: str | None = None,
        codec: EventCodec | None = None,
    ) -> None:
        self.settings = settings
        self.routes = routes = routes or ImageRoutes.from_topics(load_topics(settings.topics_file))
        self.storyboards = storyboards
        self.codec = codec or EventCodec.from_settings(settings)
        self.encoder = EventEncoder(self.codec)
        group = group_id or settings.worker.group_id
        self.consumer = EventConsumer(settings, group, [routes.requests], bootstrap)
        txn_id = f"{group}-{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self.producer = TransactionalProducer(settings, txn_id, bootstrap)
        self.stopping = threading.Event()

    def run(self, until: Callable[[], bool] = lambda: False) -> None:
        """Poll and handle until stopped (SIGTERM sets ``stopping``) or ``until()`` is true."""
        self.storyboards.renderer.load()
        try:
            while not self.stopping.is_set() and not until():
                message = self.consumer.poll(self.settings.worker.poll_timeout_s)
                if message is not None:
                    self.handle(message)
        finally:
            self.producer.close()
            self.consumer.close()

    def handle(self, message: ConsumedMessage) -> None:
        trace = child_traceparent(message.header("traceparent"))
        try:
            request = decode_request(self.codec, message, self.routes.request_types)
        except PermanentError as error:
            log.warning("dead-lettering %s[%d]@%d: %s", message.topic, message.partition, message.offset, error)
            ids = best_effort_ids(self.codec, message)
            with self._transaction(message):
                for out in dead_letter_messages(self.encoder, self.routes, message, error, ids, trace):
                    self.producer.send(out)
            return
        storyboard = request.as_storyboard() if isinstance(request, ImageRequested) else request
        self._render(message, storyboard, trace)

    def _render(self, message: ConsumedMessage, request: StoryboardRequested, trace: str) -> None:
        total = len(request.scenes)
        with self._transaction():
            self._status(request, JobStatus.PROCESSING, 0.0, trace)
        images, failures = [], []
        for done, result in enumerate(self.storyboards.scenes(request), start=1):
            with self._transaction():
                if result.ready:
                    images.append(result.ready)
                    self.producer.send(self.encoder.message(self.routes.image_ready, request.project_id, result.ready, trace))
                else:
                    failures.append(result.failure)
                self._status(request, JobStatus.PROCESSING, done / total, trace)
        with self._transaction(message):
            if images:
                summary = tuple(ImageSummary(i.scene_id, i.url, i.storage_key, i.sha256) for i in images)
                completed = BatchCompleted(
                    request.job_id, request.project_id, request.request_id, request.render_version,
                    total_images=len(images), images=summary, failures=tuple(failures),
                )
                self.producer.send(self.encoder.message(self.routes.batch_completed, request.project_id, completed, trace))
                self._status(request, JobStatus.COMPLETED, 1.0, trace)
            else:
                reason = "; ".join(f"{f.scene_id}: {f.reason}" for f in failures)
                failed = JobFailed(request.job_id, request.project_id, reason, "RenderFailed", True, request.request_id, request.render_version)
                self.producer.send(self.encoder.message(self.routes.job_failed, request.project_id, failed, trace))
                self._status(request, JobStatus.FAILED, 1.0, trace, error=reason)

    def _status(self, request: StoryboardRequested, status: JobStatus, progress: float, trace: str, error: str | None = None) -> None:
        event = JobStatusChanged(
            request.job_id, request.project_id, status.value, request.request_id, progress, error, request.render_version
        )
        self.producer.send(self.encoder.message(self.routes.job_status, request.job_id, event, trace))

    def _transaction(self, consumed: ConsumedMessage | None = None):  # noqa: ANN202
        if consumed is None:
            return self.producer.transaction()
        return self.producer.transaction([consumed], self.consumer.group_metadata())
