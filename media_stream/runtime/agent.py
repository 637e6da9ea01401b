"""Assemble an image agent from settings and run it until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal

from media_stream.config import Settings
from media_stream.render.registry import image_renderer
from media_stream.runtime.image_worker import ImageWorker
from media_stream.runtime.storyboard import StoryboardRenderer
from media_stream.storage.factory import object_store

log = logging.getLogger(__name__)


def build_image_worker(settings: Settings, bootstrap: str | None = None, group_id: str | None = None) -> ImageWorker:
    store = object_store(settings.storage)
    store.check()
    storyboards = StoryboardRenderer(image_renderer(settings.worker), store)
    return ImageWorker(settings, storyboards, bootstrap=bootstrap, group_id=group_id)


def run_image_agent(settings: Settings, bootstrap: str | None = None) -> None:
    worker = build_image_worker(settings, bootstrap)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: finishing the scene in hand, then leaving", signum)
        worker.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("image agent up: backend=%s store=%s", settings.worker.image_backend, settings.storage.backend)
    worker.run()
