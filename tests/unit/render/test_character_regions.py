"""Several characters in one scene: each character's reference conditions its own region.

Asserted where it happens, in the IP-Adapter attention processors' inputs: each cross-attention
call gets one adapter image per character (the projected embedding of that character's
reference) and one mask per image covering that character's region; and per character, a
consistency score on its region."""

from __future__ import annotations

import functools
import io

import numpy as np
import pytest
import torch
from PIL import Image

from media_stream.domain.scenes import CharacterReference
from media_stream.render.image.character_regions import Region, crop_to_subject, equal_bands, layout_bands, subject_box
from tests.unit.render.helpers import png, scene

RED = CharacterReference("lea", png(colour=(220, 30, 30)))
BLUE = CharacterReference("fox", png(colour=(30, 30, 220)))
GREEN = CharacterReference("owl", png(colour=(30, 200, 30)))


def test_without_layout_the_image_is_split_left_to_right():
    assert [(r.x0, r.x1) for r in layout_bands(None, 2, 64, 32)] == [(0, 32), (32, 64)]
    assert [(r.x0, r.x1) for r in layout_bands(None, 3, 90, 30)] == [(0, 30), (30, 60), (60, 90)]
    assert layout_bands(None, 1, 64, 64) == [Region(0, 64, 0, 64, 64, 64)]
    blank = Image.new("RGB", (64, 64), (255, 255, 255))
    assert layout_bands(blank, 2, 64, 64) == equal_bands(2, 64, 64)  # nothing drawn: equal bands


def test_a_layout_cuts_in_the_gap_between_the_figures():
    a = np.full((50, 100, 3), 255, dtype=np.uint8)
    a[5:45, 2:12] = 0  # a narrow figure far left
    a[5:45, 60:90] = 0  # a wide one on the right
    left, right = layout_bands(Image.fromarray(a), 2, 100, 50)
    assert (left.x0, left.x1, right.x0, right.x1) == (0, 36, 36, 100)  # the middle of the gap 12..59
    three = np.full((50, 120, 3), 255, dtype=np.uint8)
    for x0, x1 in ((5, 15), (20, 30), (80, 100)):
        three[10:40, x0:x1] = 0
    assert [(r.x0, r.x1) for r in layout_bands(Image.fromarray(three), 3, 120, 50)] == [(0, 17), (17, 55), (55, 120)]
    touching = np.full((50, 100, 3), 255, dtype=np.uint8)
    touching[5:45, 10:90] = 0  # one blob: no gap, cut where half the ink is
    assert [(r.x0, r.x1) for r in layout_bands(Image.fromarray(touching), 2, 100, 50)] == [(0, 50), (50, 100)]


def test_a_reference_is_cropped_to_its_subject():
    def figure(d):
        d.rectangle([40, 10, 59, 69], fill=(200, 40, 40))

    data = png(figure, colour=(245, 245, 240), size=(128, 96))
    box = subject_box(Image.open(io.BytesIO(data)).convert("RGB"))
    assert box is not None
    x0, y0, x1, y1 = box
    assert x0 <= 40 and x1 >= 60 and y0 <= 10 and y1 >= 70  # the whole figure is kept
    assert (x1 - x0) < 128 and (y1 - y0) < 96  # and most of the background is gone
    cropped = Image.open(io.BytesIO(crop_to_subject(data)))
    assert cropped.size == (x1 - x0, y1 - y0)
    plain = png(colour=(245, 245, 240))
    assert crop_to_subject(plain) == plain  # nothing to crop to: unchanged


@pytest.fixture
def recorded(monkeypatch):
    """Every IP-Adapter attention call's image tokens and masks."""
    from diffusers.models.attention_processor import IPAdapterAttnProcessor2_0

    calls: list[dict] = []
    original = IPAdapterAttnProcessor2_0.__call__

    @functools.wraps(original)
    def recording(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, scale=1.0, ip_adapter_masks=None):
        _, ip_states = encoder_hidden_states
        calls.append({"ip": [t.detach().clone() for t in ip_states], "masks": None if ip_adapter_masks is None else [m.clone() for m in ip_adapter_masks]})
        return original(self, attn, hidden_states, encoder_hidden_states, attention_mask, temb, scale, ip_adapter_masks)

    monkeypatch.setattr(IPAdapterAttnProcessor2_0, "__call__", recording)
    return calls


