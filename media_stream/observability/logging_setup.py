"""Logs an operator can query: one JSON object per line with ts, level, logger, msg and, when the
call site gives them through ``extra=``, jobId, projectId, topic, partition and offset.

``log.info("job ended", extra=job_fields(job))`` - ``job_fields``/``message_fields`` build the
extra from a scheduler Job or a consumed message.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, Literal

CONTEXT_FIELDS = ("jobId", "projectId", "requestId", "topic", "partition", "offset", "status")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(log_format: Literal["json", "text"] = "json", level: int | str = logging.INFO, stream: Any = None) -> logging.Handler:
    """Replace the root logger's handlers with one that writes ``log_format`` to ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def message_fields(message: Any) -> dict[str, Any]:
    """``extra=`` for a consumed message: topic, partition, offset."""
    return {"topic": message.topic, "partition": message.partition, "offset": message.offset}


def job_fields(job: Any) -> dict[str, Any]:
    """``extra=`` for a scheduler Job: its ids and where its request came from."""
    request = job.request
    return {
        **message_fields(job.message),
        "jobId": request.job_id,
        "projectId": request.project_id,
        "requestId": getattr(request, "request_id", None),
    }
