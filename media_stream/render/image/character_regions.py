"""Where each character of a scene is: regions from a layout, IP-Adapter masks, subject crops.

Pure numpy and Pillow (no torch), shared by the SDXL renderer (one IP-Adapter mask per
character), the consistency scorer (each character scored on its own region) and the
character references (a reference is cropped to its subject before it conditions anything).

Regions are vertical bands, one per character in the scene's order, left to right:

- with a layout (the scene's control image), its foreground (pixels that differ from the
  border colour) is projected on the columns; when the figures stand apart (at least ``n - 1``
  empty gaps between inked columns) the bands are cut at the middles of the ``n - 1`` widest
  gaps, so each figure lies whole in one band; when they touch, band ``k`` ends where the
  cumulative ink passes ``(k+1)/n``;
- without a layout, or a layout with no foreground, the image is split into ``n`` equal bands.

A band is a ``Region`` (x0, x1 in pixels, full height); ``masks`` turns regions into the binary
masks diffusers' ``IPAdapterMaskProcessor`` expects. One character needs no mask (it conditions
the whole image).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

# A pixel is foreground when some channel differs from the border colour by more than this.
FOREGROUND_DELTA = 24
# Margin added around a subject crop, as a share of the crop's larger side.
CROP_MARGIN = 0.06


@dataclass(frozen=True)
class Region:
    """Columns [x0, x1) and rows [y0, y1) of an image of ``width`` x ``height``."""

    x0: int
    x1: int
    y0: int
    y1: int
    width: int
    height: int

    def box(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)

    def scaled(self, width: int, height: int) -> Region:
        """The same region on an image of another size (e.g. the decoded image vs the layout)."""
        sx, sy = width / self.width, height / self.height
        return Region(
            round(self.x0 * sx), max(round(self.x1 * sx), round(self.x0 * sx) + 1),
            round(self.y0 * sy), max(round(self.y1 * sy), round(self.y0 * sy) + 1), width, height,
        )  # fmt: skip


def _border_colour(a: np.ndarray) -> np.ndarray:
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    return np.median(border, axis=0)


def foreground(image: Image.Image) -> np.ndarray:
    """Boolean (h, w): pixels that differ from the image's border colour."""
    a = np.asarray(image.convert("RGB"), dtype=np.int16)
    return np.abs(a - _border_colour(a)).max(axis=2) > FOREGROUND_DELTA


def equal_bands(n: int, width: int, height: int) -> list[Region]:
    edges = [round(k * width / n) for k in range(n + 1)]
    return [Region(edges[k], edges[k + 1], 0, height, width, height) for k in range(n)]


def layout_bands(layout: Image.Image | None, n: int, width: int, height: int) -> list[Region]:
    """``n`` left-to-right bands for an image of ``width`` x ``height`` (see the module doc)."""
    if n <= 0:
        return []
    if layout is None or n == 1:
        return equal_bands(n, width, height)
    columns = foreground(layout.resize((width, height), Image.Resampling.NEAREST)).sum(axis=0).astype(np.float64)
    if columns.sum() <= 0:
        return equal_bands(n, width, height)
    cuts = _gap_cuts(columns > 0, n) or _mass_cuts(columns, n)
    edges = [0]
    for k, cut in enumerate(cuts, start=1):
        edges.append(min(max(cut, edges[-1] + 1), width - (n - k)))
    edges.append(width)
    return [Region(edges[k], edges[k + 1], 0, height, width, height) for k in range(n)]


def _gap_cuts(inked: np.ndarray, n: int) -> list[int]:
    """Middles of the n-1 widest empty gaps between inked columns, left to right; [] if too few."""
    xs = np.nonzero(inked)[0]
    gaps = [(int(b - a - 1), int(a + 1), int(b)) for a, b in zip(xs[:-1], xs[1:]) if b - a > 1]  # (size, start, end)
    if len(gaps) < n - 1:
        return []
    widest = sorted(sorted(gaps, key=lambda g: (-g[0], g[1]))[: n - 1], key=lambda g: g[1])
    return [(start + end) // 2 for _, start, end in widest]


def _mass_cuts(columns: np.ndarray, n: int) -> list[int]:
    cumulative = np.cumsum(columns) / columns.sum()
    return [int(np.searchsorted(cumulative, k / n - 1e-9)) + 1 for k in range(1, n)]


def masks(regions: list[Region]) -> list[Image.Image]:
    """One white-on-black mask per region ("L" images of the regions' image size)."""
    out = []
    for region in regions:
        a = np.zeros((region.height, region.width), dtype=np.uint8)
        a[region.y0 : region.y1, region.x0 : region.x1] = 255
        out.append(Image.fromarray(a, mode="L"))
    return out


def crop(image: Image.Image, region: Region) -> Image.Image:
    return image.crop(region.scaled(image.width, image.height).box())


def subject_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of the foreground with a small margin, squared where the image allows;
    None when the image has no foreground (nothing to crop to)."""
    mask = foreground(image)
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    side = max(x1 - x0, y1 - y0)
    margin = int(round(side * CROP_MARGIN))
    side = min(side + 2 * margin, max(image.width, image.height))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = min(side, image.width), min(side, image.height)
    left = int(round(min(max(cx - w / 2, 0), image.width - w)))
    top = int(round(min(max(cy - h / 2, 0), image.height - h)))
    return (left, top, left + w, top + h)


def crop_to_subject(data: bytes) -> bytes:
    """PNG bytes of the image cropped to its subject (the character on its plain background);
    the bytes unchanged when there is no foreground or it already fills the image."""
    image = Image.open(io.BytesIO(data))
    image.load()
    box = subject_box(image.convert("RGB"))
    if box is None or box == (0, 0, image.width, image.height):
        return data
    buffer = io.BytesIO()
    image.convert("RGB").crop(box).save(buffer, format="PNG")
    return buffer.getvalue()
