"""The agent loop: consume → schedule per key → render (on the render thread) → publish + commit.

The main thread owns the consumer and the state; the committer's thread owns the transactional
producer. The loop never blocks on a render: it polls (each poll sized to the room left in the
in-flight window; partitions paused when the window is full and resumed once it is half empty),
collects finished steps from the render thread, and publishes them. Each loop turn that changed
anything hands its outcomes and state changes (progress, dedupe, characters), each tagged with
the input partition it belongs to, and the positions of every owned partition to the committer,
which commits them in order in Kafka transactions fenced by the group generation (KIP-447; see
runtime/committer.py and docs/decisions/0006-fencing-every-transaction.md).

Ownership is checked everywhere: a message of a partition not assigned is not accepted, a result
or a state row of a partition no longer owned is not published, state changes are made on this
thread only. A revoke commits what is finished, then drops the rest for those partitions; a loss
(the group moved on without us: a pause past the session timeout) drops it all at once, and the
agent stays a member (librdkafka rejoins) instead of exiting.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from media_stream.config import Settings
from media_stream.domain.errors import PermanentError, RenderCancelled, RetriableError, StorageUnavailable
from media_stream.domain.outcomes import JobStatus, JobStatusChanged
from media_stream.kafka.consumer import EventConsumer
from media_stream.kafka.messages import ConsumedMessage, OutgoingMessage
from media_stream.kafka.producer import TransactionalProducer
from media_stream.observability.health import AgentHealth
from media_stream.observability.logging_setup import job_fields, message_fields
from media_stream.observability.metrics import AgentMetrics, backend_label
from media_stream.runtime.cancels import RememberedCancels, applies
from media_stream.runtime.commit_shards import ShardedCommitter
from media_stream.runtime.committer import Tagged, TransactionCommitter
from media_stream.runtime.control_feed import ControlEvent, ControlFeed, RejectedControl
from media_stream.runtime.dead_letters import control_dead_letter_message, dead_letter_messages
from media_stream.runtime.decoding import best_effort_ids, decode_request
from media_stream.runtime.encoding import EventEncoder
from media_stream.runtime.medium import Medium
from media_stream.runtime.offsets import OffsetLedger
from media_stream.runtime.render_faults import render_isolating_failures
from media_stream.runtime.render_observed import render_observed
from media_stream.runtime.rebalance import PartitionHandover
from media_stream.runtime.render_thread import RenderThread
from media_stream.runtime.retry import RetryPolicy
from media_stream.runtime.routes import AgentRoutes
from media_stream.runtime.scheduler import Job, KeyScheduler
from media_stream.runtime.tracing import JobSpan, child_traceparent
from media_stream.serde.codec import EventCodec
from media_stream.state.changelog import ChangelogTable, TableSpec
from media_stream.state.character_registry import KafkaCharacterRegistry
from media_stream.state.records import JobProgress, RequestHandled, handled_key, progress_key

log = logging.getLogger(__name__)
RENDER_WAIT_S = 0.01  # the shortest wait of a turn while a batch renders (see _wait_s)
RENDER_WAIT_SHARE = 0.1  # ... and the longest, as a share of how long the batch has rendered so far
DEDUPE_SWEEP_S = 60.0  # how often the dedupe table is swept for rows past the window
CLOSE_RESERVE_S = 5.0  # of shutdown_timeout_s, kept for leaving the group and the last commit


@dataclass
class Settled:
    """An outcome decided on arrival (dead letter, duplicate): published in the project's order."""

    kind: str  # "dead_letter" | "duplicate"
    events: list[OutgoingMessage] = field(default_factory=list)
    note: str | None = None


