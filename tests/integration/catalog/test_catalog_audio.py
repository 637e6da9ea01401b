"""Audio assets in the catalog, and their rerender: eSpeak NG and the procedural composer render
the cataloged request again to bitwise-equal files."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from media_stream.domain.outcomes import AudioReady
from media_stream.storage.filesystem import FilesystemStore
from tests.helpers.catalog_fixtures import CatalogEnv
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka


def test_narration_and_music_rerender_bitwise_equal(catalog_env: CatalogEnv, start_agent: Callable, start_processor: Callable) -> None:
    env, client = catalog_env, catalog_env.client
    store = FilesystemStore(env.settings.storage.root)
    start_agent(on=env.audio, medium="audio")
    start_processor(env.topics)
    narration = client.narrate("proj-aud", "Léa ouvre la porte. Le renard sourit.", voice="fr-FR-Denise", speed=1.1, job_id="job-nar")
    music = client.compose_music("proj-aud", 2.0, style="ambient", tempo=90, intensity=0.7, job_id="job-mus")
    assert isinstance(narration.wait(120), AudioReady) and isinstance(music.wait(120), AudioReady)
    v1 = wait_for("two audio assets", lambda: len(client.catalog.assets("proj-aud")) == 2 and client.catalog.assets("proj-aud"))
    by_kind = {a.kind: a for a in v1}
    assert by_kind["narration"].asset_id == "job-nar:audio:v1" and by_kind["narration"].backend == "espeak-ng"
    assert by_kind["narration"].narration.text == "Léa ouvre la porte. Le renard sourit." and by_kind["narration"].narration.speed == 1.1
    assert by_kind["music"].asset_id == "job-mus:audio:v1" and by_kind["music"].backend == "procedural"
    assert (by_kind["music"].music.tempo, by_kind["music"].music.intensity, by_kind["music"].style) == (90, 0.7, "ambient")

    handles = [client.rerender("proj-aud", a.asset_id) for a in v1]
    for handle in handles:
        assert handle.render_version == 2 and isinstance(handle.wait(120), AudioReady)
    v2 = wait_for("the rerenders cataloged", lambda: len(client.catalog.assets("proj-aud", render_version=2)) == 2 and client.catalog.assets("proj-aud", render_version=2))
    for old, new in zip(v1, v2):
        assert new.asset_id == old.asset_id.replace(":v1", ":v2") and new.replay_of == old.request_source
        assert new.storage_key != old.storage_key and store.get(new.storage_key) == store.get(old.storage_key)  # bitwise
        assert new.sha256 == old.sha256
