"""The catalog view: the compacted assets and ratings topics materialized in a local SQLite file.

Like the job-status view (``state/status_view.py``): a query first catches up from the positions
stored with the rows, then answers from indexed tables. Tombstones delete rows. The file can be
deleted at any time: it is rebuilt from the topics.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from media_stream.catalog.quality import ConsistencyFact, RatingFact
from media_stream.catalog.topics import CatalogTopics
from media_stream.config import Settings
from media_stream.domain.assets import AssetCataloged, AssetRated
from media_stream.domain.errors import MediaStreamError
from media_stream.domain.records import from_record
from media_stream.kafka.messages import ConsumedMessage
from media_stream.serde.codec import EventCodec
from media_stream.state.topic_view import POSITIONS_TABLE, catch_up

SCHEMA = """
CREATE TABLE IF NOT EXISTS assets (
    key TEXT PRIMARY KEY, project_id TEXT, asset_id TEXT, kind TEXT, job_id TEXT, part TEXT,
    scene_index INTEGER, render_version INTEGER, backend TEXT, model TEXT, style TEXT,
    consistency REAL, storage_key TEXT, value BLOB
);
CREATE INDEX IF NOT EXISTS assets_by_project ON assets (project_id, render_version);
CREATE TABLE IF NOT EXISTS ratings (
    key TEXT PRIMARY KEY, project_id TEXT, asset_id TEXT, rating INTEGER, rater TEXT, comment TEXT, rated_ms INTEGER
);
CREATE INDEX IF NOT EXISTS ratings_by_project ON ratings (project_id, asset_id);
""" + POSITIONS_TABLE


class CatalogView:
    def __init__(self, path: Path, settings: Settings, topics: CatalogTopics, bootstrap: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.executescript(SCHEMA)
        self.settings = settings
        self.topics = topics
        self.bootstrap = bootstrap
        self.codec = EventCodec.from_settings(settings)
        self._lock = threading.Lock()  # one catch-up at a time (the gateway shares one view)

    def catch_up(self, timeout_s: float = 30.0) -> int:
        """Apply what both topics hold beyond the stored positions; returns messages applied."""
        with self._lock:
            return catch_up(self.db, self.settings, self.bootstrap, [self.topics.assets, self.topics.asset_ratings], self._apply, timeout_s, "catalog topics")

    def _apply(self, topic: str, message: ConsumedMessage) -> int:
        key = (message.key or b"").decode()
        return self._apply_asset(key, message.value) if topic == self.topics.assets else self._apply_rating(key, message.value)

    def _decode(self, cls: type, value: bytes):  # noqa: ANN202
        try:
            decoded = self.codec.decode(value)
        except MediaStreamError:
            return None
        return from_record(cls, decoded.value) if decoded.record_name == cls.__name__ else None

    def _apply_asset(self, key: str, value: bytes | None) -> int:
        if value is None:
            self.db.execute("DELETE FROM assets WHERE key = ?", (key,))
            return 1
        entry: AssetCataloged | None = self._decode(AssetCataloged, value)
        if entry is None:
            return 0
        self.db.execute(
            "INSERT OR REPLACE INTO assets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, entry.project_id, entry.asset_id, entry.kind, entry.job_id, entry.part, entry.scene_index,
             entry.render_version, entry.backend, entry.model, entry.style, entry.consistency_score,
             entry.storage_key, value),
        )  # fmt: skip
        return 1

    def _apply_rating(self, key: str, value: bytes | None) -> int:
        if value is None:
            self.db.execute("DELETE FROM ratings WHERE key = ?", (key,))
            return 1
        rated: AssetRated | None = self._decode(AssetRated, value)
        if rated is None:
            return 0
        self.db.execute(
            "INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, rated.project_id, rated.asset_id, rated.rating, rated.rater_id, rated.comment,
             int(rated.rated_at.timestamp() * 1000)),
        )  # fmt: skip
        return 1

    # -- queries (no catch-up: call catch_up first) ------------------------------------------------
    def assets(self, project_id: str, render_version: int | None = None) -> list[AssetCataloged]:
        """The project's assets (latest entry per asset and render version), by job, scene, version."""
        sql = "SELECT value FROM assets WHERE project_id = ?"
        args: list = [project_id]
        if render_version is not None:
            sql += " AND render_version = ?"
            args.append(render_version)
        sql += " ORDER BY job_id, scene_index, part, render_version"
        return [e for (value,) in self.db.execute(sql, args) if (e := self._decode(AssetCataloged, value)) is not None]

    def projects(self) -> list[tuple[str, int]]:
        """(projectId, number of assets) of every project in the catalog, by id."""
        return list(self.db.execute("SELECT project_id, COUNT(*) FROM assets GROUP BY project_id ORDER BY project_id"))

    def asset(self, project_id: str, asset_id: str) -> AssetCataloged | None:
        row = self.db.execute("SELECT value FROM assets WHERE project_id = ? AND asset_id = ?", (project_id, asset_id)).fetchone()
        return self._decode(AssetCataloged, row[0]) if row else None

    def versions_of_job(self, project_id: str, job_id: str) -> list[int]:
        rows = self.db.execute("SELECT DISTINCT render_version FROM assets WHERE project_id = ? AND job_id = ?", (project_id, job_id))
        return sorted(v for (v,) in rows)

    def asset_keys(self, project_id: str) -> list[tuple[str, str]]:
        """(message key, storage key) of every asset of the project."""
        return list(self.db.execute("SELECT key, storage_key FROM assets WHERE project_id = ? ORDER BY key", (project_id,)))

    def rating_keys(self, project_id: str) -> list[str]:
        return [k for (k,) in self.db.execute("SELECT key FROM ratings WHERE project_id = ? ORDER BY key", (project_id,))]

    def ratings(self, project_id: str, asset_id: str | None = None) -> list[tuple[str, int, str, str | None, int]]:
        """(assetId, rating, rater hash, comment, ratedMs) of a project (or one asset)."""
        sql = "SELECT asset_id, rating, rater, comment, rated_ms FROM ratings WHERE project_id = ?"
        args = [project_id] + ([asset_id] if asset_id else [])
        return list(self.db.execute(sql + (" AND asset_id = ?" if asset_id else "") + " ORDER BY rated_ms", args))

    def rating_facts(self) -> list[RatingFact]:
        """Every rating joined with its asset (LEFT JOIN: an asset not cataloged yet is 'unknown')."""
        rows = self.db.execute(
            "SELECT r.project_id, r.asset_id, r.rating, r.rated_ms, a.style, a.backend, a.model, a.render_version "
            "FROM ratings r LEFT JOIN assets a ON a.project_id = r.project_id AND a.asset_id = r.asset_id"
        )
        return [
            RatingFact(p, asset, rating, ms, style or "unknown", backend or "unknown", model or "unknown", version or 0)
            for p, asset, rating, ms, style, backend, model, version in rows
        ]

    def consistency_facts(self, project_id: str | None = None) -> list[ConsistencyFact]:
        """Scored images; each with its per-character scores (read from the stored entry)."""
        sql = "SELECT project_id, style, model, consistency, value FROM assets WHERE kind = 'image' AND consistency IS NOT NULL"
        args = []
        if project_id is not None:
            sql += " AND project_id = ?"
            args.append(project_id)
        facts = []
        for p, s, m, c, value in self.db.execute(sql, args):
            entry: AssetCataloged | None = self._decode(AssetCataloged, value)
            characters = tuple(sorted((entry.character_scores or {}).items())) if entry is not None else ()
            facts.append(ConsistencyFact(p, s or "unknown", m or "unknown", c, characters))
        return facts

    def close(self) -> None:
        self.db.close()
