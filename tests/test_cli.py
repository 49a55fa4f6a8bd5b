from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgc_launch import __version__, cli
from kgc_launch.errors import EXIT_INTERNAL, EXIT_USAGE


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"kgc-launch {__version__}"


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: kgc-launch SUBCOMMAND")
    for name in cli.COMMANDS:
        assert f"  {name} " in out


def test_no_arguments_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == EXIT_USAGE
    assert "usage:" in capsys.readouterr().out


def test_an_unexpected_exception_is_one_line_and_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(argv: list[str]) -> int:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(cli, "_dispatch", boom)
    assert cli.main(["anything"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "internal error (a bug): ZeroDivisionError: oops" in err
    assert "Traceback" not in err
    assert cli.main(["--debug", "anything"]) == EXIT_INTERNAL
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("KGC_DEBUG", "1")
    assert cli.main(["anything"]) == EXIT_INTERNAL
    assert "Traceback" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "kgc_launch", "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.strip() == f"kgc-launch {__version__}"


def test_help_lists_help_launch_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "\n  --help-launch  " in out and "\n  --version      " in out


def test_a_value_that_looks_like_an_option_gets_the_attached_form(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["record", "--model", "org/m", "--required-flag", "--enforce-eager", "--grind-frontier", "x"]
    assert cli.main(argv) == EXIT_USAGE
    assert "hint: a value that starts with '-' is attached with '=': --required-flag=--VALUE" in capsys.readouterr().err


# -- Ctrl-C (issue 12, item 5) ---------------------------------------------------------------------------

_DELAYS = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15, 0.25)


def _before_any_of_ours(code: int, err: str) -> bool:
    """Interrupted before kgc-launch's entry point ran: killed before Python installed its handler (a shell
    reports that as 130 too), or inside the interpreter's own start-up (`site`, `runpy`, finding and loading
    the entry module), which no program can guard. A traceback through kgc-launch's modules is not that."""
    if code == -signal.SIGINT and err == "":
        return True
    if err.startswith("Fatal Python error: ") and "/kgc_launch/" not in err:
        return True  # CPython's own start-up failed on the interrupt ("can't initialize sys standard streams")
    if "KeyboardInterrupt" not in err or "from kgc_launch.cli" in err:
        return False
    frames = re.findall(r'File "([^"]+)"', err)
    for index, frame in enumerate(frames):
        if "/kgc_launch/" not in frame:
            continue
        if not frame.endswith(("/kgc_launch/__init__.py", "/kgc_launch/__main__.py")):
            return False  # inside the CLI's modules: the handler is installed before they load
        if any(not later.startswith("<frozen") for later in frames[index + 1 :]):
            return False  # the entry module imports nothing the interpreter has not loaded already
    return True


@pytest.mark.parametrize(
    "entry",
    [[sys.executable, "-m", "kgc_launch"], [str(Path(sys.executable).with_name("kgc-launch"))]],
    ids=["python -m kgc_launch", "console script"],
)
def test_ctrl_c_at_any_moment_is_one_line_and_exit_130(entry: list[str], tmp_path: Path) -> None:
    """Interrupts land while Python starts, while kgc-launch's modules load (a KeyboardInterrupt traceback
    before the handler was installed first thing) and while it works: one line, exit 130."""
    if not Path(entry[0]).exists():
        pytest.skip("the console script is not installed beside this interpreter")
    argv = [*entry, "--dry-run", "--hardware", "H100", "vllm", "serve", "Qwen/Qwen3-8B"]
    outcomes = []
    for delay in _DELAYS:
        process = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        outcomes.append((delay, process.returncode, err))
        if _before_any_of_ours(process.returncode, err):
            continue
        if process.returncode == 0:  # it finished before the signal came
            continue
        assert (process.returncode, err) == (130, "kgc-launch: interrupted\n"), (delay, process.returncode, err)
    assert any(code == 130 for _, code, _ in outcomes), outcomes
