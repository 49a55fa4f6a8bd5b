"""Every problem of a registry file, each located at its line: for `registry validate` and failed loads.

The data is validated from the fast loader's output; only when something is wrong is the text parsed a
second time, round-trip, to find the lines. Checks: YAML syntax, unknown keys, wrong types, unknown
severities, bad verdicts, flag text that is not flags, regexes that do not compile or can backtrack
without bound, bad version specifiers, and model ids or aliases registered twice for the same engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgc_launch.errors import InputError
from kgc_launch.knowngood.parse import parse_located, parse_plain
from kgc_launch.knowngood.registry import engine_key, id_key
from kgc_launch.knowngood.schema import RegistryDocument
from kgc_launch.records import from_plain
from kgc_launch.yamlio import line_of

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "field": self.field, "message": self.message}


def check_text(path: str | Path, text: str) -> tuple[RegistryDocument | None, list[Problem]]:
    """The validated document, or every problem found (syntax errors stop at the first)."""
    try:
        plain = parse_plain(text, path=path)
    except InputError as error:
        return None, [Problem(str(path), error.line, None, error.message)]
    if plain is None:
        return None, [Problem(str(path), None, None, "the registry is empty: expected `schema:` and `models:`")]
    found: list[tuple[Loc, str]] = []
    document = None
    from pydantic import ValidationError

    try:
        document = from_plain(RegistryDocument, plain)
    except ValidationError as error:
        found += [(tuple(detail["loc"]), _message(detail)) for detail in error.errors(include_url=False)]
    found += duplicate_ids(plain)
    if not found:
        return document, []
    located = parse_located(text, path=path)
    problems = [Problem(str(path), _line(located, loc), _field(loc), message) for loc, message in found]
    problems.sort(key=lambda problem: (problem.line is None, problem.line or 0))
    return None, problems


def validated_document(path: str | Path, text: str) -> RegistryDocument:
    """The validated document, or an InputError naming the first problem (and how many more there are)."""
    document, problems = check_text(path, text)
    if document is not None:
        return document
    first = problems[0]
    hint = None
    if len(problems) > 1:
        hint = f"{len(problems) - 1} more problem(s): run 'kgc-launch registry validate {path}' to see them all"
    raise InputError(first.message, path=first.path, line=first.line, field=first.field, hint=hint)


def duplicate_ids(plain: Any) -> list[tuple[Loc, str]]:
    """Model ids and aliases that name two entries of the same engine (best effort on malformed data)."""
    models = plain.get("models") if isinstance(plain, dict) else None
    if not isinstance(models, list):
        return []
    seen: dict[tuple[str, str], str] = {}
    found: list[tuple[Loc, str]] = []
    for number, entry in enumerate(models):
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            continue
        engine = entry["engine"] if isinstance(entry.get("engine"), str) else "vllm"
        aliases = entry["aliases"] if isinstance(entry.get("aliases"), list) else []
        names: list[tuple[Loc, str]] = [(("models", number, "model"), entry["model"])]
        names += [(("models", number, "aliases", i), a) for i, a in enumerate(aliases) if isinstance(a, str)]
        for loc, name in names:
            key = (engine_key(engine), id_key(name))
            if key in seen:
                found.append((loc, f"duplicate model id {name!r} for engine {engine!r}: already {seen[key]}"))
            else:
                seen[key] = f"the {'model' if loc[-1] == 'model' else 'alias'} of models[{number}]"
    return found


def _message(detail: Any) -> str:
    kind, loc, value = detail["type"], detail["loc"], detail.get("input")
    name = loc[-1] if loc else "registry"
    if kind == "extra_forbidden":
        return f"unknown key {name!r} (see 'kgc-launch schema' for the keys allowed here)"
    if kind == "missing":
        return f"missing required key {name!r}"
    if kind == "literal_error":
        return f"unknown {name} {value!r}: expected {detail['ctx']['expected']}"
    if kind == "string_type":
        return f"expected text, got {_yaml_kind(value)}"
    if kind == "list_type":
        return f"expected a list, got {_yaml_kind(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        what = "a mapping with `schema:` and `models:`" if not loc else "a mapping"
        return f"expected {what}, got {_yaml_kind(value)}"
    if kind == "value_error":
        return str(detail["ctx"]["error"])
    return str(detail["msg"])


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    return f"{type(value).__name__} {value!r}"


def _field(loc: Loc) -> str | None:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _line(document: Any, loc: Loc) -> int | None:
    """Line of the deepest part of `loc` that exists in the round-trip document."""
    node, line = document, line_of(document)
    for part in loc:
        if not (isinstance(node, list) if isinstance(part, int) else isinstance(node, dict)):
            return line
        try:
            child = node[part]
        except (KeyError, IndexError, TypeError):
            return line
        line = line_of(node, part) or line
        node = child
    return line
