"""The job-status view: the compacted status topic materialized in a local SQLite file.

A query first catches up from the offsets stored with the rows (usually a handful of new
messages), then answers from an indexed table, so `media-stream status JOB` takes milliseconds
however long the topic is. The file can be deleted at any time: it is rebuilt from the topic.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from media_stream.config import Settings
from media_stream.domain.errors import MediaStreamError
from media_stream.domain.outcomes import JobStatusChanged
from media_stream.domain.records import from_record
from media_stream.serde.codec import EventCodec
from media_stream.state.topic_view import POSITIONS_TABLE, catch_up, views_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS status (
    job_id TEXT PRIMARY KEY, project_id TEXT, request_id TEXT, status TEXT, progress REAL,
    error TEXT, render_version INTEGER, updated_ms INTEGER
);
CREATE INDEX IF NOT EXISTS status_by_project ON status (project_id, updated_ms);
""" + POSITIONS_TABLE


@dataclass(frozen=True)
class StatusRow:
    job_id: str
    project_id: str
    request_id: str | None
    status: str
    progress: float | None
    error: str | None
    render_version: int
    updated_ms: int


class StatusView:
    def __init__(self, path: Path, settings: Settings, topic: str, bootstrap: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.executescript(SCHEMA)
        self.settings = settings
        self.topic = topic
        self.bootstrap = bootstrap
        self.codec = EventCodec.from_settings(settings)

    @staticmethod
    def default_path(settings: Settings, topic: str) -> Path:
        """The view's file: ``gateway.status_view_path`` when set, else ``<views>/<topic>.sqlite``
        (the CLI, the SDK and the gateway all read the same file)."""
        return settings.gateway.status_view_path or views_dir(settings) / f"{topic}.sqlite"

    def catch_up(self, timeout_s: float = 30.0) -> int:
        """Apply what the topic holds beyond the stored positions; returns messages applied."""
        return catch_up(self.db, self.settings, self.bootstrap, [self.topic], lambda _topic, message: self._apply(message.value), timeout_s, "status topic")

    def _apply(self, value: bytes | None) -> int:
        if value is None:
            return 0
        try:
            event = from_record(JobStatusChanged, self.codec.decode(value).value)
        except (MediaStreamError, TypeError, KeyError):
            return 0
        self.db.execute(
            "INSERT OR REPLACE INTO status VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (event.job_id, event.project_id, event.request_id, event.status, event.progress, event.error,
             event.render_version, int(event.updated_at.timestamp() * 1000)),
        )
        return 1

    def get(self, job_id: str) -> StatusRow | None:
        row = self.db.execute("SELECT * FROM status WHERE job_id = ?", (job_id,)).fetchone()
        return StatusRow(*row) if row else None

    def jobs_of(self, project_id: str, limit: int = 200) -> list[StatusRow]:
        """The project's jobs, latest update first (at most ``limit``)."""
        rows = self.db.execute("SELECT * FROM status WHERE project_id = ? ORDER BY updated_ms DESC LIMIT ?", (project_id, limit))
        return [StatusRow(*row) for row in rows]

    def projects(self) -> list[str]:
        """Every project with a job in the view, by id."""
        return [p for (p,) in self.db.execute("SELECT DISTINCT project_id FROM status ORDER BY project_id")]

    def query(self, job_id: str) -> tuple[StatusRow | None, float]:
        """Catch up, then look up; returns the row and the milliseconds the lookup took."""
        self.catch_up()
        started = time.perf_counter()
        row = self.get(job_id)
        return row, (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.db.close()