class Agent(PartitionHandover):
    def __init__(
        self,
        settings: Settings,
        medium: Medium,
        routes: AgentRoutes,
        producer: TransactionalProducer,
        consumer_factory: Any,
        codec: EventCodec,
        control: ControlFeed | None,
        bootstrap: str | None = None,
        retry: RetryPolicy = RetryPolicy(),
        characters: KafkaCharacterRegistry | None = None,
        metrics: AgentMetrics | None = None,
        health: AgentHealth | None = None,
        shard_producer: Callable[[int], TransactionalProducer] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or AgentMetrics(medium.name, backend_label(medium), gpu=False)
        self.health = health or AgentHealth()
        self.medium = medium
        self.routes = routes
        self.producer = producer
        self.codec = codec
        self.encoder = EventEncoder(codec)
        self.control = control
        self.bootstrap = bootstrap
        self.retry = retry
        self.scheduler = KeyScheduler()
        self.ledger = OffsetLedger()
        self.handled: ChangelogTable[RequestHandled] = ChangelogTable(TableSpec(routes.dedupe, RequestHandled), codec)
        self.progress: ChangelogTable[JobProgress] = ChangelogTable(TableSpec(routes.progress, JobProgress), codec)
        self.characters = characters
        self.tables: list[ChangelogTable[Any]] = [self.handled, self.progress] + ([characters.table] if characters else [])
        self.step_progress: queue.Queue[tuple[Job, float]] = queue.Queue()
        self.pending: list[Tagged] = []  # (input partition, message) for the next transaction
        self.cancelled = RememberedCancels()  # cancels of jobs not seen yet
        self.assigned: set[tuple[str, int]] = set()
        self.paused = False
        self.shutdown_deadline: float | None = None  # monotonic, once SIGTERM's drain began
        self.hold_until = 0.0  # storage outage: no dispatch before this (monotonic seconds)
        self.hold_backoff_s = 0.0
        self.next_dedupe_sweep = 0.0  # monotonic seconds
        self.started_ms = int(time.time() * 1000)
        self.stopping = threading.Event()
        self.renders = RenderThread(self._render_batch, deadline_s=settings.worker.render_deadline_s)
        self.consumer: EventConsumer = consumer_factory(self._on_assign, self._on_revoke, self._on_lost)
        self.producers = [producer]  # one per commit shard, shard 0 first (runtime/commit_shards.py)
        self.shard_producer = shard_producer
        self.committer = ShardedCommitter(self._new_shard, settings.worker.commit_shards if shard_producer else 1)
        self.counters = {"accepted": 0, "rendered_steps": 0, "completed": 0, "failed": 0, "cancelled": 0, "dead_letters": 0, "control_dead_letters": 0, "duplicates": 0, "assigned": 0, "revoked": 0, "lost": 0, "transactions": 0, "storage_holds": 0, "unowned": 0, "discarded": 0, "pauses": 0}

    def _new_shard(self, index: int) -> TransactionCommitter:
        if index:
            assert self.shard_producer is not None
            self.producers.append(self.shard_producer(index))
        stuck_after_s = self.settings.worker.transaction_timeout_ms / 1000 + 5.0  # past it, the broker aborts the transaction anyway
        return TransactionCommitter(self.producers[index], on_commit=self._committed, on_abort=lambda: self.metrics.transaction(committed=False), stuck_after_s=stuck_after_s)

    # ---- the loop -------------------------------------------------------------------------

    def run(self, until: Any = lambda: False) -> None:
        self.health.phase = "loading"
        self.medium.load()
        self.health.model_loaded = True
        self.health.phase = "running"
        try:
            while not self.stopping.is_set() and not until():
                self.turn()
            self.health.phase = "stopping"
            self.shutdown_deadline = time.monotonic() + self.settings.worker.shutdown_timeout_s
            self._drain_for_shutdown()
        finally:
            self.health.phase = "stopped"
            if self.shutdown_deadline is None:  # stopped by an error: leave promptly
                self.shutdown_deadline = time.monotonic() + min(self.settings.worker.shutdown_timeout_s, 10.0)
            if not self.renders.stop(0.0 if self.renders.in_flight else min(self._time_left(), 1.0)):  # the drain waited already
                log.warning("a render still runs at shutdown: it is left behind, and the next owner of its partition renders that step again")
            if self.control is not None:
                self.control.close()
            try:
                self.consumer.close()  # leaves the group; revocation commits what is finished
            finally:
                self.committer.close(max(self._time_left(), 1.0))
                for producer in self.producers:
                    producer.close()

    def _time_left(self) -> float:
        return 0.0 if self.shutdown_deadline is None else max(0.0, self.shutdown_deadline - time.monotonic())

    def turn(self) -> None:
        rendering = self.renders.in_flight > 0
        wait = self._wait_s(rendering)  # while rendering, on the render thread (a result wakes it); else in poll
        room = self.settings.worker.in_flight_window - len(self.scheduler)
        for message in self.consumer.consume(max(1, min(self.settings.worker.max_poll_records, room)), 0.0 if rendering else wait):
            self._accept(message)
        if self.control is not None:
            for event in self.control.drain():
                if isinstance(event, RejectedControl):
                    self._dead_letter_control(event)
                else:
                    self._cancel(event)
        finished = self.renders.collect(timeout_s=wait if rendering else 0.0)
        if self.characters is not None:  # identities fixed on the render thread go first, if still owned
            owned = {p for t, p in self.assigned if t == self.routes.requests}
            self.pending += [((self.routes.requests, p), m) for p, m in self.characters.drain(owned)]
        self._report_step_progress()
        for batch, results in finished:
            for job, result in zip(batch, results):
                self._step_finished(job, result)
        self._finish_heads()
        self._dispatch()
        self._expire_dedupe()
        self._commit()
        self._flow_control()
        self._observe()

    def _expire_dedupe(self) -> None:
        """Forget requests handled longer ago than the dedupe window, at most once a sweep interval:
        their tombstones go in this turn's transaction, so a restore does not read them back."""
        now = time.monotonic()
        if now < self.next_dedupe_sweep:
            return
        window = self.settings.worker.dedupe_window_s
        self.next_dedupe_sweep = now + min(DEDUPE_SWEEP_S, window / 10)
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=window)
        self.pending += [((self.routes.requests, m.partition or 0), m) for m in self.handled.expire(lambda row: row.handled_at < cutoff)]

    def _observe(self) -> None:
        """Liveness, and (at most every sample interval) the gauges of lag, in-flight and queue depth."""
        self.health.loop_turned()
        if self.metrics.sample_due():
            depth: dict[str, int] = {}
            for job in self.scheduler.jobs():
                depth[job.key] = depth.get(job.key, 0) + 1
            self.metrics.sample(len(self.scheduler), depth, self.consumer.lag(self.assigned))

    def _wait_s(self, rendering: bool) -> float:
        """How long a turn may block before something is due: a retry backoff's end, a storage
        hold's end, the idle poll timeout. While a batch renders the loop waits on the render
        thread (a finished batch wakes it at once) and polls Kafka between waits, so the wait is
        also bounded by a tenth of how long the batch has rendered so far (10 ms at least): a
        request arriving meanwhile waits ~10% of the render's time at most, and beside a render of
        seconds the loop turns a few times a second, not at 100 Hz."""
        idle = self.settings.worker.poll_timeout_s
        if rendering:
            now = time.monotonic()
            bound = min(idle, max(RENDER_WAIT_S, RENDER_WAIT_SHARE * self.renders.rendering_for()))
            wakeup = self.scheduler.next_wakeup()
            if wakeup is not None and wakeup > now:  # one due already waits for room on the render thread
                bound = min(bound, wakeup - now)
            if self.hold_until > now:
                bound = min(bound, self.hold_until - now)
            return bound
        held = self.hold_until - time.monotonic()
        if held > 0:
            return min(idle, held)
        if not len(self.scheduler):
            return idle
        wakeup = self.scheduler.next_wakeup()
        return 0.0 if wakeup is None else max(0.0, min(idle, wakeup - time.monotonic()))

    def _drain_for_shutdown(self) -> None:
        """SIGTERM: start nothing new; finish the steps in hand, publish, commit, all within
        ``shutdown_timeout_s`` (a step still rendering then is left to the next owner)."""
        timeout = self.settings.worker.shutdown_timeout_s
        deadline = (self.shutdown_deadline or time.monotonic() + timeout) - min(CLOSE_RESERVE_S, timeout / 4)
        while self.renders.in_flight and time.monotonic() < deadline:
            for batch, results in self.renders.collect(timeout_s=0.1):
                for job, result in zip(batch, results):
                    self._step_finished(job, result)
            self.consumer.poll(0)  # stay in the group while the last render finishes
        self._finish_heads()
        self._commit()
        while True:  # polling meanwhile: a committer waiting for the group (a rejoin) gets it
            try:
                self.committer.flush(min(0.2, max(self._time_left() - 1.0, 0.05)), self.consumer.member_metadata)
                return
            except TimeoutError as exc:
                if self._time_left() <= 1.0:
                    log.warning("shutdown: %s; what is not committed is the next owner's to redo", exc)
                    return
            self.consumer.poll(0)

    # ---- requests in ------------------------------------------------------------------------

    def _accept(self, message: ConsumedMessage) -> None:
        tp = (message.topic, message.partition)
        if tp not in self.assigned:  # revoked while the poll drained its batch: the next owner reads it
            self.counters["unowned"] += 1
            log.debug("dropping %s[%d]@%d: the partition is not assigned here", message.topic, message.partition, message.offset)
            return
        self.ledger.add(tp, message.offset)
        span = JobSpan(message.header("traceparent"), message.topic, message.partition, message.offset)
        trace = span.traceparent
        try:
            request = decode_request(self.codec, message, self.routes.request_types)
            plan = self.medium.plan(request)
        except PermanentError as error:
            log.warning("dead-lettering %s[%d]@%d: %s", message.topic, message.partition, message.offset, error, extra=message_fields(message))
            ids = best_effort_ids(self.codec, message)
            settled = Settled("dead_letter", dead_letter_messages(self.encoder, self.routes, message, error, ids, trace), str(error))
            key = ids.project_id or (message.key.decode("utf-8", "replace") if message.key else None)
            self._queue_settled(key, message, None, trace, span, settled)
            return
        request = plan.request
        if self.handled.get(message.partition, handled_key(request.project_id, request.request_id, request.render_version)) is not None or self._in_flight(request):
            log.info("request %s of %s was handled already; its outcome stands", request.request_id, request.project_id, extra={**message_fields(message), "jobId": request.job_id, "projectId": request.project_id})
            self._queue_settled(request.project_id, message, request, trace, span, Settled("duplicate"))
            return
        span.identify(request.job_id, request.project_id)
        job = Job(key=request.project_id, message=message, request=request, steps=plan.steps, trace=trace, span=span)
        if self.characters is not None:
            self.characters.locate(request.project_id, message.partition)
        self.counters["accepted"] += 1
        if self.cancelled.take(request.job_id, request.project_id, request.render_version, message.timestamp_ms):
            job.cancel_requested = True  # never rendered; ends in the project's order
            job.cancel_note = "cancelled before it started"
            self.scheduler.enqueue(job)
            return
        progress = self.progress.get(message.partition, progress_key(request.project_id, request.job_id, request.render_version))
        if progress is not None and progress.request_id == request.request_id:
            self.medium.restore(job, progress)
            log.info("job %s resumes after %d finished steps", request.job_id, job.next_step, extra=job_fields(job))
        self.scheduler.enqueue(job)
        self._status(job, JobStatus.QUEUED if job.next_step == 0 else JobStatus.PROCESSING, job.next_step / max(len(job.steps), 1))

    def _queue_settled(self, key: str | None, message: ConsumedMessage, request: Any, trace: str, span: JobSpan, settled: Settled) -> None:
        """An outcome known on arrival waits behind the project's earlier requests (no project:
        nothing to keep order with, it ends now)."""
        job = Job(key=key or "", message=message, request=request, steps=[], trace=trace, span=span, settled=settled)
        if key is None:
            self._settle(job)
        else:
            self.scheduler.enqueue(job)

    def _settle(self, job: Job) -> None:
        settled: Settled = job.settled
        self.pending += [(job.tp, m) for m in settled.events]
        self.scheduler.remove(job)
        self.ledger.finish(job.tp, job.message.offset)
        if settled.kind == "dead_letter":
            self.counters["dead_letters"] += 1
            self.metrics.dead_letters.labels("decode").inc()
            job.span.end("dead_letter", settled.note)
        else:
            self.counters["duplicates"] += 1
            self.metrics.duplicates.inc()
            job.span.end("duplicate")

    def _in_flight(self, request: Any) -> bool:
        """The same request (and render version) is already queued or running here."""
        same = (request.project_id, request.request_id, request.render_version)
        return any(j.request is not None and (j.key, j.request.request_id, j.request.render_version) == same for j in self.scheduler.jobs_of(request.project_id))

    # ---- rendering ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        if self.stopping.is_set() or time.monotonic() < self.hold_until:
            return
        while self.renders.has_room():
            batch = self.scheduler.take_batch(time.monotonic(), self.settings.worker.max_batch_size, self.medium.batch_key)
            if not batch:
                return
            for job in batch:
                if job.next_step == 0 and job.attempts == 0:
                    self._status(job, JobStatus.PROCESSING, 0.0)
            self.renders.submit(batch)

    def _render_batch(self, batch: list[Job]) -> list[Any]:
        """On the render thread: the medium renders and stores each job's current step (observed)."""
        return render_observed(self.metrics, self.medium, batch, self._render_steps)

    def _render_steps(self, batch: list[Job]) -> list[Any]:
        render = lambda jobs: self.medium.render(jobs, lambda job: job.cancel_requested or job.revoked or self.renders.abandoned(), lambda job, part: None if self.renders.abandoned() else self.step_progress.put((job, part)))  # noqa: E731
        return render_isolating_failures(render, batch)

    def _report_step_progress(self) -> None:
        """Progress inside a step (denoising steps), reported by the renderer, throttled there."""
        latest: dict[int, tuple[Job, float]] = {}
        try:
            while True:
                job, part = self.step_progress.get_nowait()
                latest[id(job)] = (job, part)
        except queue.Empty:
            pass
        for job, part in latest.values():
            if job.running and not job.revoked and part < 1.0:
                self._status(job, JobStatus.PROCESSING, (job.next_step + part) / len(job.steps))

    def _step_finished(self, job: Job, result: Any) -> None:
        job.running = False
        if job.revoked:
            return  # its partition moved on: the new owner redoes this step
        if isinstance(result, RenderCancelled):
            job.cancel_requested = True
            return
        if isinstance(result, StorageUnavailable):
            self._hold_for_storage(result)  # the step is retried when the store is back; not the job's attempt
            return
        if self.hold_backoff_s and not isinstance(result, BaseException):
            log.info("storage is back: work resumes")
            self.hold_backoff_s = 0.0
        if isinstance(result, RetriableError):
            job.attempts += 1
            delay = self.retry.delay(job.attempts)
            if delay is not None:
                log.warning("job %s step %d: %s; retry %d in %.2fs", job.job_id, job.next_step, result, job.attempts, delay, extra=job_fields(job))
                self.metrics.retries.inc()
                job.not_before = time.monotonic() + delay
                return
            job.failures.append(self.medium.step_failure(job, f"gave up after {job.attempts} attempts: {type(result).__name__}: {result}"))
        elif isinstance(result, BaseException):
            job.failures.append(self.medium.step_failure(job, f"{type(result).__name__}: {result}"))
        else:
            job.results.append(result)
            self.pending += [(job.tp, m) for m in self.medium.step_events(job, result)]
            self.counters["rendered_steps"] += 1
        job.attempts = 0
        job.not_before = 0.0
        job.next_step += 1
        if not job.done:
            self.pending.append((job.tp, self.progress.put(job.message.partition, _progress_key(job), self.medium.progress(job))))
        if not job.done:  # the last step's progress is the terminal status that follows
            self._status(job, JobStatus.PROCESSING, job.next_step / len(job.steps))

    def _hold_for_storage(self, error: Exception) -> None:
        """Backpressure on a storage outage: dispatch nothing (partitions paused) until the hold
        ends, then let one batch probe the store; the hold doubles up to 10 s while it fails."""
        self.hold_backoff_s = min(max(self.hold_backoff_s * 2, 0.5), 10.0)
        self.hold_until = time.monotonic() + self.hold_backoff_s
        self.counters["storage_holds"] += 1
        self.metrics.storage_holds.inc()
        log.warning("storage unavailable (%s): holding work for %.1fs", error, self.hold_backoff_s)

    def _finish_heads(self) -> None:
        for job in self.scheduler.finished_heads():
            if job.settled is not None:
                self._settle(job)
                continue
            if job.span is not None:  # the terminal outcomes are published under a span of their own
                job.trace = job.span.publish("cancelled" if job.cancel_requested and not job.done else "ended")
            if job.cancel_requested and not job.done:
                self._end(job, JobStatus.CANCELLED, [], error=job.cancel_note)
                continue
            events, completed = self.medium.completion_events(job)
            if not completed:
                ids = best_effort_ids(self.codec, job.message)
                error = PermanentError("; ".join(str(getattr(f, "reason", f)) for f in job.failures))
                events = events + dead_letter_messages(self.encoder, self.routes, job.message, error, ids, job.trace)[:1]
                self.metrics.dead_letters.labels("job").inc()
            self._end(job, JobStatus.COMPLETED if completed else JobStatus.FAILED, events)

    def _end(self, job: Job, status: JobStatus, events: list[OutgoingMessage], error: str | None = None) -> None:
        """The job's one terminal outcome, its dedupe record, and its offset released, together."""
        partition = job.message.partition
        request = job.request
        self.pending += [(job.tp, m) for m in events]
        self._status(job, status, 1.0 if status is JobStatus.COMPLETED else job.next_step / max(len(job.steps), 1), error)
        record = RequestHandled(request.request_id, request.job_id, request.project_id, status.value, request.render_version)
        self.pending.append((job.tp, self.handled.put(partition, record.key, record)))
        if self.progress.get(partition, _progress_key(job)) is not None:
            self.pending.append((job.tp, self.progress.delete(partition, _progress_key(job))))
        self.scheduler.remove(job)
        self.ledger.finish(job.tp, job.message.offset)
        self.counters[status.value] += 1
        self.metrics.jobs.labels(status.value).inc()
        if job.span is not None:
            job.span.end(status.value, error)
        log.info("job %s %s", request.job_id, status.value, extra={**job_fields(job), "status": status.value})

    # ---- cancel ---------------------------------------------------------------------------------

    def _cancel(self, event: ControlEvent) -> None:
        """A cancel reaches the job's requests published before it (runtime/cancels.py); a job
        cancelled while queued ends when it reaches the head of its project, in request order."""
        cancel = event.cancel
        jobs = [
            j for j in self.scheduler.find_all(cancel.job_id)
            if j.key == cancel.project_id and j.settled is None and applies(j.request.render_version, j.message.timestamp_ms, event.timestamp_ms)
        ]
        for job in jobs:
            if not job.cancel_requested and not job.running and job is not self._head(job):
                job.cancel_note = f"cancelled while queued: {cancel.reason}".rstrip(": ")
            job.cancel_requested = True
        if jobs:
            return
        self.cancelled.remember(cancel.job_id, cancel.project_id, event.timestamp_ms)
        if self._owns_fresh(event):
            ended = next((h for h in self.handled.values(event.partition) if h.job_id == cancel.job_id and h.project_id == cancel.project_id), None)
            if ended is not None:
                self.cancelled.forget(cancel.job_id)
                note = f"cancel ignored: the job already ended {ended.outcome}"
                status = JobStatus(ended.outcome)
            else:
                note = "cancel recorded for a job no agent has started; it will be dropped if it arrives"
                status = JobStatus.CANCELLED
            event_out = JobStatusChanged(cancel.job_id, cancel.project_id, status.value, cancel.request_id, 1.0 if ended else 0.0, note)
            self.pending.append(((self.routes.requests, event.partition), self.encoder.message(self.routes.job_status, cancel.job_id, event_out, child_traceparent(None))))

    def _owns_fresh(self, event: ControlEvent | RejectedControl) -> bool:
        """This agent owns the event's partition now, and the event is no older than this agent
        (give or take 5 s): the feed reads from the beginning, and what came before was answered
        by the agent that owned the partition then."""
        owner = (self.routes.requests, event.partition) in self.assigned
        return owner and (event.timestamp_ms is None or event.timestamp_ms >= self.started_ms - 5_000)

    def _dead_letter_control(self, rejected: RejectedControl) -> None:
        """A bad control message goes to the control DLQ from the one agent that owns its partition
        (every agent reads it), in this turn's transaction; docs/reliability.md says the limits."""
        if self.routes.control_dead_letters is None or not self._owns_fresh(rejected):
            return
        message = rejected.message
        log.warning("dead-lettering control message %s[%d]@%d: %s", message.topic, message.partition, message.offset, rejected.error, extra=message_fields(message))
        ids = best_effort_ids(self.codec, message)
        self.pending.append(((self.routes.requests, rejected.partition), control_dead_letter_message(self.encoder, self.routes.control_dead_letters, message, rejected.error, ids)))
        self.counters["control_dead_letters"] += 1
        self.metrics.dead_letters.labels("control").inc()

    def _head(self, job: Job) -> Job | None:
        return next((j for j in self.scheduler.jobs() if j.key == job.key), None)

    # ---- publishing -----------------------------------------------------------------------------

    def _status(self, job: Job, status: JobStatus, progress: float, error: str | None = None) -> None:
        r = job.request
        event = JobStatusChanged(r.job_id, r.project_id, status.value, r.request_id, round(progress, 4), error, r.render_version)
        self.pending.append((job.tp, self.encoder.message(self.routes.job_status, r.job_id, event, job.trace)))

    def _commit(self) -> None:
        """Hand this turn's messages of owned partitions and the positions of every owned
        partition (moved or not: every transaction is fenced) to the committer, in order."""
        moved = self.ledger.advance()
        if not self.pending and not moved:
            if self.committer.stale:  # a transaction failed: it is retried with the metadata of now
                self.committer.refresh(self.consumer.member_metadata())
            return
        messages = [(tp, self.routes.place(m, tp[1])) for tp, m in self.pending if tp in self.assigned]  # at the request's partition
        if len(messages) < len(self.pending):
            self.counters["discarded"] += len(self.pending) - len(messages)
            log.info("dropping %d messages of partitions no longer owned", len(self.pending) - len(messages))
        self.pending = []
        self.committer.submit(messages, {tp: p for tp, p in self.ledger.positions().items() if tp in self.assigned}, self.consumer.member_metadata())

    def _committed(self, messages: int, offsets: int) -> None:
        self.counters["transactions"] += 1
        self.metrics.transaction(committed=True)

    def _flow_control(self) -> None:
        """Pause when the window is full (or storage is held), resume only once it is half empty:
        each pause drops what librdkafka prefetched, so no pause/resume at every turn."""
        window = self.settings.worker.in_flight_window
        held = time.monotonic() < self.hold_until
        if not self.paused and (held or len(self.scheduler) >= window):
            self.consumer.pause(self.assigned)
            self.paused = True
            self.counters["pauses"] += 1
        elif self.paused and not held and len(self.scheduler) <= window // 2:
            self.consumer.resume(self.assigned)
            self.paused = False


def _progress_key(job: Job) -> str:
    return progress_key(job.key, job.job_id, job.request.render_version)
