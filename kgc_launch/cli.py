"""Command line entry point: picks a subcommand or a launch, and funnels every error to an exit code.

Grammar:
    kgc-launch SUBCOMMAND [ARGS...]                      e.g. `kgc-launch probe --json`
    kgc-launch [LAUNCH OPTIONS] [--] ENGINE ENGINE-ARGS   e.g. `kgc-launch vllm serve MODEL ...`

Only the standard library is imported at module level, and not argparse: a launch parses its own options
(kgc_launch.launch_options); a subcommand imports its parser and what else it needs.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, cast

from kgc_launch import __version__
from kgc_launch.commands import COMMANDS
from kgc_launch.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, KgcError, UsageError

if TYPE_CHECKING:
    import argparse

PROG = "kgc-launch"


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


# A command's options that share a launch option's name but not its meaning (module -> option names).
NOT_LAUNCH_OPTIONS = {"kgc_launch.commands.record": frozenset(["--hardware"])}


class _Launcher(Protocol):
    def run_launch(self, argv: list[str]) -> int: ...


def _top_level_help() -> str:
    width = max((len(name) for name in COMMANDS), default=8)
    lines = [
        f"usage: {PROG} SUBCOMMAND [ARGS...]",
        f"       {PROG} [LAUNCH OPTIONS] [--] ENGINE ENGINE-ARGS...   (e.g. {PROG} vllm serve MODEL)",
        "",
        "Launch an LLM inference server only with a config known to work on the GPUs at hand.",
        "",
        "subcommands:",
    ]
    lines += [f"  {name:<{width}}  {spec.summary}" for name, spec in COMMANDS.items()]
    lines += [
        "",
        "options:",
        "  --help-launch  the launch options (each also a KGC_* variable and a --kgc-config key)",
        "  --version      print the version",
        "  -h, --help     this help",
        "",
        f"'{PROG} SUBCOMMAND --help' describes one subcommand. Exit codes are listed in the README.",
    ]
    return "\n".join(lines)


_RUN_AS_IS = ("ray",)
"""Programs the launch grammar runs unchanged: an LeaderWorkerSet worker's `ray start` under the same
ENTRYPOINT as its leader's launch (kgc_launch.hardware.lws)."""


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(_top_level_help())
        return 0 if argv else EXIT_USAGE
    if argv[0] == "--help-launch":
        from kgc_launch.launch_options import launch_help

        print(launch_help(), end="")
        return 0
    if argv[0] == "--version":
        print(f"{PROG} {__version__}")
        return 0
    name = argv[0]
    spec = COMMANDS.get(name)
    if spec is None:
        _refuse_a_misspelt_subcommand(name)
        return _launch(argv)
    from kgc_launch.commands import _settings
    from kgc_launch.commands._parser import make_parser  # argparse: a launch does not import it

    command = cast(_Command, importlib.import_module(spec.module))
    parser = make_parser(f"{PROG} {name}", spec.summary)
    command.add_arguments(parser)
    bound = _settings.bind(parser, exclude=NOT_LAUNCH_OPTIONS.get(spec.module, frozenset()))
    args = parser.parse_args(argv[1:])
    _settings.apply(args, bound, os.environ)
    note = _settings.not_from_the_command_line(args)
    if note:
        print(note, file=sys.stderr)
    return command.run(args)


def _refuse_a_misspelt_subcommand(name: str) -> None:
    """`kgc-launch prob`: neither a subcommand nor an engine, but close to a subcommand (or to an engine's name)."""
    from kgc_launch.engines import ADAPTERS

    if name.startswith("-") or "/" in name or name in ADAPTERS or name in _RUN_AS_IS or name.startswith("python"):
        return  # an option, a path to an executable, or an engine: the launch grammar decides
    import difflib  # only here: a launch does not pay for it

    close = difflib.get_close_matches(name, [*COMMANDS, *ADAPTERS], n=1, cutoff=0.6)
    if not close:
        return
    hint = f"see '{PROG} --help' for the subcommands, '{PROG} --help-launch' for launching an engine"
    if close[0] in ADAPTERS:
        hint = f"an engine spelled another way is named with --engine: {PROG} --engine {close[0]} {name} serve ..."
    raise UsageError(f"unknown subcommand {name!r}: did you mean {close[0]!r}?", hint=hint)


def _launch(argv: list[str]) -> int:
    try:
        launcher = cast(_Launcher, importlib.import_module("kgc_launch.commands.launch"))
    except ModuleNotFoundError as exc:
        if exc.name != "kgc_launch.commands.launch":
            raise
        raise UsageError(
            f"unknown subcommand {argv[0]!r}",
            hint=f"known subcommands: {', '.join(COMMANDS) or 'none'}; see '{PROG} --help'",
        ) from None
    return launcher.run_launch(argv)


def _wants_debug(argv: Sequence[str]) -> bool:
    if os.environ.get("KGC_DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    # Launch arguments after `--` belong to the engine; `--debug` there is not ours.
    for token in argv:
        if token == "--debug":
            return True
        if token == "--":
            return False
    return False


def format_error(error: KgcError) -> str:
    text = f"{PROG}: error: {error}"
    if error.hint:
        text += f"\n  hint: {error.hint}"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code. This is the one error funnel of the tool."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(args)
    except KgcError as error:
        if _wants_debug(args):
            import traceback

            traceback.print_exc()
        print(format_error(error), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing more can be said on stdout.
        sys.stderr.close()
        return 0
    except Exception as error:  # the funnel: anything else is a bug, reported in one line
        if _wants_debug(args):
            import traceback

            traceback.print_exc()
        print(
            f"{PROG}: internal error (a bug): {type(error).__name__}: {error}\n"
            f"  hint: re-run with --debug for the traceback, and report it",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
