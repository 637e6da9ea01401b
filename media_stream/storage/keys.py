"""The one check every store applies to an object key before touching anything."""

from __future__ import annotations

import re

from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import validate_id

MAX_KEY_LENGTH = 1024  # S3's limit, in UTF-8 bytes; our keys are ASCII
ALLOWED_KEY = "'/'-separated ids (letters, digits, '.', '_', '-'), no empty part, no '..', no leading '/'"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def validate_key(key: str, field: str = "storageKey") -> str:
    """Return ``key`` if every '/'-part is a safe id, else raise ValidationError naming ``field``.

    Refuses '..', a leading '/', empty parts, backslashes, control characters and URLs, so a
    key can never leave its bucket prefix or the filesystem root.
    """
    if not isinstance(key, str) or not key:
        raise ValidationError(field, "must be a non-empty storage key", ALLOWED_KEY)
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError(field, f"is {len(key)} characters long", f"at most {MAX_KEY_LENGTH}")
    if _SCHEME.match(key) or key.startswith("//"):
        raise ValidationError(field, f"{key[:60]!r} is a URL, not a storage key", "a key in our own storage")
    if key.startswith("/"):
        raise ValidationError(field, f"{key[:60]!r} starts with '/'", ALLOWED_KEY)
    for part in key.split("/"):
        validate_id(field, part)
    return key
