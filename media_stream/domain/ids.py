"""Ids that become parts of storage keys and message keys: validated, never sanitised silently."""

from __future__ import annotations

import re

from media_stream.domain.errors import ValidationError

MAX_ID_LENGTH = 128
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
ALLOWED_ID = f"1..{MAX_ID_LENGTH} of letters, digits, '.', '_', '-', starting with a letter or digit, no '..'"


def validate_id(field: str, value: str) -> str:
    """Return ``value`` if it is a safe id, else raise ValidationError naming ``field``.

    Rejects '/', '\\', '..', control characters, empty and over-long ids, so an id can never
    climb out of its storage prefix or forge another project's key.
    """
    if not isinstance(value, str) or not value:
        raise ValidationError(field, "must be a non-empty id", ALLOWED_ID)
    if len(value) > MAX_ID_LENGTH:
        raise ValidationError(field, f"is {len(value)} characters long", ALLOWED_ID)
    if ".." in value or not _ID_PATTERN.fullmatch(value):
        raise ValidationError(field, f"{value[:40]!r} is not a safe id", ALLOWED_ID)
    return value


def storage_key(kind: str, project_id: str, job_id: str, part: str, render_version: int, ext: str) -> str:
    """The deterministic object key ``{kind}/{projectId}/{jobId}/{part}/{renderVersion}.{ext}``.

    A retry or crash-restart of the same work writes the same key, so storage keeps no orphans.
    """
    validate_id("kind", kind)
    validate_id("projectId", project_id)
    validate_id("jobId", job_id)
    validate_id("part", part)
    validate_id("ext", ext)
    if not isinstance(render_version, int) or render_version < 1:
        raise ValidationError("renderVersion", f"{render_version!r} is not a positive integer")
    return f"{kind}/{project_id}/{job_id}/{part}/{render_version}.{ext}"
