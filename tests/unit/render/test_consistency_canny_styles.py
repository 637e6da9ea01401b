"""The consistency metric, canny edges, the style catalog and the style preview cache."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

from media_stream.domain.errors import ValidationError
from media_stream.domain.styles import IMAGE_STYLES, image_style
from media_stream.render.image.canny import canny, canny_control_image
from media_stream.render.image.consistency import ConsistencyReport, consistency_report, cosine, scene_score
from media_stream.render.image.preview import PreviewRenderer
from media_stream.render.image.style_previews import StylePreviews
from media_stream.storage.filesystem import FilesystemStore
from tests.unit.render.helpers import png


def test_cosine_and_report():
    assert cosine(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(0.0)
    report = ConsistencyReport((0.9, 0.7, 0.85), threshold=0.8)
    assert report.passed == 2 and report.pass_rate == pytest.approx(2 / 3) and report.mean == pytest.approx(0.8166, abs=1e-3)
    assert ConsistencyReport((), 0.8).pass_rate is None


def test_clip_consistency_on_a_tiny_vision_model(tiny_sdxl):
    from media_stream.render.image.consistency import ImageEncoderEmbedder

    embedder = ImageEncoderEmbedder(str(tiny_sdxl.ip_adapter / "image_encoder"))
    red, blue = png(colour=(220, 20, 20)), png(colour=(20, 20, 220), draw=lambda d: d.ellipse([8, 8, 40, 40], fill=(255, 255, 0)))
    assert scene_score(embedder, red, [red]) == pytest.approx(1.0, abs=1e-5)
    assert scene_score(embedder, red, [blue]) < 0.9999
    assert scene_score(embedder, red, []) is None
    report = consistency_report(embedder, [(red, [red]), (blue, [red]), (red, [])], threshold=0.99)
    assert len(report.scores) == 2 and report.pass_rate == pytest.approx(0.5)


def test_canny_finds_the_outline_of_a_square_and_nothing_in_a_flat_image():
    square = png(draw=lambda d: d.rectangle([16, 16, 47, 47], fill=(255, 255, 255)))
    edges = np.asarray(canny_control_image(square, 64, 64))
    assert edges.shape == (64, 64, 3) and set(np.unique(edges)) <= {0, 255}
    mask = edges[..., 0] > 0
    assert mask[16:48, 14:19].any(axis=1).all() and mask[16:48, 45:50].any(axis=1).all()  # left and right sides
    assert not mask[24:40, 24:40].any() and not mask[:8].any()  # not inside, not far outside
    assert not np.asarray(canny_control_image(png(colour=(90, 90, 90)), 32, 48)).any()
    resized = canny_control_image(square, 128, 96)
    assert resized.size == (128, 96)


def test_canny_thresholds_matter():
    from PIL import Image

    gradient = Image.fromarray(np.tile(np.repeat(np.arange(0, 256, 32, dtype=np.uint8), 8), (64, 1)))
    loose, strict = canny(gradient, 10, 20), canny(gradient, 200, 250)
    assert np.asarray(loose).sum() > np.asarray(strict).sum()


def test_canny_is_the_sdxl_canny_controlnet_cards_recipe():
    """diffusers/controlnet-canny-sdxl-1.0's card: cv2.Canny(np.array(image), 100, 200), as RGB."""
    import cv2
    from PIL import Image, ImageDraw, ImageFilter

    from media_stream.config import SdxlSettings

    picture = Image.new("RGB", (80, 56), (40, 90, 160))
    draw = ImageDraw.Draw(picture)
    draw.ellipse([10, 8, 50, 48], fill=(230, 200, 60))
    draw.polygon([(44, 50), (78, 4), (70, 54)], fill=(200, 40, 40))
    picture = picture.filter(ImageFilter.GaussianBlur(1.5))  # soft edges: the thresholds decide
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    settings = SdxlSettings()
    assert (settings.canny_low_threshold, settings.canny_high_threshold) == (100, 200)

    ours = np.asarray(canny_control_image(buffer.getvalue(), 80, 56, settings.canny_low_threshold, settings.canny_high_threshold))
    card = cv2.Canny(np.array(picture), 100, 200)[:, :, None]
    card = np.concatenate([card, card, card], axis=2)
    assert ours.shape == card.shape and card.any()
    assert np.array_equal(ours, card)


