"""Is a requirement met by a launch's serve arguments and environment, and what exactly would fix it. Pure.

A requirement is written one or more ways (its `flag` or `env`, plus `equivalents`). Each way is compared
with the launch by meaning, not text: booleans by truth, numbers by value (`1k` = 1000 where vLLM reads it
so), JSON objects as a subset (the required keys with the required values, nested, in any order or
dotted spelling). The requirement is met when one way is present with the required value and no other way
is present with a different one (vLLM would then use that other value), or when the entry's explicit
`match` regex matches the canonical rendering of the arguments.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kgc_launch.knowngood.regexguard import bounded_search
from kgc_launch.knowngood.schema import RequiredFlag
from kgc_launch.knowngood.spelling import Spelling, parse_env, parse_flags, parse_spelling
from kgc_launch.serve_args import OptionValue, ServeArgs, human_readable_int

Status = Literal["satisfied", "absent", "differs"]


@dataclass
class FixParts:
    """What to add to a launch: environment assignments and options (JSON merged with what is there)."""

    env: dict[str, str] = field(default_factory=dict)
    options: dict[str, OptionValue] = field(default_factory=dict)

    def add(self, other: FixParts) -> None:
        self.env.update(other.env)
        for name, value in other.options.items():
            current = self.options.get(name)
            if isinstance(current, dict) and isinstance(value, dict):
                self.options[name] = deep_merge(current, value)
            else:
                self.options[name] = value

    def render(self) -> str:
        """Shell-quoted text: `NAME=value` assignments first (they go before the command), then the flags."""
        words = [f"{name}={shlex.quote(value)}" for name, value in self.env.items()]
        for name, value in self.options.items():
            words += [shlex.quote(token) for token in render_option(name, value)]
        return " ".join(words)

    def __bool__(self) -> bool:
        return bool(self.env or self.options)


@dataclass(frozen=True)
class Outcome:
    satisfied: bool
    matched_by: str | None = None
    """The spelling (or `match /regex/`) that met the requirement."""
    conflicts: tuple[str, ...] = ()
    """Settings in the launch that contradict the requirement, as `--name=value` or `NAME=value`."""
    fix: FixParts = field(default_factory=FixParts)


def spellings(requirement: RequiredFlag) -> list[Spelling]:
    """The requirement's own spelling first, then its equivalents."""
    own = parse_flags(requirement.flag) if requirement.flag is not None else parse_env(str(requirement.env))
    return [own, *(parse_spelling(text) for text in requirement.equivalents)]


def explicit_match(requirement: RequiredFlag) -> str | None:
    """The entry's own regex; the original tool's default (the escaped flag) adds nothing to the flag itself."""
    if requirement.match is None or (requirement.flag is not None and requirement.match == re.escape(requirement.flag)):
        return None
    return requirement.match


def evaluate(
    requirement: RequiredFlag, args: ServeArgs, env: Mapping[str, str], *, rendered: str, what: str
) -> Outcome:
    """Compare one requirement with a launch. `rendered` is `render_command_line(args)`."""
    ways = spellings(requirement)
    statuses = [spelling_status(way, args, env) for way in ways]
    differing = [way for way, status in zip(ways, statuses, strict=True) if status == "differs"]
    conflicts = tuple(_current_value(way, args, env) for way in differing)
    pattern = explicit_match(requirement)
    if pattern is not None and bounded_search(pattern, rendered, what=what):
        return Outcome(True, matched_by=f"match /{pattern}/")
    if not differing:
        for way, status in zip(ways, statuses, strict=True):
            if status == "satisfied":
                return Outcome(True, matched_by=way.text)
    # Fix what contradicts in its own spelling (a later flag overrides an earlier one), else add ours.
    fix = FixParts()
    for way in differing or ways[:1]:
        fix.add(_fix_for(way, args))
    return Outcome(False, conflicts=conflicts, fix=fix)


def spelling_status(way: Spelling, args: ServeArgs, env: Mapping[str, str]) -> Status:
    if way.env is not None:
        name, value = way.env
        if name not in env:
            return "absent"
        return "satisfied" if env[name] == value else "differs"
    return _combine(
        [
            option_status(name, value, args.options.get(name), human_ints=args.human_int_options)
            for name, value in way.options.items()
        ]
    )


