"""The Avro specification's fingerprint and Parsing Canonical Form, written independently of the
schema store (so tests of the store compare against code that shares nothing with it)."""

from __future__ import annotations

import json
from pathlib import Path

from media_stream.config import PROJECT_ROOT

SCHEMAS = PROJECT_ROOT / "schemas" / "media" / "v1"
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


# An independent CRC-64-AVRO, written from the pseudocode of the Avro specification
# ("Schema Fingerprints"): EMPTY = 0xc15d213aa4d7a795, table built by 8 shifts per byte.
EMPTY = 0xC15D213AA4D7A795
TABLE = []
for i in range(256):
    fp = i
    for _ in range(8):
        fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
    TABLE.append(fp)


def rabin(data: bytes) -> int:
    fp = EMPTY
    for byte in data:
        fp = (fp >> 8) ^ TABLE[(fp ^ byte) & 0xFF]
    return fp


def independent_canonical_form(name: str, directory: Path = SCHEMAS) -> str:
    """Parsing Canonical Form from the raw .avsc files, by the spec's rules, sharing no code with the store."""
    raw = {}
    for path in directory.glob("*.avsc"):
        doc = json.loads(path.read_text())
        raw[f"{doc['namespace']}.{doc['name']}" if "." not in doc["name"] else doc["name"]] = doc
    seen: set[str] = set()

    def full(n: str, ns: str | None) -> str:
        return n if "." in n or not ns else f"{ns}.{n}"

    def pcf(s, ns):
        if isinstance(s, str):
            if s in PRIMITIVES:
                return json.dumps(s)
            fn = full(s, ns)
            return json.dumps(fn) if fn in seen else pcf(raw[fn], None)
        if isinstance(s, list):
            return "[" + ",".join(pcf(b, ns) for b in s) + "]"
        t = s["type"]
        if t in PRIMITIVES:
            return json.dumps(t)  # [PRIMITIVES]: logicalType and the rest are stripped
        if t == "array":
            return '{"type":"array","items":' + pcf(s["items"], ns) + "}"
        if t == "map":
            return '{"type":"map","values":' + pcf(s["values"], ns) + "}"
        fn = full(s["name"], s.get("namespace", ns))
        if fn in seen:
            return json.dumps(fn)
        seen.add(fn)
        inner = fn.rsplit(".", 1)[0]
        if t == "record":
            fields = ",".join(
                '{"name":' + json.dumps(f["name"]) + ',"type":' + pcf(f["type"], inner) + "}" for f in s["fields"]
            )
            return '{"name":' + json.dumps(fn) + ',"type":"record","fields":[' + fields + "]}"
        if t == "enum":
            return (
                '{"name":'
                + json.dumps(fn)
                + ',"type":"enum","symbols":'
                + json.dumps(s["symbols"], separators=(",", ":"))
                + "}"
            )
        if t == "fixed":
            return '{"name":' + json.dumps(fn) + ',"type":"fixed","size":' + str(s["size"]) + "}"
        return pcf(t, ns)

    return pcf(raw[name], None)
