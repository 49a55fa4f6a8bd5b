"""`import_recipes(PATH)`: a recipes checkout -> a registry layer in our format, validated, as YAML text.

Entries are keyed by the model id a variant serves; where two recipes serve the same id, the recipe whose own
`model_id` it is wins, else the first by path (the other is listed as skipped). Every entry is validated with
the registry's schema before it is written: what does not validate is skipped and listed, never written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgc_launch.knowngood.recipes.build import SOURCE, Notes, Recipe, entries_for
from kgc_launch.knowngood.recipes.read import open_checkout, read_recipe, recipe_paths
from kgc_launch.knowngood.registry import id_key

GENERATED_BY = "kgc-launch registry import-recipes"


@dataclass
class ImportResult:
    text: str
    """The layer, as YAML."""
    commit: str | None
    recipes: int
    entries: int
    text_recipes: int
    """Recipes whose `meta.tasks` has `text` (text generation)."""
    text_recipes_covered: int
    """Of those, how many have at least one entry in the layer."""
    boot_blocking_entries: int
    """Entries with at least one boot-blocking flag requirement."""
    notes: Notes = field(default_factory=Notes)

    def summary(self) -> dict[str, Any]:
        return {
            "source": SOURCE,
            "commit": self.commit,
            "recipes": self.recipes,
            "entries": self.entries,
            "text_recipes": self.text_recipes,
            "text_recipes_covered": self.text_recipes_covered,
            "entries_with_boot_blocking_flags": self.boot_blocking_entries,
            "skipped": self.notes.skipped,
            "flags_not_imported": self.notes.skipped_flags,
            "boot_blockers_downgraded_by_guides": self.notes.downgraded,
            "flags_not_in_severity_table": {k: sorted(set(v)) for k, v in sorted(self.notes.unknown_flags.items())},
        }


def import_recipes(path: Path, *, commit: str | None = None) -> ImportResult:
    """Read every `models/**/*.yaml` of the checkout at `path` and build the layer."""
    from pydantic import ValidationError

    from kgc_launch.knowngood.schema import ModelEntry
    from kgc_launch.records import from_plain

    checkout = open_checkout(path, commit)
    notes = Notes()
    recipes = [
        Recipe(f.path, f.data, checkout.commit, notes)
        for f in map(lambda p: read_recipe(checkout, p), recipe_paths(checkout))
    ]
    chosen: dict[str, tuple[Recipe, dict[str, Any]]] = {}
    order: list[str] = []
    for recipe in recipes:
        for entry in entries_for(recipe):
            key = id_key(entry["model"])
            if key in chosen:
                owner = chosen[key][0]
                if id_key(owner.model_id) != key and id_key(recipe.model_id) == key:
                    notes.skipped.append(
                        f"{owner.path}: {entry['model']}: also served by {recipe.path}, its own recipe"
                    )
                    chosen[key] = (recipe, entry)
                else:
                    notes.skipped.append(f"{recipe.path}: {entry['model']}: already imported from {owner.path}")
                continue
            chosen[key] = (recipe, entry)
            order.append(key)
    entries: list[dict[str, Any]] = []
    taken_ids: set[str] = set(chosen)
    for key in order:
        recipe, entry = chosen[key]
        aliases = [a for a in entry.get("aliases", []) if id_key(a) not in taken_ids]
        if aliases:
            entry["aliases"] = aliases
            taken_ids.update(id_key(a) for a in aliases)
        else:
            entry.pop("aliases", None)
        try:
            from_plain(ModelEntry, entry)
        except ValidationError as error:
            detail = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in detail["loc"])
            notes.skipped.append(f"{recipe.path}: {entry['model']}: {where}: {detail['msg']} (entry not imported)")
            continue
        entries.append(entry)
    covered = {id_key(chosen[id_key(e["model"])][0].model_id) for e in entries}
    text_recipes = [r for r in recipes if "text" in r.tasks]
    boot = sum(
        1
        for e in entries
        if any(f.get("severity") == "boot-blocker" and "flag" in f for f in e.get("required_flags", []))
    )
    return ImportResult(
        text=render_layer(entries, checkout.commit),
        commit=checkout.commit,
        recipes=len(recipes),
        entries=len(entries),
        text_recipes=len(text_recipes),
        text_recipes_covered=sum(1 for r in text_recipes if id_key(r.model_id) in covered),
        boot_blocking_entries=boot,
        notes=notes,
    )


HEADER = """\
# yaml-language-server: $schema=./known-good-configs.schema.json
# ==========================================================================================================
# GENERATED: the recipes layer, imported from {source}{at}. Do not edit: regenerate with
#   scripts/import_recipes.sh PATH-TO-A-RECIPES-CHECKOUT
# kgc-launch reads it under your own registry (your entry for a model wins, field by field; docs/recipes.md).
# --no-recipes or KGC_NO_RECIPES=1 turns it off. Every requirement's `evidence` names the recipe file.
# ==========================================================================================================
"""


def render_layer(entries: list[dict[str, Any]], commit: str | None) -> str:
    """The layer as YAML: block mappings, every scalar JSON-quoted (valid YAML 1.2, stable byte for byte)."""
    lines = [HEADER.format(source=SOURCE, at=f" at commit {commit}" if commit else "").rstrip("\n")]
    lines.append("schema: known_good_config_v1")
    layer = {"name": "recipes", "source": SOURCE, "commit": commit, "generated_by": GENERATED_BY}
    lines.append("layer:")
    lines += _mapping_lines({k: v for k, v in layer.items() if v is not None}, 1)
    lines.append("models:")
    for entry in entries:
        block = _mapping_lines(entry, 2)
        block[0] = "  - " + block[0].lstrip()
        lines += block
    return "\n".join(lines) + "\n"


def _mapping_lines(data: dict[str, Any], depth: int) -> list[str]:
    pad = "  " * depth
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            if all(not isinstance(v, (dict, list)) or _flat_list(v) for v in value.values()):
                lines.append(f"{pad}{key}: {_flow(value)}")
            else:
                lines.append(f"{pad}{key}:")
                lines += _mapping_lines(value, depth + 1)
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            lines.append(f"{pad}{key}:")
            for item in value:
                block = _mapping_lines(item, depth + 2)
                block[0] = f"{pad}  - " + block[0].lstrip()
                lines += block
        else:
            lines.append(f"{pad}{key}: {_flow(value)}")
    return lines


def _flat_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(item, (dict, list)) for item in value)


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)
