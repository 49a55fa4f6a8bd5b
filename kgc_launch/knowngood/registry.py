"""A loaded registry: entries found by model id or alias, decoded only when looked at.

Built either from a freshly validated document (entries in memory) or from the cache (entries read from
its data file one at a time); either way a lookup is an index probe plus decoding the entry found.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgc_launch.knowngood.cache import CachedEntries
from kgc_launch.knowngood.schema import ModelEntry, entry_from_plain, entry_to_plain


@dataclass(frozen=True)
class Origin:
    """Where a requirement (or an entry's field) came from: the layer and its file."""

    layer: str
    """`registry` (the user's registry) or a generated layer's name (`recipes`)."""
    file: str

    def describe(self) -> str:
        return f"{self.layer} layer {self.file}" if self.layer != USER_LAYER else f"registry {self.file}"


USER_LAYER = "registry"


@dataclass(frozen=True)
class Found:
    """An entry found for a launch, and which of the launch's ids found it."""

    entry: ModelEntry
    matched_id: str
    by_alias: bool
    origin: Origin | None = None
    """Where the entry came from; None: the registry it was found in (`Registry.path`)."""
    flag_origins: tuple[Origin, ...] = ()
    """Per required flag, where it came from, when the entry merges layers (else every flag is `origin`'s)."""
    field_origins: tuple[tuple[str, Origin], ...] = ()
    """Per top-level field taken from a layer under the registry, where it came from (merged entries)."""

    @property
    def layers(self) -> tuple[str, ...]:
        """The layers the entry is made of, the user's registry first."""
        names = [self.origin.layer if self.origin is not None else USER_LAYER]
        names += [origin.layer for origin in self.flag_origins] + [origin.layer for _, origin in self.field_origins]
        return tuple(dict.fromkeys(names))

    def flag_origin(self, number: int, default: Origin) -> Origin:
        if number < len(self.flag_origins):
            return self.flag_origins[number]
        return self.origin or default

    def field_origin(self, name: str, default: Origin) -> Origin:
        for field_name, origin in self.field_origins:
            if field_name == name:
                return origin
        return self.origin or default


def id_key(model_id: str) -> str:
    """Model ids compare case-insensitively, as the Hugging Face Hub resolves them."""
    return model_id.strip().casefold()


def engine_key(engine: str) -> str:
    return engine.strip().casefold()


class Registry:
    """The models of one registry file. `path` names the file it came from (every output names it)."""

    layer_name = USER_LAYER
    """The name outputs give this registry's layer (a generated layer's file sets its own)."""

    def __init__(self, path: Path, entries: Sequence[ModelEntry] = (), cached: CachedEntries | None = None) -> None:
        self.path = path
        self._cached = cached
        self._entries: dict[int, ModelEntry] = dict(enumerate(entries))
        self._count = len(cached) if cached is not None else len(self._entries)
        self._index: dict[str, list[int]] = {}
        for number, entry in enumerate(entries):
            for model_key in dict.fromkeys(id_key(model_id) for model_id in entry.ids()):
                self._index.setdefault(model_key, []).append(number)

    @classmethod
    def from_entries(cls, path: Path, entries: Sequence[ModelEntry]) -> Registry:
        return cls(path, entries)

    @classmethod
    def from_cache(cls, path: Path, cached: CachedEntries) -> Registry:
        """From the cache (validated when it was written)."""
        return cls(path, cached=cached)

    def cache_parts(self) -> tuple[list[bytes], list[list[str]]]:
        """What the cache stores: each entry as marshalled plain data, and its case-folded ids."""
        entries = list(self.entries())
        blobs = [marshal.dumps(entry_to_plain(entry)) for entry in entries]
        return blobs, [[id_key(model_id) for model_id in entry.ids()] for entry in entries]

    def plain(self, number: int) -> dict[str, Any]:
        """An entry as plain data (`entry_to_plain`), without building the entry when it is cached."""
        if number not in self._entries and self._cached is not None and 0 <= number < self._count:
            data: dict[str, Any] = marshal.loads(self._cached.blob(number))
            return data
        return entry_to_plain(self.entry(number))

    def __len__(self) -> int:
        return self._count

    def entry(self, number: int) -> ModelEntry:
        entry = self._entries.get(number)
        if entry is None:
            if self._cached is None or not 0 <= number < self._count:
                raise IndexError(number)
            entry = self._entries[number] = entry_from_plain(marshal.loads(self._cached.blob(number)))
        return entry

    def entries(self) -> Iterator[ModelEntry]:
        for number in range(self._count):
            yield self.entry(number)

    def _numbers_for(self, model_id: str) -> list[int]:
        model_key = id_key(model_id)
        if self._cached is None:
            return self._index.get(model_key, [])
        # The cache's table is keyed by a hash: keep the entries that really carry this id.
        numbers = self._cached.numbers_for(model_key)
        return [n for n in numbers if model_key in {id_key(i) for i in self.entry(n).ids()}]

    def find(self, model_ids: Sequence[str], engine: str | None = None) -> Found | None:
        """The entry of the first id (model or alias) that has one for `engine` (any engine when None)."""
        for model_id in model_ids:
            for number in self._numbers_for(model_id):
                entry = self.entry(number)
                if engine is None or engine_key(entry.engine) == engine_key(engine):
                    return Found(entry, model_id, by_alias=id_key(entry.model) != id_key(model_id))
        return None

    def find_all(self, model_id: str) -> list[Found]:
        """Every entry (one per engine) that `model_id` names."""
        found = []
        for number in self._numbers_for(model_id):
            entry = self.entry(number)
            found.append(Found(entry, model_id, by_alias=id_key(entry.model) != id_key(model_id)))
        return found
