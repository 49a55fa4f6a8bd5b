"""One way of writing a requirement: flag text (`--gdn-prefill-backend triton`) or an environment assignment.

A registry entry's `flag`, each of its `equivalents` and its `env` are all spellings. Flag text is read
exactly as `vllm serve` reads its own arguments (`parse_serve_args`), so `--max_num_seqs=512`,
`--max-num-seqs 512` and `--additional-config.gdn_prefill_backend triton` mean what vLLM takes them to mean.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache

from kgc_launch.serve_args import OptionValue
from kgc_launch.vllm.args import parse_serve_args

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Spelling:
    """A requirement written one way: the options it sets, or one environment variable."""

    text: str
    """As written in the registry."""
    options: dict[str, OptionValue] = field(default_factory=dict)
    """Canonical option name -> required value (flag spellings)."""
    env: tuple[str, str] | None = None
    """(NAME, VALUE) for an environment spelling."""

    @property
    def is_env(self) -> bool:
        return self.env is not None


def is_env_text(text: str) -> bool:
    """Whether `text` is written as an environment assignment (`NAME=VALUE`) rather than flags."""
    name, eq, _ = text.strip().partition("=")
    return bool(eq) and _ENV_NAME.match(name) is not None


@lru_cache(maxsize=4096)
def parse_env(text: str) -> Spelling:
    """`NCCL_P2P_DISABLE=1` -> a spelling; ValueError says what is wrong."""
    name, eq, value = text.strip().partition("=")
    if not eq or _ENV_NAME.match(name) is None:
        raise ValueError(f"{text!r} is not an environment assignment NAME=VALUE (e.g. NCCL_P2P_DISABLE=1)")
    return Spelling(text=text, env=(name, value))


@lru_cache(maxsize=4096)
def parse_flags(text: str) -> Spelling:
    """Flag text -> the options it sets. ValueError (with the reason) for anything that is not flags only."""
    try:
        tokens = shlex.split(text)
    except ValueError as error:
        raise ValueError(f"cannot split {text!r} like a shell would: {error}") from None
    if not tokens:
        raise ValueError("the flag text is empty")
    if "--config" in tokens:
        raise ValueError("--config FILE cannot be a requirement: name the flags the file sets instead")
    args = parse_serve_args(tokens)
    if args.model is not None or args.extra_positionals:
        stray = args.model if args.model is not None else args.extra_positionals[0]
        raise ValueError(
            f"{text!r} is not flags only: {stray!r} is not a flag or a flag's value "
            "(write flags such as `--max-num-seqs 512`)"
        )
    if args.notes:
        raise ValueError(f"{text!r}: {args.notes[0]}")
    if not args.options:
        raise ValueError(f"{text!r} sets no option")
    return Spelling(text=text, options=dict(args.options))


def parse_spelling(text: str) -> Spelling:
    """An equivalent: flag text when it starts with `-`, an environment assignment otherwise."""
    if not text.strip().startswith("-") and is_env_text(text):
        return parse_env(text)
    return parse_flags(text)
