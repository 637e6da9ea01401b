"""Tumbling-window aggregation of ratings and the consistency roll-up (pure, no broker)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from media_stream.catalog.quality import (
    DAY_MS,
    WEEK_MS,
    ConsistencyFact,
    RatingFact,
    WindowedAggregates,
    consistency_rollup,
    quality_report,
    window_start,
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


def fact(rating: int, when: str, style: str = "watercolor", model: str = "sdxl:base", version: int = 1) -> RatingFact:
    return RatingFact("p", "j:s0:v1", rating, ms(when), style, model.split(":")[0], model, version)


def pick(lines, dimension: str, value: str, window: str):  # noqa: ANN001, ANN201
    return next(q for q in lines if (q.dimension, q.value, q.window) == (dimension, value, window))


def test_day_windows_start_at_midnight_utc_and_week_windows_on_monday() -> None:
    assert window_start(ms("2026-03-11T23:59:59.999"), DAY_MS) == ms("2026-03-11T00:00:00")
    assert window_start(ms("2026-03-12T00:00:00"), DAY_MS) == ms("2026-03-12T00:00:00")
    monday = ms("2026-03-09T00:00:00")
    assert datetime.fromtimestamp(monday / 1000, timezone.utc).weekday() == 0
    for inside in ("2026-03-09T00:00:00", "2026-03-11T12:00:00", "2026-03-15T23:59:59.999"):
        assert window_start(ms(inside), WEEK_MS, 4 * DAY_MS) == monday
    assert window_start(ms("2026-03-08T23:59:59.999"), WEEK_MS, 4 * DAY_MS) == monday - WEEK_MS


def test_a_rating_on_each_side_of_midnight_lands_in_two_day_windows() -> None:
    facts = [fact(5, "2026-03-10T23:59:59.999"), fact(3, "2026-03-11T00:00:00")]
    today = quality_report(facts, ms("2026-03-11T18:00:00"))
    assert (pick(today, "all", "all", "day").count, pick(today, "all", "all", "day").mean) == (1, 3.0)
    assert (pick(today, "all", "all", "week").count, pick(today, "all", "all", "week").mean) == (2, 4.0)
    yesterday = quality_report(facts, ms("2026-03-10T12:00:00"))
    assert (pick(yesterday, "all", "all", "day").count, pick(yesterday, "all", "all", "day").mean) == (1, 5.0)


def test_mean_count_share_and_target_per_dimension() -> None:
    facts = [
        fact(5, "2026-03-11T10:00:00", "watercolor", "sdxl:base", 1),
        fact(4, "2026-03-11T11:00:00", "watercolor", "preview/embedded-v1", 2),
        fact(2, "2026-03-11T12:00:00", "noir", "sdxl:base", 2),
    ]
    lines = quality_report(facts, ms("2026-03-11T13:00:00"))
    water = pick(lines, "style", "watercolor", "all")
    assert (water.count, water.mean, water.share_high, water.meets_target) == (2, 4.5, 1.0, True)
    sdxl = pick(lines, "backend", "sdxl", "day")
    assert (sdxl.count, sdxl.mean, sdxl.share_high, sdxl.meets_target) == (2, 3.5, 0.5, False)
    assert pick(lines, "model", "preview/embedded-v1", "week").count == 1
    assert pick(lines, "renderVersion", "2", "all").mean == 3.0
    overall = pick(lines, "all", "all", "all")
    assert overall.count == 3 and overall.mean == pytest.approx(11 / 3) and overall.share_high == pytest.approx(2 / 3)
    assert pick(lines, "all", "all", "all").as_dict()["shareAtLeast4"] == pytest.approx(2 / 3)


def test_exactly_four_does_not_meet_the_target_above_four() -> None:
    lines = quality_report([fact(4, "2026-03-11T10:00:00")], ms("2026-03-11T10:00:01"))
    assert pick(lines, "all", "all", "all").mean == 4.0 and not pick(lines, "all", "all", "all").meets_target


def test_the_table_keeps_past_windows() -> None:
    table = WindowedAggregates()
    for day in range(1, 15):
        table.add(fact(1 + day % 5, f"2026-03-{day:02d}T12:00:00"))
    week_of_the_10th = table.report(ms("2026-03-10T00:00:00"))
    assert pick(week_of_the_10th, "all", "all", "week").count == 6  # Monday 9th .. Sunday 15th: the 9th..14th
    assert pick(week_of_the_10th, "all", "all", "all").count == 14
    assert pick(table.report(ms("2026-03-03T00:00:00")), "all", "all", "week").count == 7  # Monday 2nd .. Sunday 8th
    assert pick(table.report(ms("2026-03-01T00:00:00")), "all", "all", "week").count == 1  # the 1st, a Sunday


def test_consistency_rollup_against_the_threshold_and_target() -> None:
    facts = [ConsistencyFact("p1", "watercolor", "sdxl", s) for s in (0.91, 0.85, 0.80, 0.95)] + [ConsistencyFact("p2", "noir", "sdxl", 0.5)]
    rollup = {(c.dimension, c.value): c for c in consistency_rollup(facts, 0.8)}
    assert (rollup[("project", "p1")].scored, rollup[("project", "p1")].passed) == (4, 4)  # 0.80 is at the threshold: passes
    assert rollup[("project", "p1")].meets_target and not rollup[("all", "all")].meets_target  # 4/5 = 80% is not > 90%
    assert rollup[("style", "noir")].share_passed == 0.0
    assert rollup[("model", "sdxl")].mean_score == pytest.approx((0.91 + 0.85 + 0.80 + 0.95 + 0.5) / 5)
    assert consistency_rollup([], 0.8) == []


def test_consistency_rolls_up_per_character_on_its_own_region_score() -> None:
    facts = [
        ConsistencyFact("p1", "watercolor", "sdxl", 0.85, (("fox", 0.95), ("lea", 0.75))),
        ConsistencyFact("p1", "watercolor", "sdxl", 0.9, (("lea", 0.9),)),
        ConsistencyFact("p2", "noir", "sdxl", 0.7, (("lea", 0.7),)),  # another project's Léa is another character
    ]
    rollup = {(c.dimension, c.value): c for c in consistency_rollup(facts, 0.8)}
    lea = rollup[("character", "p1/lea")]
    assert (lea.scored, lea.passed, lea.share_passed) == (2, 1, 0.5)  # 0.75 fails, 0.9 passes
    assert lea.mean_score == pytest.approx((0.75 + 0.9) / 2)
    assert (rollup[("character", "p1/fox")].scored, rollup[("character", "p1/fox")].passed) == (1, 1)
    assert rollup[("character", "p2/lea")].passed == 0
    assert rollup[("project", "p1")].scored == 2  # images, as before
    assert [c.dimension for c in consistency_rollup(facts, 0.8)][-3:] == ["character"] * 3
