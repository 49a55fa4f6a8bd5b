"""Loading a registry: from the validated cache when the file is unchanged, else parsed and validated.

The launch path calls `load_registry` on every start, so the unchanged case does no YAML at all: one
stat, one cache read, and an index lookup later. A changed (or first-seen) file is parsed with the fast
loader, validated in full, and cached; a file that does not validate is an InputError naming the first
problem and its line (exit 3), and nothing is cached.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kgc_launch import filecache
from kgc_launch.knowngood import cache
from kgc_launch.knowngood.locate import Location, find_registry, locate_registry
from kgc_launch.knowngood.registry import Registry
from kgc_launch.yamlio import read_text_limited

__all__ = ["REGISTRY_MAX_BYTES", "Location", "find_registry", "load_registry", "load_text", "locate_registry"]

REGISTRY_MAX_BYTES = 64 * 1024 * 1024
"""Larger than a 10,000-entry registry by a wide margin, small enough to refuse a wrong file quickly."""


def load_registry(
    path: str | os.PathLike[str], *, cache_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> Registry:
    """The registry at `path`. `cache_dir` defaults to `$XDG_CACHE_HOME/kgc-launch` (or `~/.cache/...`)."""
    file = Path(path)
    if cache_dir is None:
        cache_dir = filecache.default_cache_dir(os.environ if environ is None else environ)
    key = filecache.stat_key(file)
    if key is not None:
        cached = cache.read_cache(key, cache_dir)
        if cached is not None:
            return Registry.from_cache(file, cached)
    text = read_text_limited(file, max_bytes=REGISTRY_MAX_BYTES, what="registry")
    registry = load_text(file, text)
    # Cache only what was read from exactly this version of the file (it may have changed meanwhile).
    if key is not None and filecache.stat_key(file) == key:
        cache.write_cache(key, *registry.cache_parts(), cache_dir, content=text.encode("utf-8"))
    return registry


def load_text(path: Path, text: str) -> Registry:
    """A registry from its text, validated in full (InputError with the first located problem)."""
    from kgc_launch.knowngood.validate import validated_document

    document = validated_document(path, text)
    return Registry.from_entries(path, document.models)


def prime_cache(
    path: Path, blobs: list[bytes], ids: list[list[str]], content: bytes, *, cache_dir: Path | None = None
) -> None:
    """Cache a registry just written (by `record`: `Registry.cache_parts` of it) so that the next launch does
    not parse it again."""
    if cache_dir is None:
        cache_dir = filecache.default_cache_dir(os.environ)
    key = filecache.stat_key(path)
    if key is not None:
        cache.write_cache(key, blobs, ids, cache_dir, content=content)
