"""The entry point of `kgc-launch` and `python -m kgc_launch`.

Ctrl-C is answered from the entry point's first line on, with one line and exit 130. The handler is
installed before the CLI's modules are imported. An interrupt that lands while a module is being imported
ends the process there and then: unwinding an import half-way can make an extension module fail loudly
(pydantic-core's Rust start-up panics when its own import of `datetime` is interrupted). Anywhere else it
raises KeyboardInterrupt as usual, so that `finally` blocks run (atomic writes remove their temporary
file) and the CLI's error funnel prints the line.

This module imports only what the interpreter has loaded before it: `_signal`, not `signal` (which imports
enum, functools and more), no `typing` (20 ms), no `contextlib`: an interrupt while those load would come
before the handler.
"""

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; mypy reads it the same way
if TYPE_CHECKING:
    import signal as _signal
    from types import FrameType
else:
    import _signal

INTERRUPTED = 130
_LINE = b"kgc-launch: interrupted\n"


def main() -> int:
    try:
        try:
            # Inside the `try`: a Ctrl-C already pending runs the handler as soon as it is installed.
            _signal.signal(_signal.SIGINT, _on_interrupt)
            from kgc_launch import startup

            startup.install()
            from kgc_launch.cli import main as cli_main

            return cli_main()
        finally:
            # The exit code is decided (an exec never comes back here): a late Ctrl-C must not become a traceback.
            _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    except KeyboardInterrupt:
        _say_interrupted()
        return INTERRUPTED


def _on_interrupt(signum: int, frame: "FrameType | None") -> None:
    if _importing(frame):
        _say_interrupted()
        os._exit(INTERRUPTED)
    raise KeyboardInterrupt


def _importing(frame: "FrameType | None") -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _say_interrupted() -> None:
    try:  # noqa: SIM105 (contextlib is not loaded yet)
        sys.stdout.flush()
    except (OSError, ValueError, RuntimeError):  # a closed pipe, or a flush already under way
        pass
    try:  # noqa: SIM105
        os.write(2, _LINE)
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
