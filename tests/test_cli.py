from __future__ import annotations

import subprocess
import sys

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

