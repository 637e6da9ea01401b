"""Gateway auth, body limits and validation: 401, 403, 413, 422, and none of them publishes."""

from __future__ import annotations

import itertools

import pytest

from tests.integration.gateway.conftest import READER, SERVICE, USER, Gateway, bearer

pytestmark = pytest.mark.kafka
IMAGE = {"projectId": "proj-auth", "prompt": "a fox", "width": 64, "height": 64, "steps": 5}


def test_health_needs_no_token(gateway: Gateway) -> None:
    answer = gateway.http.get("/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


API_ROUTES = [
    ("post", "/api/v1/images/generate"),
    ("post", "/api/v1/images/batch-generate"),
    ("get", "/api/v1/images/status/job-1"),
    ("post", "/api/v1/images/cancel/job-1"),
    ("post", "/api/v1/audio/narration"),
    ("post", "/api/v1/audio/music"),
    ("get", "/api/v1/audio/voices"),
    ("get", "/api/v1/audio/status/job-1"),
    ("get", "/api/v1/styles/"),
    ("get", "/api/v1/styles/watercolor"),
    ("get", "/api/v1/styles/watercolor/preview"),
    ("get", "/api/v1/models/"),
    ("get", "/api/v1/jobs/job-1/events"),
]


def test_every_api_route_answers_401_without_a_valid_token(gateway: Gateway) -> None:
    served = set(gateway.http.app.openapi()["paths"])
    assert {path.replace("job-1", "{job_id}").replace("watercolor", "{style_id}").rstrip("/") for _, path in API_ROUTES} <= served
    for (method, path), headers in itertools.product(API_ROUTES, ({}, bearer("not-a-configured-token"), {"Authorization": "Basic dXNlcjpwYXNz"}, bearer(USER[:-1]))):
        answer = getattr(gateway.http, method)(path, headers=headers, **({"json": IMAGE} if method == "post" else {}))
        assert answer.status_code == 401, (path, headers, answer.text)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        body = answer.json()
        assert body["error"] == "unauthorized" and "token" in body["message"]
        assert USER not in answer.text and "not-a-configured-token" not in answer.text


def test_user_token_on_a_service_route_is_403_and_publishes_nothing(gateway: Gateway) -> None:
    cancel = gateway.http.post("/api/v1/images/cancel/job-1", json={"projectId": "proj-auth"}, headers=bearer(USER))
    assert cancel.status_code == 403
    assert cancel.json() == {"error": "forbidden", "message": "this route needs a service token; 'alice' is a user token"}
    models = gateway.http.get("/api/v1/models/", headers=bearer(USER))
    assert models.status_code == 403 and "service" in models.json()["message"]
    assert gateway.events_on(gateway.routes.control) == []


def test_missing_scope_is_403(gateway: Gateway) -> None:
    write = gateway.http.post("/api/v1/images/generate", json=IMAGE, headers=bearer(READER))
    assert write.status_code == 403
    assert write.json()["message"] == "the token 'viewer' lacks the scope 'images:write'"
    assert gateway.http.get("/api/v1/audio/voices", headers=bearer(READER)).status_code == 403
    assert gateway.http.get("/api/v1/jobs/job-1/events", headers=bearer(READER)).status_code == 403
    assert gateway.http.get("/api/v1/styles/", headers=bearer(READER)).status_code == 200  # images:read suffices
    assert gateway.events_on(gateway.routes.requests) == []


def test_a_body_over_the_limit_is_413(gateway: Gateway) -> None:
    huge = {**IMAGE, "prompt": "x" * (gateway.settings.gateway.max_body_bytes + 10)}
    answer = gateway.http.post("/api/v1/images/generate", json=huge, headers=bearer(USER))
    assert answer.status_code == 413 and answer.json()["error"] == "payload_too_large"

    def chunks():  # no Content-Length: the counted bytes decide
        for _ in range(80):
            yield b"x" * 1024

    streamed = gateway.http.post("/api/v1/audio/narration", content=chunks(), headers={**bearer(USER), "Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert gateway.events_on(gateway.routes.requests) == [] and gateway.events_on(gateway.audio_routes.requests) == []


INVALID = [
    ("/api/v1/images/generate", {**IMAGE, "width": 1001}, "width"),  # the domain limit: a multiple of 8
    ("/api/v1/images/generate", {**IMAGE, "steps": 500}, "steps"),
    ("/api/v1/images/generate", {**IMAGE, "style": "no-such-style"}, "style"),
    ("/api/v1/images/generate", {**IMAGE, "projectId": "../etc"}, "projectId"),
    ("/api/v1/images/generate", {**IMAGE, "width": "wide"}, "width"),  # the shape: pydantic
    ("/api/v1/images/generate", {"projectId": "p"}, "prompt"),
    ("/api/v1/images/generate", {**IMAGE, "upscale": 2}, "upscale"),
    ("/api/v1/images/batch-generate", {"projectId": "p", "scenes": []}, "scenes"),
    ("/api/v1/images/batch-generate", {"projectId": "p", "scenes": [{"sceneId": "s1", "prompt": " "}]}, "scenes[0].prompt"),
    ("/api/v1/images/batch-generate", {"projectId": "p", "scenes": [{"sceneId": "s1", "prompt": "a"}], "styleConfig": {"height": 4096}}, "styleConfig.height"),
    ("/api/v1/audio/narration", {"projectId": "p", "text": "bonjour", "voice": "xx-XX-Nobody"}, "voice"),
    ("/api/v1/audio/narration", {"projectId": "p", "text": "bonjour", "speed": 9}, "speed"),
    ("/api/v1/audio/music", {"projectId": "p", "durationSeconds": 0.1}, "durationSeconds"),
    ("/api/v1/audio/music", {"projectId": "p", "tempo": 1000}, "tempo"),
]


def test_validation_is_422_naming_the_field(gateway: Gateway) -> None:
    for path, body, field in INVALID:
        answer = gateway.http.post(path, json=body, headers=bearer(SERVICE))
        assert answer.status_code == 422, (path, body, answer.text)
        payload = answer.json()
        assert payload["error"] == "validation_error" and payload["field"] == field, payload
        assert payload["detail"] and payload["message"]
    assert gateway.events_on(gateway.routes.requests) == [] and gateway.events_on(gateway.audio_routes.requests) == []
