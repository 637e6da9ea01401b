"""A renderer for runtime tests: the preview renderer's real PNGs, with scripted delays and faults,
and a log of every render (one line per scene rendered, appended to a file shared by processes).

Prompts steer it: ``slow=0.4`` in a prompt makes that scene take 0.4 s; ``fail=retriable`` raises a
RetriableError every time, ``fail=permanent`` a PermanentError.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

from media_stream.domain.errors import PermanentError, RetriableError
from media_stream.domain.scenes import SceneWork
from media_stream.render.image.base import RenderedImage
from media_stream.render.image.preview import PreviewRenderer

SLOW = re.compile(r"slow=([0-9.]+)")


class ScriptedRenderer:
    name = "scripted"

    def __init__(self, log_path: Path | None = None, default_delay_s: float = 0.0, max_batch_size: int = 4) -> None:
        self.inner = PreviewRenderer(max_batch_size=max_batch_size)
        self.max_batch_size = max_batch_size
        self.log_path = log_path
        self.default_delay_s = default_delay_s
        self.calls: list[list[str]] = []

    def load(self) -> None:
        self.inner.load()

    def render(self, batch: Sequence[SceneWork], hooks: object = None) -> list[RenderedImage]:
        self.calls.append([w.prompt for w in batch])
        for work in batch:
            if "fail=retriable" in work.prompt:
                raise RetriableError(f"scripted transient fault in {work.scene_id}")
            if "fail=permanent" in work.prompt:
                raise PermanentError(f"scripted permanent fault in {work.scene_id}")
        delay = max((float(m.group(1)) for w in batch if (m := SLOW.search(w.prompt))), default=self.default_delay_s)
        time.sleep(delay)
        images = self.inner.render(batch)
        if self.log_path is not None:
            with open(self.log_path, "a", encoding="utf-8") as log:
                for work in batch:
                    log.write(f"{os.getpid()}\t{work.prompt.split(',')[0].split(' ')[0]}\t{work.scene_id}\n")
        return images


def render_log(path: Path) -> list[tuple[int, str, str]]:
    """(pid, first word of the prompt, scene id) per render, in order."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pid, tag, scene = line.split("\t")
        rows.append((int(pid), tag, scene))
    return rows
