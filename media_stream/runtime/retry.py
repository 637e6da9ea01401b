"""Bounded retries with exponential backoff for transient render and storage faults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    first_backoff_s: float = 0.2
    max_backoff_s: float = 5.0

    def delay(self, attempt: int) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1), None when out of attempts."""
        if attempt >= self.attempts:
            return None
        return min(self.first_backoff_s * 2 ** (attempt - 1), self.max_backoff_s)
