"""Where a model comes from: a local folder or a hub id in the Hugging Face cache, and which of its
weight files (the ``fp16`` variant or the full-precision ones) load.

A hub id is looked up in the cache (``sdxl.cache_dir``, else ``HF_HOME``'s ``hub/``), in the
Hub's own layout: ``models--org--name/refs/main`` naming a snapshot under ``snapshots/``. With
``HF_HUB_OFFLINE=1`` nothing is downloaded. ``load_variants`` tries the variants in order (on
CUDA the ``fp16`` files first, on CPU the full files first), falls back to the next one, and logs
which loaded; a cache holding only one kind of files loads either way. A model that loads with no
variant is a ``ConfigurationError`` that says whether the model is in the cache at all.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable, TypeVar

from media_stream.domain.errors import ConfigurationError

log = logging.getLogger(__name__)
T = TypeVar("T")
_TRUE = ("1", "true", "yes", "on")
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def is_local_reference(ref: str) -> bool:
    """A folder path (absolute, relative with ./ or ~, or existing) rather than an 'org/name' id."""
    return ref.startswith(("/", ".", "~")) or ref.count("/") > 1 or Path(ref).expanduser().exists()


def resolve_reference(what: str, ref: str) -> str:
    """The folder (checked to exist) or the hub id to hand to ``from_pretrained``."""
    if is_local_reference(ref):
        path = Path(ref).expanduser()
        if not path.is_dir():
            raise ConfigurationError(f"{what}: local model folder {str(path)!r} does not exist")
        return str(path)
    return ref


def hub_cache(cache_dir: str | None) -> Path:
    if cache_dir:
        return Path(cache_dir)
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_snapshot(repo_id: str, cache_dir: str | None) -> Path | None:
    """The snapshot folder ``refs/main`` points at, or None when the repo is not in the cache."""
    repo = hub_cache(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    ref = repo / "refs" / "main"
    if ref.is_file():
        snapshot = repo / "snapshots" / ref.read_text().strip()
        if snapshot.is_dir():
            return snapshot
    snapshots = sorted((repo / "snapshots").glob("*")) if (repo / "snapshots").is_dir() else []
    return snapshots[-1] if snapshots else None


def weight_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.name.endswith(WEIGHT_SUFFIXES))


def variant_order(setting: str | None, device_type: str) -> tuple[str | None, ...]:
    """``auto``: the fp16 files first on CUDA, the full files first on CPU, each falling back to the
    other; an explicit variant falls back to the full files; None (or 'none'): the full files only."""
    if setting is None or setting.strip().lower() in ("", "none", "full"):
        return (None,)
    if setting == "auto":
        return ("fp16", None) if device_type == "cuda" else (None, "fp16")
    return (setting, None)


def describe_variant(variant: str | None) -> str:
    return f"the {variant} variant files" if variant else "the full-precision files"


def load_variants(what: str, ref: str, variants: tuple[str | None, ...], loader: Callable[[str | None], T], cache_dir: str | None) -> T:
    """``loader(variant)`` for each variant in turn until one loads; logs which one did."""
    failures: list[tuple[str | None, BaseException]] = []
    for variant in variants:
        try:
            loaded = loader(variant)
        except ConfigurationError:
            raise
        except Exception as exc:  # diffusers/transformers/hub raise OSError, ValueError, HTTP errors...
            failures.append((variant, exc))
            continue
        skipped = "; ".join(f"{describe_variant(v)} did not load ({type(e).__name__})" for v, e in failures)
        log.info("%s %s: loaded %s%s", what, ref, describe_variant(variant), f" ({skipped})" if skipped else "")
        return loaded
    raise ConfigurationError(explain_failure(what, ref, failures, cache_dir))


def load_or_explain(what: str, ref: str, loader: Callable[[], T], cache_dir: str | None = None) -> T:
    """Run ``loader``; any failure becomes a ConfigurationError that names the model."""
    return load_variants(what, ref, (None,), lambda _variant: loader(), cache_dir)


def explain_failure(what: str, ref: str, failures: list[tuple[str | None, BaseException]], cache_dir: str | None) -> str:
    tried = "; ".join(f"{describe_variant(v)}: {type(e).__name__}: {e}" for v, e in failures)
    if is_local_reference(ref):
        found = weight_files(Path(ref).expanduser())
        return f"{what} {ref!r} cannot be loaded from its folder (weight files there: {found or 'none'}): {tried}"
    snapshot = cached_snapshot(ref, cache_dir)
    cache = hub_cache(cache_dir)
    if snapshot is None:
        where = f"the Hugging Face cache {str(cache)!r}"
        if hub_offline():
            return (
                f"{what} {ref!r} is not in {where} and HF_HUB_OFFLINE=1 downloads nothing: download it there "
                f"(`hf download {ref}`; HF_HOME or sdxl.cache_dir choose the cache): {tried}"
            )
        return f"{what} {ref!r} is neither in {where} nor downloadable: {tried}"
    return (
        f"{what} {ref!r} is in the Hugging Face cache ({snapshot}) but cannot be loaded from it "
        f"(weight files there: {weight_files(snapshot) or 'none'}): {tried}"
    )
