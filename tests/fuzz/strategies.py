"""Hypothesis strategies for request events: schema-valid values, adversarial values, and raw
byte mutations of valid encoded events.

Three families, each a strategy of *what goes on the wire*:

* ``schema_values(name)``: any dict the Avro schema of ``name`` accepts (built from the loaded
  .avsc, so a schema change changes the fuzzer), with text that includes control characters,
  NUL, non-BMP characters and very long strings;
* ``adversarial_requests()``: well-formed events whose values attack the contract: traversal
  and URL ids, huge prompts, 1x100000 images, NaN/inf guidance, too many scenes;
* ``mutated_bytes(valid)``: a valid encoded event truncated, bit-flipped, with a wrong magic, an
  unknown fingerprint, an out-of-range union branch, a huge length prefix or trailing garbage.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_writer
from hypothesis import strategies as st

from media_stream.serde.codec import EventCodec
from media_stream.serde.schema_store import CURRENT_SCHEMAS, SchemaStore, StoredSchema, load_schema_store
from media_stream.serde.single_object import MAGIC, HEADER_SIZE

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
REQUEST_NAMES = ("ImageRequested", "StoryboardRequested", "NarrationRequested", "MusicRequested", "CancelRequested")
IMAGE_REQUESTS = ("ImageRequested", "StoryboardRequested")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

TRAVERSAL_IDS = (
    "../../etc", "..", ".", "a/../b", "/etc/passwd", "/", "C:\\Windows", "..\\..\\x", "a/b",
    "http://evil.example/x", "s3://bucket/key", "file:///etc/passwd", "id\x00nul", "id\nnewline",
    "\x1b[31mred", "", " ", "a" * 129, "ü", "-leading-dash", "%2e%2e%2f", "~root", "a b",
)
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def is_safe_id(text: str) -> bool:
    """The contract's id rule, written independently of the code under test."""
    return bool(_SAFE_ID.fullmatch(text)) and ".." not in text


def is_safe_reference(text: str) -> bool:
    """A key in our own storage: '/'-separated safe ids."""
    return all(is_safe_id(part) for part in text.split("/"))


BAD_FLOATS = (math.nan, math.inf, -math.inf, -1.0, 1e308, -0.0, 31.0, 5e-324)
# Text the agent must survive: control characters, NUL, lone surrogates are not encodable as
# UTF-8 so Avro cannot carry them; everything else may turn up.
TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=("Cs",)), max_size=40)


def schema_store() -> SchemaStore:
    return load_schema_store(SCHEMAS_DIR / CURRENT_SCHEMAS)


def codec() -> EventCodec:
    released = SCHEMAS_DIR / "released" / "media" / "v1"
    return EventCodec(schema_store(), readable=(load_schema_store(released),) if released.is_dir() else ())


# ---- schema-valid values -----------------------------------------------------------------


def schema_values(stored: StoredSchema, depth_limit: int = 4) -> st.SearchStrategy[dict[str, Any]]:
    """Any value of ``stored``'s record that the Avro schema accepts."""
    return _strategy(stored.parsed, stored.named_schemas, 0, depth_limit)


def _strategy(schema: Any, named: Mapping[str, Any], depth: int, limit: int) -> st.SearchStrategy[Any]:
    if isinstance(schema, str):
        if schema in named:
            return _strategy(named[schema], named, depth, limit)
        return _primitive(schema)
    if isinstance(schema, list):
        branches = [b for b in schema if not (depth >= limit and b != "null")] if "null" in schema and depth >= limit else schema
        return st.one_of(*[_strategy(b, named, depth + 1, limit) for b in branches])
    kind = schema["type"]
    if isinstance(kind, (dict, list)) or kind in named:
        return _strategy(kind, named, depth, limit)
    logical = schema.get("logicalType")
    if logical == "timestamp-millis":
        return st.integers(0, 253402300799999).map(lambda ms: _EPOCH + dt.timedelta(milliseconds=ms))
    if kind in ("record", "error"):
        return st.fixed_dictionaries({f["name"]: _strategy(f["type"], named, depth + 1, limit) for f in schema["fields"]})
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(_strategy(schema["items"], named, depth + 1, limit), max_size=0 if depth >= limit else 4)
    if kind == "map":
        return st.dictionaries(TEXT, _strategy(schema["values"], named, depth + 1, limit), max_size=3)
    if kind == "fixed":
        return st.binary(min_size=schema["size"], max_size=schema["size"])
    return _primitive(kind)


