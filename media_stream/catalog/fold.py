"""From an outcome (ImageReady, AudioReady) to its catalog entry: a pure function, so folding the
same outcome twice writes the same entry under the same key (idempotent on the compacted topic)."""

from __future__ import annotations

from datetime import datetime, timezone

from media_stream.domain.assets import AUDIO_PART, AssetCataloged, asset_id, backend_of, catalog_key
from media_stream.domain.outcomes import AudioReady, ImageReady


def catalog_entry(outcome: ImageReady | AudioReady, now: datetime | None = None) -> AssetCataloged:
    cataloged_at = now or datetime.now(timezone.utc)
    if isinstance(outcome, ImageReady):
        source = outcome.source_request
        return AssetCataloged(
            project_id=outcome.project_id,
            asset_id=asset_id(outcome.job_id, outcome.scene_id, outcome.render_version),
            kind="image",
            job_id=outcome.job_id,
            request_id=outcome.request_id,
            render_version=outcome.render_version,
            part=outcome.scene_id,
            scene_index=outcome.scene_index,
            backend=backend_of(outcome.model),
            model=outcome.model,
            style=source.style_config.style if source is not None else None,
            seed=outcome.seed,
            prompt=outcome.prompt,
            negative_prompt=outcome.negative_prompt,
            storage_key=outcome.storage_key,
            url=outcome.url,
            sha256=outcome.sha256,
            consistency_score=outcome.consistency_score,
            character_scores=outcome.character_scores,
            storyboard=source,
            request_source=outcome.request_source,
            replay_of=outcome.replay_of,
            created_at=outcome.created_at,
            cataloged_at=cataloged_at,
        )
    if isinstance(outcome, AudioReady):
        narration, music = outcome.narration_request, outcome.music_request
        if narration is not None:
            style, prompt = None, narration.text
        elif music is not None:
            style, prompt = music.style, music.style
        else:
            style, prompt = None, ""
        return AssetCataloged(
            project_id=outcome.project_id,
            asset_id=asset_id(outcome.job_id, AUDIO_PART, outcome.render_version),
            kind=outcome.kind,
            job_id=outcome.job_id,
            request_id=outcome.request_id,
            render_version=outcome.render_version,
            part=AUDIO_PART,
            backend=backend_of(outcome.model),
            model=outcome.model,
            style=style,
            prompt=prompt,
            storage_key=outcome.storage_key,
            url=outcome.url,
            sha256=outcome.sha256,
            narration=narration,
            music=music,
            request_source=outcome.request_source,
            replay_of=outcome.replay_of,
            created_at=outcome.created_at,
            cataloged_at=cataloged_at,
        )
    raise TypeError(f"{type(outcome).__name__} is not an asset outcome")


def entry_key(entry: AssetCataloged) -> str:
    return catalog_key(entry.project_id, entry.asset_id)
