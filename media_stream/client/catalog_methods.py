"""The SDK's catalog calls (media_stream/catalog): assets, ratings, quality, rerender, forget.

Mixed into ``MediaStreamClient``, which provides ``settings``, ``bootstrap``, ``_overrides``,
``_catalog`` and ``submit``.
"""

from __future__ import annotations

from typing import Any


class CatalogMethods:
    settings: Any
    bootstrap: str | None
    _overrides: dict[str, str]
    _catalog: Any

    def submit(self, request: Any, headers: tuple[tuple[str, bytes], ...] = ()) -> Any:  # provided by the client
        raise NotImplementedError

    @property
    def catalog(self) -> Any:
        """The catalog client (assets view, ratings, rerender, forget), built on first use."""
        if self._catalog is None:
            from media_stream.catalog.client import CatalogClient

            self._catalog = CatalogClient(self.settings, self.bootstrap, self._overrides)
        return self._catalog

    def assets(self, project_id: str, version: int | None = None) -> list[Any]:
        """The project's cataloged assets (AssetCataloged, with lineage), of one render version if given."""
        return self.catalog.assets(project_id, version)

    def rate(self, project_id: str, asset_id: str, rating: int, rater_id: str, comment: str | None = None, rated_at: Any = None) -> Any:
        """Publish an AssetRated (1..5); the rater id is stored as a keyed hash."""
        return self.catalog.rate(project_id, asset_id, rating, rater_id, comment, rated_at)

    def quality(self, now: Any = None) -> list[Any]:
        """Mean, count and share >= 4 per style, backend, model and render version (day, week, all time)."""
        return self.catalog.quality(now)

    def consistency(self, project_id: str | None = None, threshold: float | None = None) -> list[Any]:
        """Share of scored images at or above the threshold (default worker.sdxl.consistency_threshold),
        per project, style and model."""
        return self.catalog.consistency(project_id, threshold)

    def rerender(self, project_id: str, asset_id: str, render_version: int | None = None) -> Any:
        """Publish the asset's exact request again under a new render version; returns its handle."""
        request, source = self.catalog.rerender_request(project_id, asset_id, render_version)
        return self.submit(request, headers=(("replay-of", source.encode()),) if source else ())

    def forget_project(self, project_id: str) -> Any:
        """Tombstone the project's catalog entries and ratings and delete its stored files."""
        return self.catalog.forget_project(project_id)