def projected(renderer, reference) -> torch.Tensor:
    """The image tokens the IP-Adapter derives from one reference (what attention should see)."""
    pipe = renderer.loaded.base
    positive, _ = renderer._reference_embedding(pipe, reference.image)
    with torch.no_grad():
        return pipe.unet.encoder_hid_proj.image_projection_layers[0](positive[None])[0]


def test_each_character_s_region_attends_to_its_own_reference(fresh_sdxl, recorded):
    (image,) = fresh_sdxl.render([scene(21, references=(RED, BLUE))])
    assert recorded, "the IP-Adapter processors were not called"
    red, blue = projected(fresh_sdxl, RED), projected(fresh_sdxl, BLUE)
    for call in recorded:
        (tokens,) = call["ip"]  # one adapter
        assert tokens.shape[:2] == (2, 2)  # [negative; positive] x one image per character
        torch.testing.assert_close(tokens[1, 0], red)  # image 0 is Léa's reference ...
        torch.testing.assert_close(tokens[1, 1], blue)  # ... image 1 the fox's
        (mask,) = call["masks"]
        assert mask.shape == (2, 2, 64, 64)
        left, right = mask[1, 0], mask[1, 1]
        assert left[:, :32].min() == 1 and left[:, 32:].max() == 0  # Léa's tokens: the left half only
        assert right[:, 32:].min() == 1 and right[:, :32].max() == 0  # the fox's: the right half
        assert torch.equal(mask[0], mask[1])  # the unconditional half is masked alike
    assert set(image.character_scores) == {"lea", "fox"}


def test_regions_follow_the_control_image_layout(fresh_sdxl, recorded):
    def layout(d):
        d.rectangle([2, 8, 10, 60], fill=(255, 255, 255))  # a thin figure at the far left
        d.rectangle([30, 8, 62, 60], fill=(255, 255, 255))  # a wide one right of centre

    fresh_sdxl.render([scene(22, references=(RED, BLUE), control_image=png(layout))])
    (mask,) = recorded[0]["masks"]
    boundary = int(mask[1, 0, 32].sum())  # columns of the first region on a middle row
    assert boundary == (11 + 30) // 2  # the middle of the gap between the figures, not the default 32
    assert torch.equal(mask[1, 0] + mask[1, 1], torch.ones_like(mask[1, 0]))  # the regions tile the image


def test_one_character_conditions_the_whole_image_without_masks(fresh_sdxl, recorded):
    fresh_sdxl.render([scene(23, references=(GREEN,))])
    assert all(call["masks"] is None for call in recorded)
    torch.testing.assert_close(recorded[0]["ip"][0][1, 0], projected(fresh_sdxl, GREEN))


def test_a_batch_gives_each_scene_its_own_references_and_masks(fresh_sdxl, recorded):
    fresh_sdxl.render([scene(24, references=(RED, BLUE)), scene(25, references=(BLUE, GREEN))])
    assert fresh_sdxl.pipeline_calls == [2]
    (tokens,) = recorded[0]["ip"]
    assert tokens.shape[:2] == (4, 2)  # [neg a, neg b, pos a, pos b] x 2 characters
    torch.testing.assert_close(tokens[2, 0], projected(fresh_sdxl, RED))
    torch.testing.assert_close(tokens[3, 0], projected(fresh_sdxl, BLUE))
    torch.testing.assert_close(tokens[3, 1], projected(fresh_sdxl, GREEN))
    assert recorded[0]["masks"][0].shape == (4, 2, 64, 64)


def test_each_character_is_scored_on_its_own_region(fresh_sdxl):
    from media_stream.render.image.character_regions import crop
    from media_stream.render.image.consistency import cosine
    from media_stream.render.image.sdxl_finish import encode_png

    (image,) = fresh_sdxl.render([scene(26, references=(RED, BLUE))])
    rendered = Image.open(io.BytesIO(image.data)).convert("RGB")
    left, right = equal_bands(2, 64, 64)
    embedder = fresh_sdxl._embedder
    rows = embedder.embed([encode_png(crop(rendered, left)), encode_png(crop(rendered, right)), RED.image, BLUE.image])
    assert image.character_scores == {
        "lea": pytest.approx(cosine(rows[0], rows[2]), abs=1e-5),
        "fox": pytest.approx(cosine(rows[1], rows[3]), abs=1e-5),
    }
    whole = embedder.embed([image.data, RED.image])
    assert image.character_scores["lea"] != pytest.approx(cosine(whole[0], whole[1]), abs=1e-6)  # the region, not the image
    assert image.consistency == pytest.approx((image.character_scores["lea"] + image.character_scores["fox"]) / 2, abs=1e-5)
