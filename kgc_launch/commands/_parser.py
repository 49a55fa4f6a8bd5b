"""The subcommands' argparse parser: errors go to the CLI's funnel as UsageError, never to argparse's exit."""

from __future__ import annotations

import argparse

from kgc_launch.errors import UsageError


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting, so the funnel stays the only exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        hint = f"see '{self.prog} --help'"
        if message.endswith("expected one argument"):
            option = message.removeprefix("argument ").partition(":")[0].split("/")[-1]
            hint = f"a value that starts with '-' is attached with '=': {option}=--VALUE; {hint}"
        raise UsageError(message, hint=hint)


def make_parser(prog: str, description: str | None = None) -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog=prog, description=description)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    return parser
