"""Values as JSON that every language reads alike: the one home of the JSON time format.

- times: RFC 3339 in UTC with ``Z`` and milliseconds (``2026-12-01T18:47:50.613Z``), the
  precision of the events' ``timestamp-millis``; a naive time is taken as UTC;
- bytes: base64 (standard alphabet, padded);
- integers pass as they are: the contract keeps them within 0..2^53-1 where a client may read
  them back (seeds, ``media_stream.domain.limits.MAX_SEED``), so ``JSON.parse`` loses no digit.

``json_value(obj)`` converts a record (``to_record``) or any nest of dicts, lists, tuples;
``dumps`` is ``json.dumps`` over it.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timezone
from typing import Any


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 with ``Z`` and milliseconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def json_value(obj: Any) -> Any:
    """``obj`` with every datetime as ``rfc3339`` and every bytes as base64 (dicts, lists, tuples walked)."""
    if isinstance(obj, datetime):
        return rfc3339(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(obj)).decode("ascii")
    if isinstance(obj, dict):
        return {str(k): json_value(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_value(v) for v in obj]
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    return json.dumps(json_value(obj), **kwargs)
