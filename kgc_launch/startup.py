"""A fast start: the code `dataclasses` compiles for kgc-launch's records, kept between runs.

A dataclass's `__init__`, `__repr__`, `__eq__` (and a frozen one's `__hash__`, `__setattr__`,
`__delattr__`) are written as source text and compiled each time the class is defined: a launch defines
~80 records, ~470 compiles, which callgrind counts as ~44% of the instructions of a launch on a simulated
node (`scripts/bench` has the timings). Python keeps a module's bytecode in a .pyc file for the same
reason; this keeps those functions' code objects in one marshal file in the user's cache, keyed by their
exact source text and named by the interpreter version. Only kgc_launch's own classes are served from it
(the classes and their behaviour are the same, only the compile is skipped). New code is saved when the
process exits or just before it execs the engine; a file that cannot be read, is not the user's own, or is
writable by others is ignored, as a .pyc would be rewritten.

Installed by the entry point (`kgc_launch.__main__`), not on import, so that tests and library users
calling kgc_launch in-process keep their environment untouched.
"""

from __future__ import annotations

import builtins
import marshal
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from types import CodeType
from typing import Any

from kgc_launch.filecache import default_cache_dir

_MAX_ENTRIES = 4000  # far above what every command together defines; keeps an old checkout's code from piling up


class _DataclassCode:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.codes: dict[str, Any] = _read(path) if path is not None else {}
        self.used: set[str] = set()
        self.new = False

    def exec(self, source: Any, globals: dict[str, Any] | None = None, locals: Any = None) -> None:
        """`exec` as the dataclasses module calls it: `exec(text, globals, namespace)`."""
        if not (isinstance(source, str) and globals is not None and _ours(globals)):
            builtins.exec(source, globals, locals)
            return
        code = self.codes.get(source)
        if not isinstance(code, CodeType):  # not cached (or a damaged entry): compiled as dataclasses would
            # exec(text) compiles with filename "<string>" and no __future__ flags from this module.
            code = self.codes[source] = compile(source, "<string>", "exec", dont_inherit=True)
            self.new = True
        self.used.add(source)
        builtins.exec(code, globals, locals)

    def save(self) -> None:
        if not self.new or self.path is None:
            return
        self.new = False
        keep = self.codes if len(self.codes) <= _MAX_ENTRIES else {text: self.codes[text] for text in self.used}
        from kgc_launch.atomic import write_atomic

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, marshal.dumps(keep), mode=0o600)
        except (OSError, ValueError):
            pass  # no cache: the next start compiles again


def _ours(globals: dict[str, Any]) -> bool:
    name = globals.get("__name__")
    return isinstance(name, str) and (name == "kgc_launch" or name.startswith("kgc_launch."))


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return {}  # code someone else could have written is never run
            codes = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return codes if isinstance(codes, dict) else {}


_installed: _DataclassCode | None = None


def install(environ: Mapping[str, str] = os.environ) -> None:
    """Serve kgc_launch's dataclass code from the cache; call before any of its records is defined."""
    global _installed
    if _installed is not None:
        return
    import atexit
    import dataclasses

    cache_dir = default_cache_dir(environ)
    name = f"dataclass-code-{sys.implementation.cache_tag}-marshal{marshal.version}.bin"
    _installed = _DataclassCode(cache_dir / name if cache_dir is not None else None)
    # dataclasses looks `exec` up in its module globals before builtins: the one name it resolves there.
    dataclasses.exec = _installed.exec  # type: ignore[attr-defined]
    atexit.register(_installed.save)


def before_exec() -> None:
    """Flush what was written and save new compiled code: an exec runs no atexit handler."""
    sys.stdout.flush()
    sys.stderr.flush()
    if _installed is not None:
        _installed.save()