def _primitive(kind: str) -> st.SearchStrategy[Any]:
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "float": st.floats(width=32),
        "double": st.floats(),
        "bytes": st.binary(max_size=32),
        "string": TEXT,
    }[kind]


# ---- adversarial values in well-formed events ----------------------------------------------


def good_image(job: str, project: str) -> dict[str, Any]:
    """A valid ImageRequested record (small, fast to render with the preview renderer)."""
    return {
        "requestId": f"req-{job}", "jobId": job, "projectId": project, "createdAt": _EPOCH,
        "renderVersion": 1, "prompt": f"a lighthouse {job}", "negativePrompt": None, "style": "default",
        "width": 64, "height": 64, "steps": 2, "guidance": 7.5, "seed": 1, "sceneId": None,
        "controlImage": None, "controlScale": None,
    }


def _storyboard(job: str, project: str, scenes: list[dict[str, Any]], **style: Any) -> dict[str, Any]:
    config = {"style": "default", "negativePrompt": None, "width": 64, "height": 64, "steps": 2, "guidance": 7.5, "seed": 1}
    config.update(style)
    return {
        "requestId": f"req-{job}", "jobId": job, "projectId": project, "createdAt": _EPOCH, "renderVersion": 1,
        "scenes": scenes, "styleConfig": config, "consistencyMode": False,
    }


def _scene(scene_id: str = "s0", prompt: str = "p", **extra: Any) -> dict[str, Any]:
    return {"sceneId": scene_id, "prompt": prompt, "characters": [], "controlImage": None, "controlScale": None, **extra}


@st.composite
def adversarial_requests(draw: st.DrawFn, job: str, project: str) -> tuple[str, dict[str, Any]]:
    """(record name, value): a well-formed image request that breaks one rule of the contract.

    ``job`` and ``project`` are valid ids unless the attack is on an id."""
    attack = draw(st.sampled_from(ATTACKS))
    return attack(draw, job, project)


def _id_attack(draw: st.DrawFn, job: str, project: str) -> tuple[str, dict[str, Any]]:
    value = good_image(job, project)
    field = draw(st.sampled_from(("requestId", "jobId", "projectId", "sceneId", "controlImage")))
    safe = is_safe_reference if field == "controlImage" else is_safe_id
    value[field] = draw((st.sampled_from(TRAVERSAL_IDS) | TEXT).filter(lambda s: not safe(s)))
    return "ImageRequested", value


def _huge_prompt(draw: st.DrawFn, job: str, project: str) -> tuple[str, dict[str, Any]]:
    value = good_image(job, project)
    value["prompt"] = draw(st.sampled_from(("x", "λ", "🦊", "\x00"))) * draw(st.sampled_from((2001, 50_000, 200_000)))
    return "ImageRequested", value


def _bad_size(draw: st.DrawFn, job: str, project: str) -> tuple[str, dict[str, Any]]:
    value = good_image(job, project)
    value["width"], value["height"] = draw(st.sampled_from(((1, 100_000), (100_000, 1), (0, 0), (-8, 64), (63, 64), (4096, 4096), (2**31 - 1, 8))))
    return "ImageRequested", value


def _bad_float(draw: st.DrawFn, job: str, project: str) -> tuple[str, dict[str, Any]]:
    value = good_image(job, project)
    field = draw(st.sampled_from(("guidance", "controlScale")))
    value[field] = draw(st.sampled_from([f for f in BAD_FLOATS if not (0 <= f <= (30 if field == "guidance" else 2))]))
    return "ImageRequested", value


def _bad_numbers(draw: st.DrawFn, job: str, project: str) -> tuple[str, dict[str, Any]]:
    value = good_image(job, project)
    field, bad = draw(st.sampled_from((("steps", 0), ("steps", 151), ("steps", -(2**31)), ("seed", -1), ("renderVersion", 0), ("renderVersion", -5), ("style", "no-such-style"), ("prompt", "   "))))
    value[field] = bad
    return "ImageRequested", value


