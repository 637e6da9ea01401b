"""What a renderer's failure means for the jobs of its batch.

- A batch that fails with an error that is not one of ours (a bug, ``MemoryError``, a CUDA
  out-of-memory) is rendered again one job at a time, so only the job that causes it fails and
  the projects that merely shared its batch go on.
- Out of memory (``MemoryError``, ``torch.OutOfMemoryError``) on a single job is that step's
  failure, ``RenderOutOfMemory`` (permanent: the same scene at the same size would fail again);
  the cached allocator is emptied so the next batch starts clean. The agent never dies of it.
- A batch still rendering after ``worker.render_deadline_s`` is given up by the render thread:
  its jobs' step fails with ``RenderDeadlineExceeded``, retriable: the step is tried again under
  the agent's retry policy, and fails for good when the attempts run out (see
  ``runtime/render_thread.py``).
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from media_stream.domain.errors import MediaStreamError, PermanentError, RetriableError

log = logging.getLogger(__name__)


class RenderOutOfMemory(PermanentError):
    """The renderer ran out of memory (host or accelerator) on this step alone."""


class RenderDeadlineExceeded(RetriableError):
    """The render of this step was still running after ``worker.render_deadline_s`` (retried
    under the retry policy: a stall is often the machine's, not the scene's)."""


def is_out_of_memory(exc: BaseException) -> bool:
    """``MemoryError`` or torch's ``OutOfMemoryError`` (checked by name: torch is not imported here)."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def classify(exc: Exception, jobs: int = 1) -> Exception:
    """The error a job's step ends with: ours unchanged, out of memory as ``RenderOutOfMemory``."""
    if isinstance(exc, MediaStreamError):
        return exc
    if is_out_of_memory(exc):
        release_memory()
        return RenderOutOfMemory(f"out of memory rendering a batch of {jobs}: {type(exc).__name__}: {exc}")
    return exc


def release_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")  # only when a backend already loaded it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def render_isolating_failures(render: Callable[[Sequence[Any]], list[Any]], batch: Sequence[Any]) -> list[Any]:
    """``render(batch)``; when it raises something not ours, each job again on its own."""
    try:
        return render(batch)
    except Exception as exc:  # noqa: BLE001 - classified; BaseExceptions (SystemExit...) still propagate
        if len(batch) == 1 or isinstance(exc, MediaStreamError):
            log.warning("render of a batch of %d failed: %s: %s", len(batch), type(exc).__name__, exc)
            return [classify(exc, len(batch))] * len(batch)
        log.warning("render of a batch of %d failed (%s: %s); rendering its jobs one by one", len(batch), type(exc).__name__, exc)
        if is_out_of_memory(exc):
            release_memory()
        return [result for job in batch for result in render_isolating_failures(render, [job])]