def option_status(
    name: str, required: OptionValue, actual: OptionValue | None, *, human_ints: frozenset[str] = frozenset()
) -> Status:
    """How an option of the launch compares with a required value."""
    if actual is None:
        return "absent"
    if isinstance(required, dict):
        return _dict_status(required, actual) if isinstance(actual, dict) else "differs"
    if name in human_ints and isinstance(required, str) and isinstance(actual, str):
        return "satisfied" if _same_int(required, actual) else "differs"
    if isinstance(required, list) and isinstance(actual, str):
        actual = [actual]
    if isinstance(actual, list) and isinstance(required, str):
        return "satisfied" if len(actual) == 1 and same_value(required, actual[0]) else "differs"
    return "satisfied" if same_value(required, actual) else "differs"


def same_value(required: Any, actual: Any) -> bool:
    """Equal as vLLM would read them: booleans by truth, numbers by value, lists item by item."""
    if isinstance(required, dict):
        return isinstance(actual, dict) and _dict_status(required, actual) == "satisfied"
    if isinstance(required, list) or isinstance(actual, list):
        return (
            isinstance(required, list)
            and isinstance(actual, list)
            and len(required) == len(actual)
            and all(same_value(r, a) for r, a in zip(required, actual, strict=True))
        )
    if isinstance(required, bool) or isinstance(actual, bool):
        wanted = _as_bool(required)
        return wanted is not None and wanted == _as_bool(actual)
    if required == actual:
        return True
    number_r, number_a = _as_number(required), _as_number(actual)
    return number_r is not None and number_r == number_a


def _dict_status(required: dict[str, Any], actual: dict[str, Any]) -> Status:
    statuses: list[Status] = []
    for key, value in required.items():
        if key not in actual:
            statuses.append("absent")
        elif isinstance(value, dict) and isinstance(actual[key], dict):
            statuses.append(_dict_status(value, actual[key]))
        else:
            statuses.append("satisfied" if same_value(value, actual[key]) else "differs")
    return _combine(statuses)


def _combine(statuses: list[Status]) -> Status:
    if "differs" in statuses:
        return "differs"
    return "absent" if "absent" in statuses else "satisfied"


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _same_int(required: str, actual: str) -> bool:
    try:
        return human_readable_int(required) == human_readable_int(actual)
    except ValueError:
        return required.strip() == actual.strip()


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with `extra`'s keys set (nested objects merged), as a new dict; `base`'s key order first."""
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        merged[key] = deep_merge(current, value) if isinstance(current, dict) and isinstance(value, dict) else value
    return merged


def _fix_for(way: Spelling, args: ServeArgs) -> FixParts:
    if way.env is not None:
        return FixParts(env={way.env[0]: way.env[1]})
    options: dict[str, OptionValue] = {}
    for name, value in way.options.items():
        current = args.options.get(name)
        # Adding `--x '{"k":1}'` would replace the launch's whole `--x` object: merge into it instead.
        options[name] = deep_merge(current, value) if isinstance(current, dict) and isinstance(value, dict) else value
    return FixParts(options=options)


def _current_value(way: Spelling, args: ServeArgs, env: Mapping[str, str]) -> str:
    if way.env is not None:
        return f"{way.env[0]}={env.get(way.env[0], '')}"
    parts = []
    for name in way.options:
        value = args.options.get(name)
        if value is not None:
            parts.append(" ".join(render_option(name, value)))
    return " ".join(parts)


def render_option(name: str, value: OptionValue) -> list[str]:
    """One option as tokens, the way a person would type it."""
    if value is True:
        return [f"--{name}"]
    if value is False:
        return [f"--no-{name}"]
    if isinstance(value, list):
        return [f"--{name}", *value]
    if isinstance(value, dict):
        return [f"--{name}", json.dumps(value, separators=(",", ":"))]
    return [f"--{name}={value}"] if value.startswith("-") else [f"--{name}", value]
