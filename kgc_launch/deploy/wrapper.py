"""kgc-launch's own options on a launch that starts through it (`kgc-launch [options] -- vllm serve ...`).

They are read with the launcher's parser, from the command line and the `KGC_*` variables the file sets,
so the check applies what the launcher will: `--hardware` (instead of the check's), `--registry` (or
`$KNOWN_GOOD_CONFIG_REGISTRY`), `--require-registered`, and for ferrum `--set`, `--workload` and
`--ferrum-features`. Files named there are read where this machine can read them (a check run inside the
image sees the image's files); one that is not here is in the container: what rests on it is not evaluated.
The launcher's own grammar is applied too: its options after the engine stop it with a usage error.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field

from kgc_launch.deploy.launch import Launch
from kgc_launch.launch_options import BY_NAME, LaunchOptions, misplaced_options

_LAUNCH_ENV = {spec.env for spec in BY_NAME.values()}
REGISTRY_VARIABLE = "KNOWN_GOOD_CONFIG_REGISTRY"


@dataclass
class WrapperOptions:
    options: LaunchOptions
    notes: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    """What the launcher would decide from a value this check cannot see: the launch is not evaluated."""
    stop: str | None = None
    """The usage error the launcher would stop on before starting anything (exit 2), with the fix."""
    registry: str | None = None
    """The registry the launcher would be given (`--registry`, `KGC_REGISTRY`, `$KNOWN_GOOD_CONFIG_REGISTRY`),
    None when it would look for one itself."""


def wrapper_options(launch: Launch) -> WrapperOptions:
    """The launcher's options for `launch` (defaults when it is not started through kgc-launch). Raises
    KgcError as the launcher would at start (an unknown option, `--set` without `=`)."""
    from kgc_launch.launch_options import parse_launch_argv

    if not launch.wrapped:
        return WrapperOptions(LaunchOptions())
    environ = {name: value for name, value in launch.known_env().items() if name.startswith("KGC_")}
    read = WrapperOptions(LaunchOptions())
    tokens: list[str] = []
    words = [word for word in launch.wrapper if word != "--"]
    index = 0
    while index < len(words):
        word = words[index]
        name, eq, inline = word.partition("=")
        if name == "--kgc-config":
            path = inline if eq else words[index + 1] if index + 1 < len(words) else ""
            if os.path.isfile(path):
                tokens += ["--kgc-config", path]
            else:
                read.notes.append(
                    f"its --kgc-config file {path} is in the container: the options in it are not read here"
                )
            index += 1 if eq else 2
            continue
        if name not in ("-h", "--help"):
            tokens.append(word)
        index += 1
    config = environ.get("KGC_CONFIG")
    if config is not None and not os.path.isfile(config):
        del environ["KGC_CONFIG"]
        read.notes.append(f"its KGC_CONFIG file {config} is in the container: the options in it are not read here")
    for name, why in launch.unknown_env().items():
        if name in _LAUNCH_ENV or name == REGISTRY_VARIABLE:
            read.undecided.append(f"not evaluated: kgc-launch reads {name}, whose value is not in the file ({why})")
    parsed = parse_launch_argv([*tokens, "--", launch.engine], environ)
    read.options = LaunchOptions() if parsed is None else parsed[0]
    read.registry = read.options.registry or launch.known_env().get(REGISTRY_VARIABLE) or None
    if read.options.dry_run:
        read.notes.append(
            f"kgc-launch runs it as a dry run ({read.options.origins['dry_run']}): the engine never starts"
        )
    read.stop = _misplaced(launch)
    return read


def _misplaced(launch: Launch) -> str | None:
    """kgc-launch's options after the engine: the launcher stops with a usage error naming the fixed command."""
    spans = misplaced_options(launch.engine, launch.args)
    if not spans:
        return None
    moved = [token for begin, end in spans for token in launch.args[begin:end]]
    kept = [token for index, token in enumerate(launch.args) if not any(b <= index < e for b, e in spans)]
    before = [word for word in launch.wrapper if word != "--"]
    fixed = shlex.join(["kgc-launch", *before, *moved, "--", launch.engine, "serve", *kept])
    return f"kgc-launch would stop (exit 2): launch options go before the engine: {fixed}"
