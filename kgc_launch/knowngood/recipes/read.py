"""Reading a checkout (or a directory) of vllm-project/recipes: its recipe files and its commit.

Every problem is an `InputError` naming the file, the line where YAML says, and the field: a recipe that is
not a mapping, a `model` without `model_id`, a field of the wrong kind. Values the importer cannot use (a
version that is not one, flags that do not parse) are not errors: they are skipped and listed by the import.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgc_launch.errors import InputError
from kgc_launch.yamlio import read_text_limited

RECIPE_MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Checkout:
    root: Path
    """The repository's root: recipe paths are given relative to it (`models/Org/Name.yaml`)."""
    models: Path
    commit: str | None


@dataclass(frozen=True)
class RecipeFile:
    path: str
    """Relative to the checkout's root, with `/`."""
    data: dict[str, Any]


def open_checkout(path: Path, commit: str | None) -> Checkout:
    """A checkout (with `models/`) or a `models/` directory itself; the commit given, else its git HEAD."""
    if not path.exists():
        raise InputError("no such recipes checkout", path=path)
    if not path.is_dir():
        raise InputError("expected the recipes repository's directory (or its models/ directory)", path=path)
    if (path / "models").is_dir():
        root, models = path, path / "models"
    elif any(path.glob("*/*.yaml")) or any(path.glob("*.yaml")):
        root, models = (path.parent if path.name == "models" else path), path
    else:
        raise InputError(
            "no recipes here: expected models/<org>/<name>.yaml files",
            path=path,
            hint="pass a checkout of https://github.com/vllm-project/recipes (or its models/ directory)",
        )
    return Checkout(root, models, commit or git_head(root))


def recipe_paths(checkout: Checkout) -> list[Path]:
    return sorted(p for p in checkout.models.rglob("*.yaml") if p.is_file())


def read_recipe(checkout: Checkout, file: Path) -> RecipeFile:
    relative = file.relative_to(checkout.root).as_posix()
    data = load_yaml(file, what="recipe file")
    if not isinstance(data, dict):
        raise InputError("a recipe must be a mapping (meta:, model:, variants:, ...)", path=file)
    model = data.get("model")
    if not isinstance(model, dict):
        raise InputError("`model:` must be a mapping with model_id", path=file, field="model")
    model_id = model.get("model_id")
    if not isinstance(model_id, str) or "/" not in model_id.strip():
        raise InputError("must be a Hugging Face id ORG/NAME", path=file, field="model.model_id")
    for name in ("meta", "variants", "features", "hardware_overrides"):
        if data.get(name) is not None and not isinstance(data[name], dict):
            raise InputError("must be a mapping", path=file, field=name)
    return RecipeFile(relative, data)


def load_yaml(file: Path, *, what: str) -> Any:
    """One YAML document as plain data (YAML 1.2, as the recipes site reads it), read as a registry is."""
    from kgc_launch.knowngood.parse import parse_plain

    return parse_plain(read_text_limited(file, max_bytes=RECIPE_MAX_BYTES, what=what), path=file, what=what)


def git_head(root: Path) -> str | None:
    """The commit checked out at `root`, read from `.git` (no git needed); None when it cannot be told."""
    git = root / ".git"
    try:
        if git.is_file():
            pointer = git.read_text(encoding="utf-8").strip()
            if not pointer.startswith("gitdir:"):
                return None
            git = (root / pointer.removeprefix("gitdir:").strip()).resolve()
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head if _is_sha(head) else None
    ref = head.removeprefix("ref:").strip()
    common = git
    with contextlib.suppress(OSError):
        common = (git / (git / "commondir").read_text(encoding="utf-8").strip()).resolve()
    for base in (git, common):
        try:
            value = (base / ref).read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if _is_sha(value):
            return value
    for base in (git, common):
        try:
            packed = (base / "packed-refs").read_text(encoding="utf-8")
        except OSError:
            continue
        for line in packed.splitlines():
            sha, _, name = line.partition(" ")
            if name.strip() == ref and _is_sha(sha):
                return sha
    return None


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text.lower())
