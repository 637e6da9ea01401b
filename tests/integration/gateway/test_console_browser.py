"""The console in a real browser (headless Chromium from Debian's package, driven by Playwright)
against the real broker, an image agent, the catalog processor and the gateway under uvicorn:
a storyboard published from the page fills its contact sheet live, a rating from the page is an
AssetRated on its topic, a rerender adds the next version, a cancel from the page stops a running
job and the page says so, a failed scene shows its reason, and music published by another client
appears in the open project with a player that decodes it.

The browser is not optional here: when Chromium cannot start the test fails, naming the fix.
``MEDIA_STREAM_CONSOLE_SCREENSHOT=docs/console.png`` keeps the final screenshot there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from media_stream.domain.assets import AssetRated, hash_rater
from media_stream.domain.outcomes import AudioReady, ImageReady
from tests.helpers.catalog_fixtures import RATER_KEY
from tests.integration.gateway.conftest import OPERATOR, PROJECT, ConsoleEnv, bearer

pytestmark = pytest.mark.kafka

CHROMIUM = os.environ.get("MEDIA_STREAM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCENES = ["a red fox in fresh snow", "the fox finds a lantern", "a lighthouse at dusk", 'the fox asleep <img src=x onerror="window.pwned=1">']
SLOW_SCENES = [f"slow=3 a long night, hour {n}" for n in range(12)]  # 36 s in all: a cancel has time to land
WAIT_MS = 120_000


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Chromium (the system's), or a failure that says how to get it: never a skip."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the dev group has it
        pytest.fail(f"playwright is not installed ({exc}): it is in the dev dependency group; run scripts/bootstrap")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000)
    except Exception as exc:  # noqa: BLE001 - any launch failure is the same failure for this test
        playwright.stop()
        pytest.fail(f"headless Chromium did not start from {CHROMIUM}: {exc}\nInstall it with scripts/install-chromium (apt-get install -y chromium, as root).")
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


def test_console_shows_a_storyboard_live_rates_it_and_cancels_a_running_job(console_env: ConsoleEnv, browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # generous: two shared cores run broker, agents, gateway and browser
    env = console_env
    page = browser.new_page(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.on("console", lambda message: page_errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{env.url}/console")
    page.fill("#token", OPERATOR)
    page.click("#token-save")
    expect(page.get_by_test_id("token-state")).to_have_text("token set (this tab only)")
    assert page.evaluate("document.cookie") == ""  # the token lives in sessionStorage only
    assert page.evaluate("Object.values(sessionStorage)") == [OPERATOR]
    expect(page.locator("#style option[value=watercolor]")).to_have_count(1)  # the styles list, read with the token

    # -- a 4-scene storyboard published from the page fills its contact sheet live ----------------
    page.fill("#project", PROJECT)
    page.click("#project-open")
    expect(page.locator("#publish")).to_be_visible()
    page.fill("#scenes", "\n".join(SCENES))
    page.select_option("#style", "watercolor")
    page.select_option("#size", "256")
    page.fill("#steps", "4")
    page.click("#publish-button")
    expect(page.get_by_test_id("job")).to_have_count(1)
    job_id = page.get_by_test_id("job").get_attribute("data-job-id")
    assert job_id and job_id.startswith("job")
    sheet = page.locator(f"[data-testid=job][data-job-id='{job_id}']")
    expect(sheet.locator("[data-testid=image-tile][data-loaded=true]")).to_have_count(4, timeout=WAIT_MS)
    expect(sheet.get_by_test_id("job-status")).to_have_text("completed", timeout=WAIT_MS)
    sizes = sheet.locator("[data-testid=image]").evaluate_all("images => images.map(i => [i.naturalWidth, i.naturalHeight])")
    assert sizes == [[256, 256]] * 4  # the bytes came through the authenticated file route and decoded

    ready = {e.scene_id: e for e in env.on_topic(env.image.image_ready, 1, ImageReady) if e.job_id == job_id}
    assert sorted(ready) == ["s0", "s1", "s2", "s3"]
    tiles = sheet.get_by_test_id("image-tile")
    for index in range(4):
        tile = tiles.nth(index)
        event = ready[f"s{index}"]
        assert tile.get_attribute("data-asset-id") == f"{job_id}:s{index}:v1"
        assert tile.get_by_test_id("scene").inner_text() == f"scene s{index}"
        assert SCENES[index] in tile.get_by_test_id("prompt").inner_text()
        assert tile.get_by_test_id("seed").inner_text() == str(event.seed)
        assert tile.get_by_test_id("model").inner_text() == event.model
        shown = tile.get_by_test_id("consistency").inner_text()
        assert shown == ("—" if event.consistency_score is None else f"{event.consistency_score * 100:.1f}%")

    # -- a rating from the page is one AssetRated on the ratings topic ------------------------------
    first = tiles.nth(0)
    first.locator("button.star[data-rating='4']").click()
    expect(first.get_by_test_id("rating-state")).to_have_text("rated 4", timeout=WAIT_MS)
    rated = [r for r in env.on_topic(env.topics.asset_ratings, 3, AssetRated) if r.project_id == PROJECT]
    assert [(r.asset_id, r.rating) for r in rated] == [(f"{job_id}:s0:v1", 4)]
    assert rated[0].rater_id == hash_rater("operator", RATER_KEY.encode())  # by the token's name, hashed

    # -- a rerender from the page adds version 2 of that scene to the same sheet ---------------------
    tiles.nth(1).get_by_test_id("rerender").click()
    rerendered = sheet.locator(f"[data-asset-id='{job_id}:s1:v2'][data-loaded=true]")
    expect(rerendered).to_have_count(1, timeout=WAIT_MS)
    assert rerendered.get_by_test_id("seed").inner_text() == str(ready["s1"].seed)  # the same request again
    expect(sheet.get_by_test_id("job-status")).to_have_text("completed", timeout=WAIT_MS)
    expect(tiles).to_have_count(5)
    order = [(t.get_attribute("data-scene"), t.get_attribute("data-version")) for t in tiles.all()]
    assert order == [("s0", "1"), ("s1", "1"), ("s1", "2"), ("s2", "1"), ("s3", "1")]  # v2 beside v1, in scene order

    # -- a running job cancelled from the page is shown cancelled -----------------------------------
    page.fill("#scenes", "\n".join(SLOW_SCENES))
    page.click("#publish-button")
    slow = page.locator(f"[data-testid=job]:not([data-job-id='{job_id}'])")
    expect(slow).to_have_count(1, timeout=WAIT_MS)
    slow_id = slow.get_attribute("data-job-id")
    expect(slow.locator("[data-testid=image-tile][data-loaded=true]")).not_to_have_count(0, timeout=WAIT_MS)  # it is running
    expect(slow.get_by_test_id("job-status")).to_have_text("processing")
    assert 0 < slow.locator("progress").evaluate("p => p.value") < 1  # a progress bar, part way
    slow.get_by_test_id("cancel").click()
    expect(slow.get_by_test_id("job-status")).to_have_text("cancelled", timeout=WAIT_MS)
    expect(slow.get_by_test_id("cancel")).to_be_hidden()
    assert slow.get_by_test_id("image-tile").count() < len(SLOW_SCENES)
    expect(sheet.get_by_test_id("job-status")).to_have_text("completed")  # the other sheet is untouched

    # -- a scene that fails shows its reason (the storyboard completes with the scenes that rendered) ---
    page.fill("#scenes", "a calm sea\nfail=permanent a storm at sea")
    page.click("#publish-button")
    failing = page.locator(f"[data-testid=job]:not([data-job-id='{job_id}']):not([data-job-id='{slow_id}'])")
    expect(failing).to_have_count(1, timeout=WAIT_MS)
    expect(failing.get_by_test_id("failure")).to_contain_text("scripted permanent fault in s1", timeout=WAIT_MS)
    expect(failing.get_by_test_id("job-status")).to_have_text("completed", timeout=WAIT_MS)
    expect(failing.locator("[data-testid=image-tile][data-loaded=true]")).to_have_count(1)
    expect(failing.locator(".job-count")).to_have_text("1 / 2 images")

    # -- music another client publishes into the open project appears with a player ---------------------
    with httpx.Client(base_url=env.url, timeout=60) as http:
        posted = http.post("/api/v1/audio/music", json={"projectId": PROJECT, "durationSeconds": 2.0, "style": "ambient"}, headers=bearer(OPERATOR))
    assert posted.status_code == 202, posted.text
    music = page.locator(f"[data-job-id='{posted.json()['jobId']}'] [data-testid=audio]")
    expect(music).to_have_count(1, timeout=WAIT_MS)
    page.wait_for_function("() => { const a = document.querySelector('[data-testid=player]'); return a && a.readyState >= 1 && a.duration > 0; }", timeout=WAIT_MS)
    (audio_ready,) = [e for e in env.on_topic(env.audio_ready, 1, AudioReady) if e.job_id == posted.json()["jobId"]]
    assert abs(music.get_by_test_id("player").evaluate("a => a.duration") - audio_ready.duration_seconds) < 0.1  # the bytes decoded as sound

    # -- the page keeps integers past 2^53 exact (seeds written before seeds were bounded) ------------------
    parsed = page.evaluate("""async () => (await import('/console/api.js')).parseJson('{"seed": 5063085808929597766, "n": 3, "x": 1.5}')""")
    assert parsed == {"seed": "5063085808929597766", "n": 3, "x": 1.5}

    shot = tmp_path / "console.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("MEDIA_STREAM_CONSOLE_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["MEDIA_STREAM_CONSOLE_SCREENSHOT"])

    # -- data is shown as text, never as markup ---------------------------------------------------------
    assert SCENES[3] in tiles.nth(4).get_by_test_id("prompt").inner_text()
    assert tiles.nth(4).locator("img").count() == 1 and page.evaluate("window.pwned") is None

    # -- after a reload: the token is still there (this tab), the project reopens from the catalog ------
    page.reload()
    expect(page.get_by_test_id("token-state")).to_have_text("token set (this tab only)")
    expect(page.locator("#project")).to_have_value(PROJECT)
    expect(page.locator(f"#projects option[value='{PROJECT}']")).to_have_count(1)  # the project list
    expect(sheet.locator("[data-testid=image-tile][data-loaded=true]")).to_have_count(5, timeout=WAIT_MS)
    expect(sheet.get_by_test_id("job-status")).to_have_text("completed")
    expect(page.locator(f"[data-job-id='{slow_id}']").get_by_test_id("job-status")).to_have_text("cancelled")
    expect(music).to_have_count(1)
    assert page_errors == [], page_errors