def _storyboard_attack(draw: st.DrawFn, job: str, project: str) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(("none", "too-many", "duplicate", "traversal-scene", "character-url", "nan-scale", "huge-size")))
    if kind == "none":
        return "StoryboardRequested", _storyboard(job, project, [])
    if kind == "too-many":
        return "StoryboardRequested", _storyboard(job, project, [_scene(f"s{i}") for i in range(201)])
    if kind == "duplicate":
        return "StoryboardRequested", _storyboard(job, project, [_scene("s0"), _scene("s0")])
    if kind == "traversal-scene":
        return "StoryboardRequested", _storyboard(job, project, [_scene(draw(st.sampled_from(TRAVERSAL_IDS).filter(lambda s: not is_safe_id(s))))])
    if kind == "character-url":
        character = {"characterId": "c1", "name": "Ann", "description": "", "referenceImage": draw(st.sampled_from(TRAVERSAL_IDS).filter(lambda s: not is_safe_reference(s)))}
        return "StoryboardRequested", _storyboard(job, project, [_scene(characters=[character])])
    if kind == "nan-scale":
        return "StoryboardRequested", _storyboard(job, project, [_scene(controlImage="inputs/x.png", controlScale=math.nan)])
    return "StoryboardRequested", _storyboard(job, project, [_scene()], width=1, height=100_000, guidance=math.inf)


ATTACKS = (_id_attack, _huge_prompt, _bad_size, _bad_float, _bad_numbers, _storyboard_attack)


# ---- raw byte mutations ------------------------------------------------------------------


def _zigzag(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        byte = z & 0x7F
        z >>= 7
        if z:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def unknown_union_branch(stored: StoredSchema, value: dict[str, Any], field: str, branch: int) -> bytes:
    """``value`` framed with ``stored``'s fingerprint but with union ``field`` written as branch ``branch``
    (beyond the schema's branches): a writer with a wider union than any reader knows."""
    source = json.loads(stored.resolved_json)
    for f in source["fields"]:
        if f["name"] == field:
            known = list(f["type"])
            fillers = [t for t in ("boolean", "int", "long", "float", "double", "string") if t not in known]
            f["type"] = known + fillers[: branch - len(known)] + ["bytes"]  # bytes fits no other branch
            assert len(f["type"]) == branch + 1, f"cannot put a branch at index {branch} of {field}"
            value = dict(value, **{field: b"unknown branch"})
    wider = parse_schema(source)
    out = io.BytesIO()
    schemaless_writer(out, wider, value)
    return MAGIC + stored.fingerprint + out.getvalue()


@st.composite
def mutated_bytes(draw: st.DrawFn, valid: bytes) -> tuple[str, bytes]:
    """(mutation name, bytes) of a valid single-object event ``valid``."""
    body_start = HEADER_SIZE
    kind = draw(st.sampled_from(MUTATIONS))
    if kind == "truncated":
        return kind, valid[: draw(st.integers(0, len(valid) - 1))]
    if kind == "flipped":
        data = bytearray(valid)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        return kind, bytes(data)
    if kind == "wrong-magic":
        magic = draw(st.sampled_from((b"\x00", b"\xc3\x00", b"\xff\xff", b"{\"", b"\x01")))
        return kind, magic + valid[2:]
    if kind == "unknown-fingerprint":
        return kind, MAGIC + draw(st.binary(min_size=8, max_size=8)) + valid[body_start:]
    if kind == "huge-length":
        # the first field (requestId, a string) claims an enormous length
        length = draw(st.sampled_from((2**31, 2**62, 2**63 - 1, -1, -(2**40))))
        return kind, valid[:body_start] + _zigzag(length) + valid[body_start + 1 :]
    if kind == "trailing":
        return kind, valid + draw(st.binary(min_size=1, max_size=16))
    if kind == "random":
        return kind, draw(st.binary(max_size=64))
    if kind == "registry-framed":
        return kind, b"\x00" + draw(st.binary(min_size=4, max_size=4)) + valid[body_start:]
    return kind, b""  # "empty"


MUTATIONS = ("truncated", "flipped", "wrong-magic", "unknown-fingerprint", "huge-length", "trailing", "random", "registry-framed", "empty")
