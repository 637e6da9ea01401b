"""The console's page and the stored-file route, without a broker: what is served, to whom, and
that no key reaches outside a project's files."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from media_stream.config import GatewayToken, Settings
from media_stream.gateway.app import create_app
from media_stream.gateway.console_page import CONSOLE_DIR
from media_stream.storage.memory import MemoryStore

READER = "reader-token-0123456789abcdef"
WRITER = "writer-token-0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def http() -> Iterator[tuple[TestClient, MemoryStore]]:
    settings = Settings()
    settings.gateway.tokens = [
        GatewayToken(name="reader", token=READER, kind="user", scopes=["assets:read"]),
        GatewayToken(name="writer", token=WRITER, kind="user", scopes=["images:write"]),
    ]
    store = MemoryStore()
    store.put("images/proj-1/job-1/s0/1.png", PNG, "image/png", {})
    store.put("narration/proj-1/job-2/audio/1.wav", b"RIFF....WAVE", "audio/wav", {})
    store.put("images/proj-1/job-1/s1/1.png", b"<script>alert(1)</script>", "text/html", {})
    store.put("previews/style/default.png", PNG, "image/png", {})
    with TestClient(create_app(settings, "127.0.0.1:1", store=store)) as client:
        yield client, store


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_console_is_served_with_its_files_under_a_strict_policy(http: tuple[TestClient, MemoryStore]) -> None:
    client, _ = http
    for path in ("/console", "/console/"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe-inline" not in policy
        assert page.headers["x-content-type-options"] == "nosniff"
    referenced = re.findall(r'(?:src|href)="(/console/[^"]+)"', client.get("/console").text)
    assert referenced and all(client.get(ref).status_code == 200 for ref in referenced)
    script = client.get("/console/console.js")
    assert script.headers["content-type"].startswith("text/javascript")
    for missing in ("/console/nothing.js", "/console/..%2Fapp.py", "/console/%2e%2e"):
        assert client.get(missing).status_code == 404, missing


def test_no_console_script_writes_markup_and_none_is_fetched_from_elsewhere() -> None:
    scripts = {p.name: p.read_text() for p in CONSOLE_DIR.glob("*.js")}
    assert set(scripts) == {"api.js", "assets.js", "console.js"}
    for name, text in scripts.items():
        assert not re.search(r"\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|eval\(", text), name
    for path in CONSOLE_DIR.iterdir():
        assert not re.search(r"https?://", path.read_text()), f"{path.name} names a remote URL"
        assert "document.cookie" not in path.read_text() and 'credentials: "include"' not in path.read_text(), path.name


def test_stored_files_need_a_token_and_assets_read(http: tuple[TestClient, MemoryStore]) -> None:
    client, _ = http
    key = "/api/v1/files/images/proj-1/job-1/s0/1.png"
    assert client.get(key).status_code == 401
    assert client.get(key, headers=auth(WRITER)).status_code == 403
    got = client.get(key, headers=auth(READER))
    assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff" and "sandbox" in got.headers["content-security-policy"]
    audio = client.get("/api/v1/files/narration/proj-1/job-2/audio/1.wav", headers=auth(READER))
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"


def test_a_stored_type_outside_the_media_types_is_served_as_bytes(http: tuple[TestClient, MemoryStore]) -> None:
    client, _ = http
    got = client.get("/api/v1/files/images/proj-1/job-1/s1/1.png", headers=auth(READER))
    assert got.status_code == 200 and got.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    "key",
    [
        "previews/style/default.png",  # in the store, but not a project's file
        "images/../previews/style/default.png",
        "images/proj-1/..%2F..%2Fpreviews/style/default.png",
        "images/proj-1/%2e%2e/%2e%2e/previews/style/default.png",
        "images//proj-1/job-1/s0/1.png",
        "images/proj-1",
        "file:///etc/passwd",
        "images/proj-1/job-1/s0/2.png",  # valid, absent
    ],
)
def test_no_key_reaches_outside_a_projects_files(http: tuple[TestClient, MemoryStore], key: str) -> None:
    client, _ = http
    got = client.get(f"/api/v1/files/{key}", headers=auth(READER))
    assert got.status_code == 404 and got.json()["error"] == "not_found", (key, got.status_code)
