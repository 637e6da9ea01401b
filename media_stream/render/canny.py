"""Canny edges for ControlNet conditioning, in numpy and Pillow (no OpenCV dependency).

The classic steps: grey, Gaussian blur, Sobel gradients, non-maximum suppression along the
gradient direction, double threshold and hysteresis. Thresholds are on the Sobel magnitude
of 0..255 pixel values, like ``cv2.Canny(image, low, high, L2gradient=True)``; the output is an
RGB image, white edges on black, of the requested size (what SDXL canny ControlNets expect).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from media_stream.domain.errors import PermanentError

# Hysteresis grows strong edges through weak ones one pixel per pass; an edge chain longer than
# this many pixels beyond its strong seed is cut there (never reached on real images).
MAX_HYSTERESIS_PASSES = 512


def decode_control_image(data: bytes, width: int, height: int) -> Image.Image:
    """The control image as RGB at the scene's size; bytes that are not an image are permanent."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # Pillow raises several types for bad bytes
        raise PermanentError(f"control image is not a readable image: {exc}") from exc
    return image.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)


def _shift(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``a`` moved by (dy, dx) with edge padding: out[y, x] = a[y - dy, x - dx]."""
    padded = np.pad(a, 1, mode="edge")
    h, w = a.shape
    return padded[1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w]


def canny(image: Image.Image, low: int = 100, high: int = 200, blur_radius: float = 1.0) -> Image.Image:
    grey = image.convert("L")
    if blur_radius > 0:
        grey = grey.filter(ImageFilter.GaussianBlur(blur_radius))
    a = np.asarray(grey, dtype=np.float32)
    # Sobel: gx = right - left (weights 1, 2, 1), gy = down - up
    right, left = _shift(a, 0, -1), _shift(a, 0, 1)
    gx = (_shift(right, 1, 0) + 2 * right + _shift(right, -1, 0)) - (_shift(left, 1, 0) + 2 * left + _shift(left, -1, 0))
    down, up = _shift(a, -1, 0), _shift(a, 1, 0)
    gy = (_shift(down, 0, 1) + 2 * down + _shift(down, 0, -1)) - (_shift(up, 0, 1) + 2 * up + _shift(up, 0, -1))
    magnitude = np.hypot(gx, gy)
    angle = (np.rad2deg(np.arctan2(gy, gx)) + 180.0) % 180.0
    # non-maximum suppression: keep a pixel only if it is a maximum along its gradient
    keep = np.zeros_like(magnitude, dtype=bool)
    for lo_deg, hi_deg, (dy, dx) in (
        (0.0, 22.5, (0, 1)), (157.5, 180.0, (0, 1)), (22.5, 67.5, (1, 1)), (67.5, 112.5, (1, 0)), (112.5, 157.5, (1, -1)),
    ):
        band = (angle >= lo_deg) & (angle < hi_deg)
        ahead, behind = _shift(magnitude, dy, dx), _shift(magnitude, -dy, -dx)
        keep |= band & (magnitude >= ahead) & (magnitude >= behind)
    thin = np.where(keep, magnitude, 0.0)
    strong = thin >= high
    weak = thin >= low
    for _ in range(MAX_HYSTERESIS_PASSES):
        grown = strong.copy()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dy or dx:
                    grown |= _shift(strong, dy, dx)
        grown &= weak
        if np.array_equal(grown, strong):
            break
        strong = grown
    edges = np.where(strong, 255, 0).astype(np.uint8)
    return Image.fromarray(np.stack([edges] * 3, axis=-1), mode="RGB")


def canny_control_image(data: bytes, width: int, height: int, low: int = 100, high: int = 200) -> Image.Image:
    """PNG bytes from our storage → the canny edge map a ControlNet is conditioned on."""
    return canny(decode_control_image(data, width, height), low, high)
