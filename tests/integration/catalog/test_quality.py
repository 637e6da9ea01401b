"""Ratings aggregated across tumbling-window boundaries (controlled timestamps), consistency rolled
up per project, style and model, rater ids hashed; through the SDK and the REST gateway."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error

from media_stream.catalog.quality import QualityLine
from media_stream.config import GatewayToken
from media_stream.gateway.app import create_app
from media_stream.kafka.producer import EventProducer
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from tests.helpers.catalog_fixtures import RATER_KEY, CatalogEnv
from tests.helpers.outcomes import ready
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka

UTC = timezone.utc
NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # a Wednesday: this week began Monday 2026-03-09


def line(lines: list[QualityLine], dimension: str, value: str, window: str) -> tuple[int, float | None, float | None]:
    found = next(q for q in lines if (q.dimension, q.value, q.window) == (dimension, value, window))
    return found.count, found.mean, found.share_high


def test_ratings_across_window_boundaries_consistency_and_rest(catalog_env: CatalogEnv, start_processor: Callable) -> None:
    env, client = catalog_env, catalog_env.client
    encoder = EventEncoder(EventCodec.from_settings(env.settings))
    producer = EventProducer(env.settings, env.bootstrap)
    outcomes = [
        ready("job-a", "watercolor", "preview/embedded-v1", 1, 0.95),
        ready("job-b", "watercolor", "sdxl:base-1.0", 1, 0.85, {"lea": 0.95, "fox": 0.75}),
        ready("job-c", "noir", "sdxl:base-1.0", 2, 0.50, {"lea": 0.50}),
    ]
    for outcome in outcomes:
        producer.send(encoder.message(env.image.image_ready, "proj-q", outcome, "00-" + "1" * 32 + "-" + "2" * 16 + "-01"))
    producer.close()
    start_processor(env.topics)
    wait_for("three cataloged assets", lambda: len(client.catalog.assets("proj-q")) == 3)

    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)  # noqa: E731
    client.catalog.rate("proj-q", "job-a:s0:v1", 5, "ann", rated_at=at("2026-03-10T23:59:59.999"))  # yesterday, this week
    client.catalog.rate("proj-q", "job-b:s0:v1", 3, "ann", rated_at=at("2026-03-11T00:00:00.000"))  # today
    client.catalog.rate("proj-q", "job-c:s0:v2", 2, "bob", rated_at=at("2026-03-08T23:59:59.999"))  # Sunday: last week
    client.catalog.rate("proj-q", "job-c:s0:v2", 4, "cid", rated_at=at("2026-03-09T00:00:00.000"))  # Monday: this week
    client.catalog.rate("proj-q", "job-a:s0:v1", 1, "dan", rated_at=at("2026-03-11T08:00:00"), comment="too dark")
    client.catalog.rate("proj-q", "job-a:s0:v1", 4, "dan", rated_at=at("2026-03-11T09:00:00"))  # dan changes his mind: replaces
    wait_for("five ratings", lambda: client.catalog.view.catch_up() >= 0 and len(client.catalog.view.ratings("proj-q")) == 5)

    lines = client.catalog.quality(now=NOW)
    assert line(lines, "all", "all", "day") == (2, 3.5, 0.5)  # 3 (ann, today) and 4 (dan, replaced)
    assert line(lines, "all", "all", "week") == (4, 4.0, 0.75)  # + 5 (Tuesday) + 4 (Monday 00:00)
    assert line(lines, "all", "all", "all") == (5, 3.6, 0.6)  # + 2 (Sunday 23:59:59.999)
    assert line(lines, "style", "watercolor", "week") == (3, 4.0, 2 / 3)
    assert line(lines, "style", "noir", "all") == (2, 3.0, 0.5) and line(lines, "style", "noir", "day") == (0, None, None)
    assert line(lines, "backend", "sdxl", "all") == (3, 3.0, 1 / 3)
    assert line(lines, "model", "preview/embedded-v1", "all") == (2, 4.5, 1.0)
    assert line(lines, "renderVersion", "2", "week") == (1, 4.0, 1.0)
    assert not next(q for q in lines if (q.dimension, q.value, q.window) == ("all", "all", "week")).meets_target  # 4.0 is not > 4
    assert next(q for q in lines if (q.dimension, q.value, q.window) == ("model", "preview/embedded-v1", "all")).meets_target
    # a day later the day window has moved on; all time has not
    later = client.catalog.quality(now=NOW + timedelta(days=1))
    assert line(later, "all", "all", "day") == (0, None, None) and line(later, "all", "all", "all") == (5, 3.6, 0.6)

    stored = {rater for _, _, rater, _, _ in client.catalog.view.ratings("proj-q")}
    expected = {hmac.new(RATER_KEY.encode(), r.encode(), hashlib.sha256).hexdigest() for r in ("ann", "bob", "cid", "dan")}
    assert stored == expected  # keyed hashes only, never the ids

    rollup = {(c.dimension, c.value): c for c in client.catalog.consistency(threshold=0.8)}
    assert (rollup[("all", "all")].scored, rollup[("all", "all")].passed) == (3, 2) and not rollup[("all", "all")].meets_target
    assert rollup[("style", "watercolor")].share_passed == 1.0 and rollup[("style", "watercolor")].meets_target
    assert rollup[("model", "sdxl:base-1.0")].passed == 1 and rollup[("project", "proj-q")].scored == 3
    # per character, each on its own region's score, through the outcome topic, the fold and the view
    lea, fox = rollup[("character", "proj-q/lea")], rollup[("character", "proj-q/fox")]
    assert (lea.scored, lea.passed, fox.scored, fox.passed) == (2, 1, 1, 0)
    assert client.catalog.view.asset("proj-q", "job-b:s0:v1").character_scores == {"lea": 0.95, "fox": 0.75}

    # -- the same through the REST gateway -----------------------------------------------------
    env.settings.gateway.tokens = [
        GatewayToken(name="erin", token=SecretStr("user-token"), kind="user", scopes=["assets:read", "assets:rate", "quality:read"]),
        GatewayToken(name="svc", token=SecretStr("svc-token"), kind="service", scopes=["*"]),
    ]
    app = create_app(env.settings, env.bootstrap, topics=env.roles)
    with TestClient(app) as http:
        user, svc = {"Authorization": "Bearer user-token"}, {"Authorization": "Bearer svc-token"}
        listed = http.get("/api/v1/projects/proj-q/assets", headers=user)
        assert listed.status_code == 200 and [a["assetId"] for a in listed.json()] == ["job-a:s0:v1", "job-b:s0:v1", "job-c:s0:v2"]
        assert listed.json()[0]["storyboard"]["styleConfig"]["seed"] == 7
        assert [a["assetId"] for a in http.get("/api/v1/projects/proj-q/assets?version=2", headers=user).json()] == ["job-c:s0:v2"]
        assert http.get("/api/v1/projects/proj-q/assets").status_code == 401
        posted = http.post("/api/v1/projects/proj-q/assets/job-c:s0:v2/rating", json={"rating": 5, "comment": "better"}, headers=user)
        assert posted.status_code == 202 and posted.json()["rating"] == 5
        assert http.post("/api/v1/projects/proj-q/assets/job-c:s0:v2/rating", json={"rating": 6}, headers=user).status_code == 422
        assert http.post("/api/v1/projects/proj-q/assets/job-z:s0:v1/rating", json={"rating": 3}, headers=user).status_code == 404
        assert http.post("/api/v1/projects/proj-q/assets/job-c:s0:v2/rating", json={"rating": 3, "raterId": "x"}, headers=user).status_code == 403
        assert http.post("/api/v1/projects/proj-q/assets/job-c:s0:v2/rating", json={"rating": 3, "raterId": "fay"}, headers=svc).status_code == 202
        report = http.get("/api/v1/quality", headers=user).json()
        overall = next(q for q in report["quality"] if (q["dimension"], q["window"]) == ("all", "all"))
        assert overall["count"] == 7 and overall["target"] == 4.0
        assert next(c for c in report["consistency"] if c["dimension"] == "all")["scored"] == 3

        # no generated request to the catalog routes is a server error
        schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=r"^/api/v1/(projects/|quality)")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 6  # assets, rating, delete, quality, rerender; a project's jobs (routes/projects.py)
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def no_server_error(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=svc, checks=[not_a_server_error])

            no_server_error()

        assert http.delete("/api/v1/projects/proj-q", headers=user).status_code == 403  # service tokens only
        forgot = http.delete("/api/v1/projects/proj-q", headers=svc)
        assert forgot.status_code == 200 and forgot.json()["assets"] == 3 and forgot.json()["ratings"] >= 7
        assert http.get("/api/v1/projects/proj-q/assets", headers=user).json() == []
