"""The shipped model catalog (`registry/model-catalog.json`): published config.json numbers by Hub id.

The fallback for machines without Hub access. Built by `scripts/build_model_catalog.py` from the records in
`registry/model-metadata/` (each with where its config.json was copied from, and when). JSON, read with the
standard library, so the launch path pays no YAML import; an entry is decoded only when looked up. Lookups
ignore case, as the Hub does when it resolves a repo id.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kgc_launch.data import shipped_file
from kgc_launch.errors import InputError
from kgc_launch.filecache import load_json

CATALOG_FILE = "model-catalog.json"


@dataclass(frozen=True)
class CatalogEntry:
    model_id: str
    source: str
    """The config.json the numbers were copied from."""
    config: dict[str, Any]
    weight_bytes: int | None
    weight_bytes_source: str
    recorded_from: str = ""
    """Where the copy of config.json was read (a repository, path and commit)."""
    recorded_on: str = ""


@lru_cache(maxsize=1)
def _raw_catalog() -> dict[str, dict[str, Any]]:
    """Raw entries keyed by lower-cased Hub id."""
    path = shipped_file(CATALOG_FILE)
    try:
        document = load_json(path)
        return {str(raw["id"]).lower(): raw for raw in document["models"]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"cannot read the shipped model catalog: {error}", path=path) from None


def load_catalog() -> dict[str, CatalogEntry]:
    """Every entry, keyed by lower-cased Hub id."""
    return {key: _decode(key, raw) for key, raw in _raw_catalog().items()}


def _decode(key: str, raw: dict[str, Any]) -> CatalogEntry:
    try:
        return _entry(raw)
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(f"cannot read the shipped model catalog entry {key!r}: {error}") from None


def _entry(raw: dict[str, Any]) -> CatalogEntry:
    weight = raw.get("weight_bytes")
    return CatalogEntry(
        model_id=str(raw["id"]),
        source=str(raw["source"]),
        config=dict(raw["config"]),
        weight_bytes=int(weight) if isinstance(weight, int) else None,
        weight_bytes_source=str(raw.get("weight_bytes_source", "")),
        recorded_from=str(raw.get("recorded_from", "")),
        recorded_on=str(raw.get("recorded_on", "")),
    )


def catalog_entry(model_id: str) -> CatalogEntry | None:
    raw = _raw_catalog().get(model_id.lower())
    return None if raw is None else _decode(model_id.lower(), raw)


def catalog_ids() -> list[str]:
    return sorted(str(raw["id"]) for raw in _raw_catalog().values())
