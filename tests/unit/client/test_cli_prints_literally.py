"""The CLI prints ids, keys and prompts as they are (no emoji codes, no markup read from data), and
the assets table fits 80 columns with the full values in --json. The catalog client is replaced by
a fake holding the entries: the test is about what the commands print."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from media_stream.catalog import cli as catalog_cli
from media_stream.cli import app
from media_stream.domain.assets import AssetCataloged, AssetRated
from media_stream.terminal import make_console, shorten

JOB = "job-0123456789abcdef0123"
KEY = "gw-proj/" + JOB + "/v1/a-0123456789abcdef0123456789abcdef0123456789abcdef.png"


def entry(scene: str, seed: int) -> AssetCataloged:
    return AssetCataloged(
        project_id="gw-proj", asset_id=f"{JOB}:{scene}:v1", kind="image", job_id=JOB, request_id="req-1", render_version=1,
        part=scene, backend="sdxl", model="sdxl:stabilityai/stable-diffusion-xl-base-1.0", style="watercolor", seed=seed,
        prompt="[bold]Léa[/bold] :fox: in the rain", storage_key=KEY, sha256="ab" * 32, replay_of="media.image.requested.v1/0/12345",
    )


class FakeCatalog:
    def __init__(self, entries: list[AssetCataloged]) -> None:
        self.entries = entries

    def assets(self, project: str, version: Any = None) -> list[AssetCataloged]:
        return self.entries

    def rate(self, project: str, asset: str, rating: int, rater: str, comment: Any = None) -> AssetRated:
        return AssetRated(project, asset, rating, "f" * 64, comment)

    def close(self) -> None:
        pass


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch) -> FakeCatalog:
    fake = FakeCatalog([entry("a", 2**53 - 1), entry("x", 7), entry("b", 0)])
    monkeypatch.setattr(catalog_cli, "_client", lambda bootstrap: fake)
    monkeypatch.setattr(catalog_cli, "console", make_console(soft_wrap=True, width=80))
    return fake


def test_assets_prints_the_scene_a_asset_literally_within_80_columns(catalog: FakeCatalog) -> None:
    shown = CliRunner().invoke(app, ["assets", "gw-proj"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    text = "".join(line.strip(" │|") for line in lines)
    assert "🅰" not in shown.output and "❌" not in shown.output
    flat = shown.output.replace("\n", "")
    for scene in ("a", "x", "b"):
        assert f":{scene}:v1" in flat.replace(" ", ""), shown.output  # folded at most, never rewritten
    assert str(2**53 - 1) in text.replace(" ", "")
    assert len([line for line in lines if line.strip()]) <= 3 * 3 + 6, shown.output  # no cell wraps into 4-6 lines


def test_assets_json_has_the_full_values(catalog: FakeCatalog) -> None:
    shown = CliRunner().invoke(app, ["assets", "gw-proj", "--json"])
    assert shown.exit_code == 0, shown.output
    (first, *_) = json.loads(shown.output)
    assert first["assetId"] == f"{JOB}:a:v1" and first["storageKey"] == KEY and first["prompt"].startswith("[bold]Léa[/bold] :fox:")
    assert first["seed"] == 2**53 - 1 and first["createdAt"].endswith("Z")


def test_rate_prints_the_asset_id_literally(catalog: FakeCatalog) -> None:
    shown = CliRunner().invoke(app, ["rate", "gw-proj", f"{JOB}:a:v1", "5", "--rater", "alice"])
    assert shown.exit_code == 0, shown.output
    assert f"rated {JOB}:a:v1 5/5" in shown.output and "🅰" not in shown.output


def test_error_lines_print_markup_in_data_literally(catalog: FakeCatalog) -> None:
    def broken(*_: Any) -> Any:
        from media_stream.domain.errors import MediaStreamError

        raise MediaStreamError("no asset job-1:[red]x[/red]:v1 :a:")

    catalog.assets = broken  # type: ignore[method-assign]
    shown = CliRunner().invoke(app, ["assets", "gw-proj"])
    assert shown.exit_code == 2 and "error: no asset job-1:[red]x[/red]:v1 :a:" in shown.output, shown.output


def test_shorten_keeps_head_and_tail() -> None:
    assert shorten("job-0123456789:a:v1", 40) == "job-0123456789:a:v1"
    assert shorten("abcdefghij", 5) == "ab…ij" and len(shorten(KEY, 30)) == 30
