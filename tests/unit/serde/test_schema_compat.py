"""The compatibility guard passes on the repository and catches each breaking change in a temp copy."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastavro import schemaless_reader, schemaless_writer
from typer.testing import CliRunner

from media_stream.config import PROJECT_ROOT
from media_stream.serde.cli import schemas_app
from media_stream.serde.compatibility import (
    Problem,
    check_compatibility,
    check_pair,
    data_problems,
)
from media_stream.serde.schema_store import SchemaStore

CURRENT = PROJECT_ROOT / "schemas" / "media" / "v1"
RELEASED = PROJECT_ROOT / "schemas" / "released" / "media" / "v1"


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the current schemas and of the released snapshot to break."""
    current, released = tmp_path / "current", tmp_path / "released"
    shutil.copytree(CURRENT, current)
    shutil.copytree(RELEASED, released)
    return current, released


def edit(directory: Path, record: str, change: Callable[[dict], None]) -> None:
    path = directory / f"{record}.avsc"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def field(doc: dict, name: str) -> dict:
    return next(f for f in doc["fields"] if f["name"] == name)


def test_repository_is_compatible_with_its_release() -> None:
    assert check_compatibility(CURRENT, RELEASED) == []


def test_release_snapshot_holds_every_current_record() -> None:
    # Release 1: the snapshot is the current contract, so nothing is new or missing yet.
    assert sorted(p.name for p in RELEASED.glob("*.avsc")) == sorted(p.name for p in CURRENT.glob("*.avsc"))


