"""One configuration for every command: a subcommand's options named like launch options take their value
from the same `KGC_*` variable and `--kgc-config` key, with the same precedence (command line, environment,
config file, default), and each command can say where a value came from.

`bind(parser)` finds the options of `kgc_launch.launch_options.OPTIONS` among a command's argparse options
(by name), adds `--kgc-config FILE`, and marks each bound option's help with its variable; after parsing,
`apply(args, bound, environ)` fills what the command line left from the environment, then the file, then
the command's own default, and records `args.setting_origins` (dest -> `--hardware` / `from KGC_HARDWARE`
/ `from the --kgc-config file F`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kgc_launch.errors import UsageError
from kgc_launch.launch_options import BY_NAME, ConfigFile, OptionSpec, origin, pick, truth

_KGC_CONFIG = BY_NAME["--kgc-config"]


@dataclass(frozen=True)
class Bound:
    spec: OptionSpec
    action: argparse.Action
    default: Any
    """The command's own default (argparse's default is replaced so that "not given" can be told apart)."""


def bind(parser: argparse.ArgumentParser, *, exclude: frozenset[str] = frozenset()) -> list[Bound]:
    """Bind the launch options `parser` (and its subcommands' parsers) share by name; `exclude` names options
    that only look alike (`record --hardware` is a description, not GPUs to plan for)."""
    bound: list[Bound] = []
    for leaf in _leaf_parsers(parser):
        for action in leaf._actions:
            spec = next((BY_NAME[name] for name in action.option_strings if name in BY_NAME), None)
            if spec is None or spec.name in exclude or spec is _KGC_CONFIG:
                continue
            bound.append(Bound(spec, action, action.default))
            action.default = argparse.SUPPRESS
            if action.help != argparse.SUPPRESS:
                action.help = f"{action.help or ''} [{spec.env}]".lstrip()
        if not any("--kgc-config" in action.option_strings for action in leaf._actions):
            leaf.add_argument("--kgc-config", metavar="FILE", help=f"{_KGC_CONFIG.help} [{_KGC_CONFIG.env}]")
    return bound


def _leaf_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """`parser`, or the parsers of its subcommands (`registry validate`, `gate closure`)."""
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield parser
        return
    for action in subcommands:
        for sub in dict.fromkeys(action.choices.values()):
            yield from _leaf_parsers(sub)


def apply(args: argparse.Namespace, bound: list[Bound], environ: Mapping[str, str]) -> None:
    """Fill every bound option the command line left: environment, then config file, then the default."""
    given = getattr(args, "kgc_config", None)
    config = ConfigFile.find([given] if given else None, environ)
    origins: dict[str, str] = {}
    done: set[str] = set()
    for item in bound:
        dest = item.action.dest
        if dest in done:
            continue
        done.add(dest)
        if hasattr(args, dest):
            origins[dest] = item.spec.name
            continue
        picked = pick(item.spec, {}, environ, config)
        if picked is None:
            setattr(args, dest, item.default)
            continue
        values, source = picked
        where = item.spec.env if source == "env" else f"'{item.spec.key}' in the {config.describe()}"
        setattr(args, dest, _value(item, values, where))
        origins[dest] = origin(item.spec, source, config)
    args.setting_origins = origins


def _value(item: Bound, values: list[str], where: str) -> Any:
    """Raw values from the environment or the file, as argparse would have stored them from the command line."""
    action = item.action
    if isinstance(action, argparse._StoreTrueAction):
        return truth(values[-1], where)
    if isinstance(action, argparse._AppendAction):
        return [_typed(action, value, where) for value in values]
    if item.spec.kind == "list":
        return _typed(action, ",".join(values), where)
    return _typed(action, values[-1], where)


def _typed(action: argparse.Action, value: str, where: str) -> Any:
    converted: Any = value
    if callable(action.type):
        try:
            converted = action.type(value)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
            raise UsageError(f"{where}={value!r}: {error}") from None
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise UsageError(f"{where}={value!r} is not one of {choices}", hint=f"use one of {choices}")
    return converted


def origin_of(args: argparse.Namespace, dest: str) -> str | None:
    """Where a bound option's value came from (`--hardware`, `from KGC_HARDWARE`, ...); None for the default."""
    origins: dict[str, str] = getattr(args, "setting_origins", {})
    return origins.get(dest)


def from_command_line(args: argparse.Namespace, dest: str) -> bool:
    found = origin_of(args, dest)
    return found is not None and found.startswith("--")


def described(args: argparse.Namespace, dest: str, value: object | None = None) -> str:
    """`VALUE (where it came from)`; the value alone when it is the command's default."""
    shown = getattr(args, dest) if value is None else value
    found = origin_of(args, dest)
    return f"{shown} ({found})" if found else str(shown)


def not_from_the_command_line(args: argparse.Namespace) -> str | None:
    """One line naming the settings the environment or a config file gave, for stderr; None when none did."""
    origins: dict[str, str] = getattr(args, "setting_origins", {})
    parts = [
        f"{_shown(dest, getattr(args, dest, None))} {found}"
        for dest, found in origins.items()
        if not found.startswith("--")
    ]
    return f"kgc-launch: settings not on the command line: {'; '.join(parts)}" if parts else None


def _shown(dest: str, value: object) -> str:
    name = "--" + dest.replace("_", "-")
    if isinstance(value, bool):
        return name if value else f"{name} off"
    if isinstance(value, list):
        return f"{name} {' '.join(map(str, value))}"
    return f"{name} {value}"
