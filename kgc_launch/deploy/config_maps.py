"""ConfigMaps: the values a container's `env` takes from them, where the ConfigMap is among the scanned files.

A container names a ConfigMap by name (`valueFrom.configMapKeyRef`, `envFrom.configMapRef`), in its own
namespace. A repository often keeps the ConfigMap in a file of its own beside the Deployment (kubectl
`apply -f DIR`, a kustomize base), and may hold several of that name (overlays, alternative setups): the
nearest one is taken, its own file's first, then the fewest folders apart; one whose stated namespace
differs from the container's object's is not. Its `data` fills the entries as Kubernetes does: `envFrom`
first (valid variable names only), then `env`, whose entries win. Keys it lacks stay unknown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from kgc_launch.deploy.launch import mapping

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


@dataclass(frozen=True)
class ConfigMapData:
    """One ConfigMap of a scanned file."""

    name: str
    namespace: str | None
    path: str
    data: dict[str, str]


def config_maps_in(documents: Sequence[Any], path: str) -> list[ConfigMapData]:
    """The ConfigMaps (with `data`) among one file's documents, `kind: List` items included."""
    found: list[ConfigMapData] = []
    for document in documents:
        if not isinstance(document, dict):
            continue
        items = document.get("items")
        if str(document.get("kind", "")).endswith("List") and isinstance(items, list):
            found += config_maps_in(items, path)
            continue
        if document.get("kind") != "ConfigMap" or not isinstance(document.get("data"), dict):
            continue
        metadata = mapping(document.get("metadata"))
        namespace = metadata.get("namespace")
        data = {str(key): _text(value) for key, value in document["data"].items() if value is not None}
        found.append(ConfigMapData(str(metadata.get("name", "")), None if namespace is None else str(namespace),
                                   path, data))  # fmt: skip
    return found


def with_config_maps(node: Any, maps: Sequence[ConfigMapData], path: str, namespace: str | None) -> Any:
    """The container mapping with the values its `env` and `envFrom` take from known ConfigMaps written in
    (a new mapping; the original, and so the lines of its command and args, untouched); else `node`."""
    if not maps or not isinstance(node, dict):
        return node
    entries: list[Any] = node["env"] if isinstance(node.get("env"), list) else []
    sources: list[Any] = node["envFrom"] if isinstance(node.get("envFrom"), list) else []
    resolved: list[Any] = []
    kept_sources: list[Any] = []
    changed = False
    for source in sources:
        ref = mapping(mapping(source).get("configMapRef"))
        found = _nearest(maps, str(ref.get("name", "")), namespace, path) if ref else None
        if found is None or source.get("prefix"):
            kept_sources.append(source)
            continue
        resolved += [{"name": key, "value": value} for key, value in found.data.items() if _ENV_NAME.match(key)]
        changed = True
    for entry in entries:
        ref = mapping(mapping(mapping(entry).get("valueFrom")).get("configMapKeyRef"))
        found = _nearest(maps, str(ref.get("name", "")), namespace, path) if ref else None
        key = str(ref.get("key", ""))
        if found is None or key not in found.data:
            resolved.append(entry)
            continue
        resolved.append({"name": entry.get("name"), "value": found.data[key]})
        changed = True
    if not changed:
        return node
    return {**node, "env": resolved, "envFrom": kept_sources or None}


def _nearest(maps: Sequence[ConfigMapData], name: str, namespace: str | None, path: str) -> ConfigMapData | None:
    named = [m for m in maps if m.name == name and (None in (m.namespace, namespace) or m.namespace == namespace)]
    return min(named, key=lambda m: folders_apart(path, m.path), default=None)


def folders_apart(one: str, other: str) -> int:
    """How far two scanned files are: 0 for the same file, else 1 + the folders between them."""
    if one == other:
        return 0
    first, second = PurePath(one).parent.parts, PurePath(other).parent.parts
    shared = next((i for i, pair in enumerate(zip(first, second, strict=False)) if pair[0] != pair[1]), None)
    shared = min(len(first), len(second)) if shared is None else shared
    return 1 + (len(first) - shared) + (len(second) - shared)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