def test_new_field_without_default_breaks_backward(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    edit(current, "ImageRequested", lambda d: d["fields"].append({"name": "upscale", "type": "int", "doc": "x"}))
    problems = check_compatibility(current, released)
    assert [(p.record, p.field, p.direction) for p in problems] == [
        ("ImageRequested", "ImageRequested.upscale", "backward")
    ]
    assert "new field needs a default" in problems[0].message
    assert str(problems[0]).startswith(
        "ImageRequested [backward] ImageRequested.upscale: the current schema has this field"
    )


def test_new_field_with_default_is_fine(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    edit(
        current,
        "ImageRequested",
        lambda d: d["fields"].append({"name": "upscale", "type": "int", "default": 1, "doc": "x"}),
    )
    edit(
        current,
        "Scene",
        lambda d: d["fields"].append({"name": "mood", "type": ["null", "string"], "default": None, "doc": "x"}),
    )
    assert check_compatibility(current, released) == []


def test_removed_field_without_default_breaks_forward(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    edit(current, "ImageReady", lambda d: d["fields"].remove(field(d, "sha256")))
    problems = check_compatibility(current, released)
    assert [(p.record, p.field, p.direction) for p in problems] == [("ImageReady", "ImageReady.sha256", "forward")]
    assert "the released schema has this field without a default" in problems[0].message


def test_removed_field_with_default_is_fine(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    edit(current, "ImageReady", lambda d: d["fields"].remove(field(d, "negativePrompt")))
    assert check_compatibility(current, released) == []


def test_changed_type_string_to_int_breaks_both_ways(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    edit(current, "JobFailed", lambda d: field(d, "reason").update(type="int"))
    problems = check_compatibility(current, released)
    assert {(p.field, p.direction) for p in problems} == {
        ("JobFailed.reason", "backward"),
        ("JobFailed.reason", "forward"),
    }
    assert all("type changed" in p.message for p in problems)


def test_change_in_a_nested_record_is_caught_in_every_record_using_it(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    edit(current, "Character", lambda d: field(d, "name").update(type="long"))
    problems = check_compatibility(current, released)
    fields = {(p.record, p.field) for p in problems}
    assert ("StoryboardRequested", "StoryboardRequested.scenes[].characters[].name") in fields
    assert ("Scene", "Scene.characters[].name") in fields
    assert ("Character", "Character.name") in fields


def test_renamed_field_without_alias_breaks_and_alias_fixes_it(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    edit(current, "SceneFailure", lambda d: field(d, "reason").update(name="why"))
    problems = check_compatibility(current, released)
    assert ("SceneFailure.why", "backward") in {(p.field, p.direction) for p in problems}
    assert ("SceneFailure.reason", "forward") in {(p.field, p.direction) for p in problems}
    assert any(p.record == "BatchCompleted" for p in problems)
    # An alias fixes reading old data; the released reader still needs the old name, so
    # full compatibility also needs the released side to know it: a rename stays a break.
    edit(current, "SceneFailure", lambda d: field(d, "why").update(aliases=["reason"]))
    remaining = check_compatibility(current, released)
    assert {p.direction for p in remaining} == {"forward"}


def test_promotion_is_backward_only(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    edit(current, "ImageReady", lambda d: field(d, "width").update(type="long"))
    problems = check_compatibility(current, released)
    assert [(p.field, p.direction) for p in problems] == [("ImageReady.width", "forward")]


def test_union_branch_changes(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    # Widening a nullable field keeps old data readable but new data may not be: forward break.
    edit(current, "ImageRequested", lambda d: field(d, "seed").update(type=["null", "long", "string"]))
    problems = check_compatibility(current, released)
    assert [(p.field, p.direction) for p in problems] == [("ImageRequested.seed", "forward")]
    assert "union branch string has no match" in problems[0].message


def test_logical_type_change_is_flagged(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    edit(
        current,
        "CancelRequested",
        lambda d: field(d, "createdAt").update(type={"type": "long", "logicalType": "timestamp-micros"}),
    )
    problems = check_compatibility(current, released)
    assert {p.direction for p in problems} == {"backward", "forward"}
    assert all("logical type changed" in p.message for p in problems)


def test_enum_rules(tmp_path: Path) -> None:
    def store(symbols: list[str], default: str | None = None) -> SchemaStore:
        folder = tmp_path / "-".join(symbols) / str(default)
        folder.mkdir(parents=True)
        enum = {"type": "enum", "name": "Kind", "symbols": symbols} | ({"default": default} if default else {})
        (folder / "E.avsc").write_text(
            json.dumps({"type": "record", "name": "E", "namespace": "t", "fields": [{"name": "k", "type": enum}]})
        )
        return SchemaStore.load(folder)

    old = store(["A", "B"]).get("E")
    grown = store(["A", "B", "C"]).get("E")
    assert [(p.field, p.direction) for p in check_pair(old, grown)] == [("E.k", "forward")]
    defaulted_old = store(["A", "B", "U"], "U").get("E")
    defaulted_new = store(["A", "B", "C", "U"], "U").get("E")
    assert check_pair(defaulted_old, defaulted_new) == []


def test_record_removed_is_a_problem_record_added_is_not(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    (current / "CancelRequested.avsc").unlink()
    shutil.copy(current / "SceneFailure.avsc", current / "Extra.avsc")
    edit(current, "Extra", lambda d: d.update(name="VideoRequested"))
    problems = check_compatibility(current, released)
    assert problems == [Problem("CancelRequested", None, "removed", problems[0].message)]
    assert "media.v1.CancelRequested is released but no longer in" in problems[0].message


def test_data_proof_agrees_with_the_rules(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    edit(current, "JobFailed", lambda d: field(d, "reason").update(type="int"))
    new, old = SchemaStore.load(current).get("JobFailed"), SchemaStore.load(released).get("JobFailed")
    found = data_problems(old, new, 16, ("released", "current"))
    assert found and "fails to read with the current one" in found[0][1]
    unchanged = SchemaStore.load(CURRENT).get("StoryboardRequested")
    assert data_problems(unchanged, unchanged, 64) == []


def test_cli_check_and_list(dirs: tuple[Path, Path]) -> None:
    current, released = dirs
    runner = CliRunner()
    ok = runner.invoke(schemas_app, ["check", "--current", str(current), "--released", str(released)])
    assert ok.exit_code == 0, ok.output
    edit(current, "JobFailed", lambda d: field(d, "reason").update(type="int"))
    bad = runner.invoke(schemas_app, ["check", "--current", str(current), "--released", str(released)])
    assert bad.exit_code == 1
    assert "JobFailed [backward] JobFailed.reason: type changed" in bad.output
    listed = runner.invoke(schemas_app, ["list", "--directory", str(CURRENT)])
    assert listed.exit_code == 0
    line = next(row for row in listed.output.splitlines() if row.startswith("ImageRequested "))
    assert SchemaStore.load(CURRENT).get("ImageRequested").fingerprint_hex in line
    assert "media.v1.ImageRequested" in line


def test_image_ready_prompt_omitted_is_a_compatible_addition() -> None:
    """ImageReady.promptOmitted (SDXL prompts cut past the CLIP windows): optional, null default.
    Rules and data both ways: new outcomes read with the released schema (the field is skipped),
    released outcomes read with the current one (the field reads as null)."""
    from tests.helpers.samples import SAMPLES

    current, released = SchemaStore.load(CURRENT).get("ImageReady"), SchemaStore.load(RELEASED).get("ImageReady")
    added = field(current.source, "promptOmitted")
    assert added["type"] == ["null", "string"] and added["default"] is None
    assert all(f["name"] != "promptOmitted" for f in released.source["fields"])
    assert check_pair(released, current) == []
    assert data_problems(current, released, 64, ("current", "released")) == []
    assert data_problems(released, current, 64, ("released", "current")) == []

    cut = {**SAMPLES["ImageReady"], "promptOmitted": "watercolor, soft light"}
    buffer = io.BytesIO()
    schemaless_writer(buffer, current.parsed, cut)
    old_reader = schemaless_reader(io.BytesIO(buffer.getvalue()), current.parsed, released.parsed)
    assert "promptOmitted" not in old_reader and old_reader["prompt"] == cut["prompt"]
    old = {k: v for k, v in SAMPLES["ImageReady"].items() if k != "promptOmitted"}
    buffer = io.BytesIO()
    schemaless_writer(buffer, released.parsed, old)
    assert schemaless_reader(io.BytesIO(buffer.getvalue()), released.parsed, current.parsed)["promptOmitted"] is None


@pytest.mark.parametrize("record", ["ImageReady", "AssetCataloged"])
def test_per_character_scores_are_a_compatible_addition(record: str) -> None:
    """characterScores (issue 16) is new in the current schemas: old readers skip it, new readers
    default it to null on old data; both ways by the rules and by data."""
    current, released = SchemaStore.load(CURRENT).get(record), SchemaStore.load(RELEASED).get(record)
    assert "characterScores" in [f["name"] for f in current.parsed["fields"]]
    assert "characterScores" not in [f["name"] for f in released.parsed["fields"]]
    assert check_pair(released, current) == []
    old_value = next(iter(__import__("media_stream.serde.compatibility", fromlist=["samples"]).samples(released.parsed, released.named_schemas, 1, 0)))
    buffer = io.BytesIO()
    schemaless_writer(buffer, released.parsed, old_value)
    read = schemaless_reader(io.BytesIO(buffer.getvalue()), released.parsed, current.parsed)
    assert read["characterScores"] is None  # old data, new reader: the default
    new_value = {**read, "characterScores": {"lea": 0.91, "fox": 0.42}}
    buffer = io.BytesIO()
    schemaless_writer(buffer, current.parsed, new_value)
    assert schemaless_reader(io.BytesIO(buffer.getvalue()), current.parsed, current.parsed)["characterScores"] == {"lea": 0.91, "fox": 0.42}
    old_read = schemaless_reader(io.BytesIO(buffer.getvalue()), current.parsed, released.parsed)
    assert "characterScores" not in old_read and old_read["jobId"] == new_value["jobId"]  # new data, old reader