def test_the_six_original_styles_plus_default_are_data():
    originals = {
        "cartoon": ("Cartoon", "cartoon"), "realistic": ("Realiste", "realistic"), "watercolor": ("Aquarelle", "artistic"),
        "anime": ("Anime", "cartoon"), "oil-painting": ("Peinture a l'huile", "artistic"), "pixel-art": ("Pixel Art", "artistic"),
    }
    assert set(IMAGE_STYLES) == set(originals) | {"default"}
    for name, (label, category) in originals.items():
        style = image_style(name)
        assert (style.label, style.category) == (label, category)
        assert isinstance(style.is_premium, bool) and 1 <= style.default_steps <= 150 and 0 < style.default_guidance <= 30
        assert style.apply("a fox").startswith("a fox, ") and style.negative_prompt
    assert image_style("watercolor").lora is None
    with pytest.raises(ValidationError, match="cartoon"):
        image_style("comic")


def test_styles_command_lists_them():
    from typer.testing import CliRunner

    from media_stream.cli import app

    result = CliRunner().invoke(app, ["styles"])
    assert result.exit_code == 0, result.output
    for name in IMAGE_STYLES:  # names fit the narrow test terminal; labels may wrap
        assert name in result.output


class Counting(PreviewRenderer):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def render(self, batch, hooks=None):
        self.count += len(batch)
        return super().render(batch, hooks)


def test_style_previews_render_once_per_backend_version(tmp_path):
    store = FilesystemStore(tmp_path)
    renderer = Counting()
    previews = StylePreviews(renderer, store, "preview-v1", width=64, height=64, steps=2)
    first = previews.all()
    assert renderer.count == len(IMAGE_STYLES) and all(p.rendered for p in first)
    again = StylePreviews(Counting(), store, "preview-v1", width=64, height=64, steps=2).all()
    assert [p.key for p in again] == [p.key for p in first] and not any(p.rendered for p in again)
    assert first[0].key.startswith("style-previews/preview/") and first[0].key.endswith("/1.png")
    bumped = StylePreviews(renderer, store, "preview-v2", width=64, height=64, steps=2).preview("watercolor")
    assert bumped.rendered and bumped.key != previews.key("watercolor")


def test_importing_the_registry_and_cli_does_not_import_torch():
    code = (
        "import sys, media_stream, media_stream.render.image.registry, media_stream.cli, media_stream.render.image.consistency, "
        "media_stream.render.image.style_previews, media_stream.runtime.character_references, media_stream.bench.cli; "
        "bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_calibration_picks_the_threshold_that_separates_the_labels(tiny_sdxl, tmp_path):
    import json

    from typer.testing import CliRunner

    from media_stream.bench.cli import bench_app
    from media_stream.render.image.consistency_calibration import best_threshold

    calibration = best_threshold([0.9, 0.85, 0.7, 0.6, 0.65], [True, True, True, False, False])
    assert (calibration.threshold, calibration.true_positive_rate, calibration.false_positive_rate) == (0.7, 1.0, 0.0)
    assert best_threshold([0.9, 0.8], [True, True]).threshold is None  # one label only: nothing to separate
    red, blue = png(colour=(220, 20, 20)), png(colour=(20, 20, 220))
    for name, data in (("red.png", red), ("blue.png", blue)):
        (tmp_path / name).write_bytes(data)
    pairs = [("red.png", "red.png", True), ("blue.png", "blue.png", True), ("red.png", "blue.png", False)]
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps({"scene": s, "reference": r, "same": y}) for s, r, y in pairs))
    result = CliRunner().invoke(bench_app, ["calibrate-consistency", str(tmp_path / "labels.jsonl"), "--model", str(tiny_sdxl.dinov2)])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if '"threshold"' in line)  # after any progress bar
    out = json.loads(line[line.index("{") :])
    assert out["positives"] == 2 and out["negatives"] == 1 and out["truePositiveRate"] == 1.0 and out["falsePositiveRate"] == 0.0
