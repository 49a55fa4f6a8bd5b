"""One engine launch's serve arguments in the common format that the registry, both engines and the deploy
check share: the model and every option by canonical name.

Each engine's parser fills it in (`kgc_launch.vllm.args`, `kgc_launch.ferrum.args`) and supplies its own
spelling rule, so code that only reads options never depends on an engine.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kgc_launch.errors import UsageError
from kgc_launch.findings import Finding

OptionValue = str | bool | list[str] | dict[str, Any]

HUMAN_INT = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgGtT])$")
"""A number with a `human_readable_int` suffix (`1k`, `25.6k`, `2M`)."""
_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_BINARY = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def plain_name(name: str) -> str:
    """`--Max_Num_Seqs` -> `max-num-seqs`: dashes for underscores up to the first `.`, no leading dashes."""
    head, dot, tail = name.lstrip("-").partition(".")
    return head.replace("_", "-") + dot + tail


@dataclass
class ServeArgs:
    """The parsed arguments of one `vllm serve`: the model and every option by canonical name."""

    model: str | None = None
    options: dict[str, OptionValue] = field(default_factory=dict)
    """Canonical name (dashes, no `--`) -> True/False for booleans, a list for multi-value flags, a dict
    for JSON objects, else the value as written."""
    from_config_file: set[str] = field(default_factory=set)
    """Options whose value came from the `--config` file (not overridden on the command line)."""
    config_file: str | None = None
    extra_positionals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    """What the engine would reject in these arguments (a refusal) or only some of its releases accept (a
    warning): the engine parser's verdicts, for every command that runs this launch to report alike."""
    canonical: Callable[[str], str] = field(default=plain_name, repr=False, compare=False)
    """The engine's spelling rule: a flag as written (`-tp`, `--Max_Num_Seqs`) -> its canonical name."""
    human_int_options: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    """Integer options the engine reads with `human_readable_int` (`1k`); others take plain integers."""

    def get(self, name: str) -> OptionValue | None:
        return self.options.get(self.canonical(name))

    def has(self, name: str) -> bool:
        return self.canonical(name) in self.options

    def int_value(self, name: str) -> int | None:
        """An integer option as vLLM reads it (`human_readable_int` where vLLM uses it)."""
        key = self.canonical(name)
        value = self.options.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise UsageError(f"--{key} takes an integer, got {value!r}", hint=f"pass --{key} N")
        try:
            return human_readable_int(value) if key in self.human_int_options else int(value.strip())
        except ValueError:
            raise UsageError(f"--{key}: {value!r} is not an integer", hint=f"pass --{key} N") from None

    def float_value(self, name: str) -> float | None:
        key = self.canonical(name)
        value = self.options.get(key)
        if value is None:
            return None
        try:
            return float(value) if isinstance(value, str) else float("nan")
        except ValueError:
            raise UsageError(f"--{key}: {value!r} is not a number", hint=f"pass --{key} 0.9") from None


def human_readable_int(value: str) -> int:
    """vLLM's `human_readable_int`: `1k` = 1000, `1K` = 1024, `25.6k` = 25600; `auto`/-1 where allowed."""
    text = value.strip()
    if text.lower() == "auto":
        return -1
    match = HUMAN_INT.fullmatch(text)
    if match is None:
        return int(text)
    number, suffix = match.groups()
    if suffix in _DECIMAL:
        return int(float(number) * _DECIMAL[suffix])
    if "." in number:
        raise ValueError(f"decimals are not allowed with binary suffixes like {suffix}")
    return int(number) * _BINARY[suffix]


def render_serve_args(args: ServeArgs) -> list[str]:
    """A canonical token list: the model, then options sorted by name, JSON compact with sorted keys."""
    tokens = [] if args.model is None else [args.model]
    for name in sorted(args.options):
        value = args.options[name]
        if value is True:
            tokens.append(f"--{name}")
        elif value is False:
            tokens.append(f"--no-{name}")
        elif isinstance(value, list) and len(value) == 1 and not value[0].lstrip().startswith("{"):
            tokens.append(f"--{name}={value[0]}")  # `=` keeps a value such as `-x` or `` unambiguous
        elif isinstance(value, list):
            tokens.append(f"--{name}")
            tokens += value
        elif isinstance(value, dict):
            tokens.append(f"--{name}={json.dumps(value, sort_keys=True, separators=(',', ':'))}")
        else:
            tokens.append(f"--{name}={value}")
    return tokens


def render_command_line(args: ServeArgs) -> str:
    """The canonical rendering joined for a shell (what registry `match` regexes are applied to)."""
    return shlex.join(render_serve_args(args))
