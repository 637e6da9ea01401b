"""Canny edges for ControlNet conditioning: OpenCV's ``cv2.Canny``, as the SDXL canny ControlNets
were trained and are documented (the model card of ``diffusers/controlnet-canny-sdxl-1.0``):

    image = np.array(image); image = cv2.Canny(image, 100, 200)
    image = np.concatenate([image[:, :, None]] * 3, axis=2)

No pre-blur, thresholds 100 and 200 by default (``sdxl.canny_low_threshold`` / ``_high_``), on the
RGB image resized to the scene's size; the result is RGB, white edges on black. OpenCV comes with
the ``image`` extra (``opencv-python-headless``) and is imported here only.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from media_stream.domain.errors import PermanentError

CARD_LOW_THRESHOLD = 100
CARD_HIGH_THRESHOLD = 200


def decode_control_image(data: bytes, width: int, height: int) -> Image.Image:
    """The control image as RGB at the scene's size; bytes that are not an image are permanent."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # Pillow raises several types for bad bytes
        raise PermanentError(f"control image is not a readable image: {exc}") from exc
    return image.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)


def canny(image: Image.Image, low: int = CARD_LOW_THRESHOLD, high: int = CARD_HIGH_THRESHOLD) -> Image.Image:
    """The model card's recipe: ``cv2.Canny`` on the 8-bit image, the edge map repeated as RGB."""
    pixels = np.asarray(image.convert("RGB") if image.mode not in ("RGB", "L") else image)
    edges = cv2.Canny(np.ascontiguousarray(pixels), low, high)
    return Image.fromarray(np.concatenate([edges[:, :, None]] * 3, axis=2), mode="RGB")


def canny_control_image(
    data: bytes, width: int, height: int, low: int = CARD_LOW_THRESHOLD, high: int = CARD_HIGH_THRESHOLD
) -> Image.Image:
    """PNG bytes from our storage → the canny edge map a ControlNet is conditioned on."""
    return canny(decode_control_image(data, width, height), low, high)
