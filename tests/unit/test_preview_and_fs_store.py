"""The embedded preview renderer and the filesystem store."""

import io
import json

import pytest
from PIL import Image

from media_stream.domain.errors import ValidationError
from media_stream.domain.requests import Scene, StoryboardRequested, StyleConfig
from media_stream.domain.scenes import plan_scenes
from media_stream.render.base import ImageRenderer
from media_stream.render.preview import PreviewRenderer
from media_stream.storage.filesystem import FilesystemStore


def work(seed=1, width=320, height=200, prompt="a fox"):
    board = StoryboardRequested("r", "j", "p", scenes=(Scene("s1", prompt),), style_config=StyleConfig(width=width, height=height, seed=seed))
    return plan_scenes(board)[0]


def test_preview_is_a_labelled_png_of_the_requested_size():
    renderer = PreviewRenderer()
    assert isinstance(renderer, ImageRenderer)
    (image,) = renderer.render([work()])
    decoded = Image.open(io.BytesIO(image.data))
    assert decoded.format == "PNG" and decoded.size == (320, 200)
    assert "preview" in image.model.lower()


def test_preview_is_deterministic_and_depends_on_prompt_and_seed():
    renderer = PreviewRenderer()
    a, b = renderer.render([work(seed=1), work(seed=1)])
    assert a.data == b.data
    (c,) = renderer.render([work(seed=2)])
    (d,) = renderer.render([work(prompt="an owl")])
    assert c.data != a.data and d.data != a.data


def test_filesystem_store_writes_atomically_with_metadata(tmp_path):
    store = FilesystemStore(tmp_path)
    stored = store.put("images/p/j/s1/1.png", b"first", "image/png", {"jobId": "j"})
    again = store.put("images/p/j/s1/1.png", b"second", "image/png", {"jobId": "j"})
    assert stored.key == again.key and store.get(stored.key) == b"second"
    assert again.url.startswith("file://") and store.exists(stored.key)
    assert store.metadata(stored.key)["sha256"] == again.sha256
    leftovers = [p.name for p in (tmp_path / "images/p/j/s1").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []
    assert json.loads((tmp_path / "images/p/j/s1/1.png.meta.json").read_text())["jobId"] == "j"


@pytest.mark.parametrize("key", ["../escape.png", "images/../../x", "/abs/path", "images//x", "a/b\x00/c"])
def test_filesystem_store_refuses_keys_that_leave_the_root(tmp_path, key):
    with pytest.raises(ValidationError):
        FilesystemStore(tmp_path / "root").put(key, b"x", "image/png", {})
    assert not (tmp_path / "escape.png").exists()
