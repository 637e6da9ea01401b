"""The embedded preview renderer."""

import io

from PIL import Image

from media_stream.domain.requests import Scene, StoryboardRequested, StyleConfig
from media_stream.domain.scenes import plan_scenes
from media_stream.render.image.base import ImageRenderer
from media_stream.render.image.preview import PreviewRenderer


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
