"""The launch grammar (issue 12, item 2): what happens before anything is planned, probed or written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kgc_launch import cli
from kgc_launch.errors import EXIT_USAGE
from kgc_launch.launch_options import engine_accepts, misplaced_options
from testing.fake_engine import make_fake_engine, read_record

MODEL = "Qwen/Qwen3-8B"


@pytest.fixture
def engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Recording `vllm` and `ferrum` first on PATH; the current directory is `tmp_path`."""
    bin_dir = tmp_path / "bin"
    for name in ("vllm", "ferrum"):
        make_fake_engine(bin_dir, name, tmp_path / f"{name}-record.json")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def launcher(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kgc_launch", *argv], cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("argv", "corrected"),
    [
        (["vllm", "serve", MODEL, "--dry-run"], f"kgc-launch --dry-run vllm serve {MODEL}"),
        (
            ["--quiet", "--", "vllm", "serve", MODEL, "--hardware", "H100", "-tp", "2", "--registry=r.yaml"],
            f"kgc-launch --quiet --hardware H100 --registry=r.yaml -- vllm serve {MODEL} -tp 2",
        ),
        (["ferrum", "serve", "/m", "--set", "FERRUM_A=1"], "kgc-launch --set FERRUM_A=1 ferrum serve /m"),
        (
            ["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", MODEL, "--json"],
            f"kgc-launch --json python3 -m vllm.entrypoints.openai.api_server --model {MODEL}",
        ),
    ],
)
def test_launch_options_after_the_engine_are_a_usage_error_with_the_corrected_command(
    argv: list[str], corrected: str, engines: Path
) -> None:
    done = launcher(argv, engines)
    assert done.returncode == EXIT_USAGE, done.stderr
    first, hint = done.stderr.splitlines()
    assert first == f"kgc-launch: error: launch options go before the engine: {corrected}"
    assert "which has no such option" in hint
    assert not (engines / "vllm-record.json").exists() and not (engines / "ferrum-record.json").exists()
    assert not (engines / "kgc-artifacts").exists()


def test_the_engine_is_never_started_with_our_dry_run(engines: Path) -> None:
    done = launcher(["--hardware", "H100", "vllm", "serve", MODEL, "--dry-run"], engines)
    assert done.returncode == EXIT_USAGE and "fake vllm" not in done.stderr
    assert not (engines / "vllm-record.json").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["vllm", "serve", "--help"],
        ["vllm", "serve", "-h"],
        ["vllm", "serve", "--help=all"],
        ["vllm", "serve", MODEL, "--help"],
        ["vllm", "--help"],
        ["vllm", "--version"],
        ["ferrum", "--help"],
        ["ferrum", "--version"],
        ["ferrum", "serve", "--help"],
    ],
)
def test_the_engines_own_help_and_version_run_untouched(argv: list[str], engines: Path) -> None:
    done = launcher(["--hardware", "T4", "--require-registered", *argv], engines)
    assert done.returncode == 0, done.stderr
    record = read_record(engines / f"{argv[0]}-record.json")
    assert record["argv"][1:] == argv[1:] and record["pid"] is not None
    assert done.stderr.startswith(f"fake {argv[0]}:")  # nothing of ours: no summary, no refusal
    assert not (engines / "kgc-artifacts").exists()


def test_a_dry_run_of_the_engines_help_says_what_would_run(engines: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--dry-run", "vllm", "serve", "--help"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "  vllm serve --help"
    assert not (engines / "vllm-record.json").exists() and not (engines / "kgc-artifacts").exists()


@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["vllm", "serve"], "kgc-launch vllm serve MODEL"),
        (["--hardware", "H100", "vllm", "serve", "-tp", "2"], "kgc-launch --hardware H100 vllm serve MODEL -tp 2"),
        (["ferrum", "serve", "--port", "8000"], "kgc-launch ferrum serve MODEL --port 8000"),
    ],
)
def test_no_model_is_a_usage_error_that_leaves_no_artifacts(
    argv: list[str], fix: str, engines: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == f"kgc-launch: error: no model given\n  hint: name the model to serve: {fix}\n"
    assert not (engines / "kgc-artifacts").exists()


def test_a_model_in_a_vllm_config_file_is_left_to_the_plan(engines: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (engines / "serve.yaml").write_text(f"model: {MODEL}\n")
    assert cli.main(["--dry-run", "--hardware", "H100", "vllm", "serve", "--config", "serve.yaml"]) == 0


def test_an_option_the_engine_has_is_the_engines() -> None:
    assert engine_accepts("vllm", "--enforce-eager") and engine_accepts("vllm", "--max_num_seqs")
    assert engine_accepts("ferrum", "--greedy-argmax")
    for ours in ("--dry-run", "--hardware", "--registry", "--artifacts-dir", "--require-registered", "--kgc-config",
                 "--engine", "--workload", "--set", "--ferrum-features", "--json", "--quiet", "--debug"):  # fmt: skip
        assert not engine_accepts("vllm", ours) and not engine_accepts("ferrum", ours)
    assert misplaced_options("vllm", ["M", "--enforce-eager", "--dry-run", "--set", "A=1", "--hardware=H100"]) == [
        (2, 3),
        (3, 5),
        (5, 6),
    ]


@pytest.mark.parametrize(("typo", "meant"), [("prob", "probe"), ("recrod", "record"), ("chek", "check")])
def test_a_misspelt_subcommand_suggests_the_nearest(typo: str, meant: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([typo, "--json"]) == EXIT_USAGE
    assert f"unknown subcommand {typo!r}: did you mean {meant!r}?" in capsys.readouterr().err


def test_a_dry_run_names_where_each_setting_came_from(
    engines: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KGC_HARDWARE", "H100")
    (engines / "kgc.json").write_text('{"require-registered": false}')
    monkeypatch.setenv("KGC_CONFIG", str(engines / "kgc.json"))
    assert cli.main(["--dry-run", "vllm", "serve", MODEL]) == 0
    lines = capsys.readouterr().out.splitlines()
    settings = lines[lines.index("settings:") + 1 :]
    assert settings == [
        "  --hardware H100  (from KGC_HARDWARE)",
        f"  --kgc-config {engines / 'kgc.json'}  (from KGC_CONFIG)",
        f"  --require-registered (off)  (from the KGC_CONFIG file {engines / 'kgc.json'})",
        "  --no-recipes  (from KGC_NO_RECIPES)",  # set by tests/conftest.py for every test
        "  --dry-run  (--dry-run)",
    ]
    assert any(line.startswith("registry: ") and line.endswith("(shipped with kgc-launch): pass") for line in lines)
    assert cli.main(["--dry-run", "--json", "vllm", "serve", MODEL]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["--hardware"] == {"value": "H100", "from": "from KGC_HARDWARE"}
    assert report["registry"]["from"] == "shipped with kgc-launch"


def test_a_name_close_to_an_engine_says_how_to_name_the_engine(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["vlm", "serve", MODEL]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "did you mean 'vllm'?" in err and "kgc-launch --engine vllm vlm serve ..." in err
    assert cli.main(["/opt/bin/my-vllm", "serve", MODEL]) == EXIT_USAGE  # a path: the engine grammar answers
    assert "is not a supported engine" in capsys.readouterr().err
