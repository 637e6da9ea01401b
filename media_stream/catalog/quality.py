"""Quality and consistency aggregates over tumbling windows (pure: no Kafka, no SQLite).

``WindowedAggregates`` is a table of tumbling windows in the manner of faust's windowed tables:
each rating is folded into the day window and the week window its own timestamp (``ratedAt``)
falls in, and into the all-time row, per dimension value (style, backend, model, render
version). ``report(now)`` reads the *current* windows, the ones ``now`` falls in. Day windows
start at 00:00 UTC; week windows on Mondays 00:00 UTC (the epoch was a Thursday).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from media_stream.domain.assets import CONSISTENCY_TARGET, QUALITY_TARGET

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
WEEK_OFFSET_MS = 4 * DAY_MS  # 1970-01-05, the first Monday
WINDOWS = {"day": (DAY_MS, 0), "week": (WEEK_MS, WEEK_OFFSET_MS)}
RATING_DIMENSIONS = ("all", "style", "backend", "model", "renderVersion")
HIGH_RATING = 4


def window_start(ts_ms: int, size_ms: int, offset_ms: int = 0) -> int:
    """Start of the tumbling window of ``size_ms`` (aligned to ``offset_ms``) holding ``ts_ms``."""
    return (ts_ms - offset_ms) // size_ms * size_ms + offset_ms


@dataclass(frozen=True)
class RatingFact:
    """One rating joined with its asset's catalog entry (style etc. 'unknown' if not cataloged)."""

    project_id: str
    asset_id: str
    rating: int
    rated_ms: int
    style: str = "unknown"
    backend: str = "unknown"
    model: str = "unknown"
    render_version: int = 0

    def value(self, dimension: str) -> str:
        return {
            "all": "all",
            "style": self.style,
            "backend": self.backend,
            "model": self.model,
            "renderVersion": str(self.render_version),
        }[dimension]


@dataclass
class Aggregate:
    count: int = 0
    total: int = 0
    high: int = 0  # ratings >= 4

    def add(self, rating: int) -> None:
        self.count += 1
        self.total += rating
        self.high += rating >= HIGH_RATING

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def share_high(self) -> float | None:
        return self.high / self.count if self.count else None


@dataclass(frozen=True)
class QualityLine:
    dimension: str
    value: str
    window: str  # day, week or all
    window_start_ms: int | None
    count: int
    mean: float | None
    share_high: float | None
    target: float = QUALITY_TARGET

    @property
    def meets_target(self) -> bool:
        return self.mean is not None and self.mean > self.target

    def as_dict(self) -> dict:
        return {
            "dimension": self.dimension, "value": self.value, "window": self.window,
            "windowStartMs": self.window_start_ms, "count": self.count, "mean": self.mean,
            "shareAtLeast4": self.share_high, "target": self.target, "meetsTarget": self.meets_target,
        }  # fmt: skip


@dataclass
class WindowedAggregates:
    """(window kind, window start, dimension, value) -> Aggregate; window start None = all time."""

    table: dict[tuple[str, int | None, str, str], Aggregate] = field(default_factory=lambda: defaultdict(Aggregate))

    def add(self, fact: RatingFact) -> None:
        for dimension in RATING_DIMENSIONS:
            value = fact.value(dimension)
            self.table[("all", None, dimension, value)].add(fact.rating)
            for kind, (size, offset) in WINDOWS.items():
                self.table[(kind, window_start(fact.rated_ms, size, offset), dimension, value)].add(fact.rating)

    def report(self, now_ms: int) -> list[QualityLine]:
        """The current day and week windows and all time, every dimension value seen."""
        current = {kind: window_start(now_ms, size, offset) for kind, (size, offset) in WINDOWS.items()}
        values = sorted({(d, v) for (_, _, d, v) in self.table})
        lines = []
        for dimension, value in values:
            for kind in ("day", "week", "all"):
                start = current.get(kind)
                agg = self.table.get((kind, start, dimension, value), Aggregate())
                lines.append(QualityLine(dimension, value, kind, start, agg.count, agg.mean, agg.share_high))
        return lines


def quality_report(facts: Iterable[RatingFact], now_ms: int) -> list[QualityLine]:
    table = WindowedAggregates()
    for fact in facts:
        table.add(fact)
    return table.report(now_ms)


@dataclass(frozen=True)
class ConsistencyFact:
    project_id: str
    style: str
    model: str
    score: float
    character_scores: tuple[tuple[str, float], ...] = ()  # (characterId, score on its region)


@dataclass(frozen=True)
class ConsistencyLine:
    dimension: str  # all, project, style, model, character ("projectId/characterId")
    value: str
    scored: int
    passed: int
    mean_score: float | None
    threshold: float
    target: float = CONSISTENCY_TARGET

    @property
    def share_passed(self) -> float | None:
        return self.passed / self.scored if self.scored else None

    @property
    def meets_target(self) -> bool:
        return self.share_passed is not None and self.share_passed > self.target

    def as_dict(self) -> dict:
        return {
            "dimension": self.dimension, "value": self.value, "scored": self.scored, "passed": self.passed,
            "sharePassed": self.share_passed, "meanScore": self.mean_score, "threshold": self.threshold,
            "target": self.target, "meetsTarget": self.meets_target,
        }  # fmt: skip


def consistency_rollup(facts: Iterable[ConsistencyFact], threshold: float) -> list[ConsistencyLine]:
    """Per project, style and model (and overall): images scored, how many at or above
    ``threshold``, their share (target: above 90%) and the mean score; and per character
    (``projectId/characterId``): the images it appears in, judged on its own region's score.
    The threshold is uncalibrated until labelled storyboards exist (``render/image/consistency.py``)."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0])

    def add(dimension: str, value: str, score: float) -> None:
        row = sums[(dimension, value)]
        row[0] += 1
        row[1] += score >= threshold
        row[2] += score

    for fact in facts:
        for dimension, value in (("all", "all"), ("project", fact.project_id), ("style", fact.style), ("model", fact.model)):
            add(dimension, value, fact.score)
        for character_id, score in fact.character_scores:
            add("character", f"{fact.project_id}/{character_id}", score)
    order = {"all": 0, "project": 1, "style": 2, "model": 3, "character": 4}
    return [
        ConsistencyLine(d, v, int(n), int(p), (s / n) if n else None, threshold)
        for (d, v), (n, p, s) in sorted(sums.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]
