"""Request inputs (reference and control images, voice clips), read only from our own store.

An input is a storage key, never a URL: nothing here opens a network address a request names.
Each read is capped in bytes before it is fetched, and an image is capped in pixels from its
header before Pillow decodes it. Every refusal is a ValidationError naming the request field.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, UnidentifiedImageError

from media_stream.domain import limits
from media_stream.domain.errors import ValidationError
from media_stream.storage.base import ObjectNotFound, ObjectStore
from media_stream.storage.keys import validate_key

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")


class InputReader:
    """Reads a request's inputs from ``store`` by key, within byte and pixel caps."""

    def __init__(
        self,
        store: ObjectStore,
        *,
        max_image_bytes: int = limits.MAX_INPUT_IMAGE_BYTES,
        max_image_pixels: int = limits.MAX_INPUT_IMAGE_PIXELS,
        max_audio_bytes: int = limits.MAX_INPUT_AUDIO_BYTES,
    ) -> None:
        self.store = store
        self.max_image_bytes = max_image_bytes
        self.max_image_pixels = max_image_pixels
        self.max_audio_bytes = max_audio_bytes

    def read_bytes(self, field: str, key: str, max_bytes: int) -> bytes:
        """The object's bytes; refused when the key is not ours or the object is over ``max_bytes``."""
        validate_key(key, field)
        try:
            stat = getattr(self.store, "stat", None)
            if stat is not None:
                _check_size(field, key, stat(key).size, max_bytes)  # before any byte is fetched
            data = self.store.get(key)
        except (ObjectNotFound, FileNotFoundError) as exc:
            raise ValidationError(field, f"no object {key!r} in our storage") from exc
        _check_size(field, key, len(data), max_bytes)  # it may have been replaced since stat
        return data

    def read_image(self, field: str, key: str) -> Image.Image:
        """A decoded image (PNG, JPEG or WebP) of at most ``max_image_pixels``."""
        data = self.read_bytes(field, key, self.max_image_bytes)
        return decode_image(field, data, self.max_image_pixels)

    def read_image_bytes(self, field: str, key: str) -> bytes:
        """The encoded image, after checking that it decodes within the caps."""
        data = self.read_bytes(field, key, self.max_image_bytes)
        decode_image(field, data, self.max_image_pixels)
        return data

    def read_audio(self, field: str, key: str) -> bytes:
        """A voice clip's encoded bytes (decoding is the speech backend's business)."""
        return self.read_bytes(field, key, self.max_audio_bytes)


def decode_image(field: str, data: bytes, max_pixels: int, formats: Sequence[str] = IMAGE_FORMATS) -> Image.Image:
    """Decode ``data`` only if its header says it has at most ``max_pixels`` pixels."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(formats))
    except Image.DecompressionBombError as exc:
        raise ValidationError(field, f"image is a decompression bomb: {exc}", f"at most {max_pixels} pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(field, "is not a readable image", ", ".join(formats)) from exc
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        image.close()
        raise ValidationError(field, f"image is {width}x{height} ({width * height} pixels)", f"at most {max_pixels} pixels")
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise ValidationError(field, f"image is a decompression bomb: {exc}", f"at most {max_pixels} pixels") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(field, f"image does not decode: {exc}", ", ".join(formats)) from exc
    return image


def _check_size(field: str, key: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ValidationError(field, f"object {key!r} is {size} bytes", f"at most {max_bytes} bytes")
