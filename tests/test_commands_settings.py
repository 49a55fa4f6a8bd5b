"""One configuration for every command (issue 12, item 3): `KGC_*` variables and `--kgc-config` keys apply to
every subcommand's option of the same name, with the launch's precedence, and outputs say where a value came
from."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

import pytest

from kgc_launch import cli
from kgc_launch.commands import COMMANDS, _settings
from kgc_launch.commands._parser import make_parser
from kgc_launch.errors import EXIT_OK, EXIT_USAGE, EXIT_VERDICT_NO
from kgc_launch.launch_options import BY_NAME
from testing.registry_files import SMALL_REGISTRY, write_registry


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _parser(name: str) -> tuple[argparse.ArgumentParser, list[_settings.Bound]]:
    spec = COMMANDS[name]
    parser = make_parser(f"kgc-launch {name}", spec.summary)
    importlib.import_module(spec.module).add_arguments(parser)
    return parser, _settings.bind(parser, exclude=cli.NOT_LAUNCH_OPTIONS.get(spec.module, frozenset()))


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_named_like_a_launch_option_is_bound_to_its_variable(name: str) -> None:
    parser, bound = _parser(name)
    leaves = list(_settings._leaf_parsers(parser))
    for leaf in leaves:
        options = {option for action in leaf._actions for option in action.option_strings}
        assert "--kgc-config" in options
        for action in leaf._actions:
            shared = [option for option in action.option_strings if option in BY_NAME and option != "--kgc-config"]
            if not shared or shared[0] in cli.NOT_LAUNCH_OPTIONS.get(COMMANDS[name].module, ()):
                continue
            spec = BY_NAME[shared[0]]
            assert any(item.action is action for item in bound), (name, spec.name)
            assert f"[{spec.env}]" in (action.help or ""), (name, spec.name)  # the help names the variable


def test_the_commands_that_share_hardware_and_registry() -> None:
    shared = {name: {item.spec.name for item in _parser(name)[1]} for name in COMMANDS}
    for name in ("check", "show", "fit", "probe", "resolve"):
        assert "--hardware" in shared[name], name
    for name in ("check", "show", "list", "record", "gate", "registry"):
        assert "--registry" in shared[name], name
    assert "--hardware" not in shared["record"]  # a description of where the entry was established


# -- the same --hardware everywhere ---------------------------------------------------------------------


def test_resolve_takes_a_hardware_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "resolve", "ferrum", "--hardware", "H100", "--json", "--artifacts-dir", str(tmp_path))
    assert code == EXIT_OK, err
    hardware = json.loads(out)["hardware_capabilities"]
    assert (hardware["backend"], hardware["compute_capability"], hardware["sm_count"]) == ("cuda", "9.0", 132)
    code, out, err = run(capsys, "resolve", "ferrum", "--hardware", "2xL4", "--artifacts-dir", str(tmp_path))
    assert code == EXIT_OK and "\nhardware: 2xL4 (--hardware)\n" in out


def test_resolve_declares_compiled_features_as_a_launch_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["resolve", "ferrum", "--hardware", "H100", "--ferrum-features", "cuda,fa2-source", "--json"]
    code, out, _ = run(capsys, *argv, "--artifacts-dir", str(tmp_path))
    features = json.loads(out)["hardware_capabilities"]["compiled_features"]
    assert code == EXIT_OK and features["cuda"] and features["fa2_source"] and not features["vllm_moe_marlin"]


@pytest.mark.parametrize(
    ("argv", "seen"),
    [
        (["probe"], "hardware: 2xL4 (from KGC_HARDWARE)"),
        (["fit", "meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "8192"], "hardware: 2xL4 (from KGC_HARDWARE)"),
        (["resolve", "ferrum", "--artifacts-dir", "{tmp}"], "hardware: 2xL4 (from KGC_HARDWARE)"),
        (["show", "Org/Hybrid-80B", "--registry", "{registry}"], "hardware: 2xL4 (from KGC_HARDWARE)"),
        (
            ["check", "--model", "Org/Hybrid-80B", "--serve-args", "Org/Hybrid-80B", "--registry", "{registry}"],
            "hardware: 2xL4 (from KGC_HARDWARE)",
        ),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else "",
)
def test_kgc_hardware_applies_to_every_command_with_hardware(
    argv: list[str], seen: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = write_registry(tmp_path)
    monkeypatch.setenv("KGC_HARDWARE", "2xL4")
    code, out, err = run(capsys, *(a.format(tmp=tmp_path, registry=registry) for a in argv))
    assert code in (EXIT_OK, EXIT_VERDICT_NO), err
    assert seen in out.splitlines()
    assert "--hardware 2xL4 from KGC_HARDWARE" in err  # and once more on stderr, with the other such settings


def test_the_command_line_beats_the_environment_which_beats_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "kgc.yaml"
    config.write_text("hardware: T4\n")
    monkeypatch.setenv("KGC_CONFIG", str(config))
    code, out, _ = run(capsys, "probe")
    assert code == EXIT_OK and f"hardware: T4 (from the KGC_CONFIG file {config})" in out
    monkeypatch.setenv("KGC_HARDWARE", "L4")
    assert "hardware: L4 (from KGC_HARDWARE)" in run(capsys, "probe")[1]
    assert "hardware: H100 (--hardware)" in run(capsys, "probe", "--hardware", "H100")[1]
    monkeypatch.delenv("KGC_HARDWARE")
    other = tmp_path / "other.json"
    other.write_text('{"hardware": "A10G"}')
    assert f"hardware: A10G (from the --kgc-config file {other})" in run(capsys, "probe", "--kgc-config", str(other))[1]


def test_a_config_file_key_no_option_knows_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kgc.json"
    config.write_text('{"hardwear": "T4"}')
    code, _, err = run(capsys, "list", "--kgc-config", str(config))
    assert code == 3 and "unknown key(s) hardwear" in err


# -- the same registry everywhere ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["show", "Org/Dense-8B"],
        ["check", "--model", "Org/Dense-8B", "--serve-args", "Org/Dense-8B"],
        ["gate", "closure", "--model", "Org/Dense-8B"],
        ["registry", "validate"],
    ],
    ids=lambda argv: argv[0],
)
def test_kgc_registry_applies_to_every_registry_command_and_is_named(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = write_registry(tmp_path, SMALL_REGISTRY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KGC_REGISTRY", str(registry))
    code, out, err = run(capsys, *argv)
    assert code in (EXIT_OK, EXIT_VERDICT_NO), err
    assert f"{registry} (from KGC_REGISTRY)" in out


def test_kgc_json_applies_but_the_command_lines_format_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = write_registry(tmp_path, SMALL_REGISTRY)
    monkeypatch.setenv("KGC_JSON", "1")
    code, out, err = run(capsys, "list", "--registry", str(registry))
    assert code == EXIT_OK and json.loads(out)["verb"] == "list"
    assert (
        err == "kgc-launch: settings not on the command line: --no-recipes from KGC_NO_RECIPES; --json from KGC_JSON\n"
    )
    manifest = tmp_path / "serve.sh"
    manifest.write_text("vllm serve Org/Dense-8B\n")
    code, out, _ = run(
        capsys, "check", "--registry", str(registry), "--deploy-file", str(manifest), "--format", "github"
    )
    assert code == EXIT_OK and "\n1 launch in 1 file: 1 pass, 0 fail, 0 not evaluated" in out, out  # text, not JSON


def test_a_bad_value_in_a_variable_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KGC_ENGINE", "sglang")
    code, _, err = run(capsys, "check", "--model", "Org/Dense-8B", "--serve-args", "Org/Dense-8B")
    assert code == EXIT_USAGE and "KGC_ENGINE='sglang' is not one of vllm, ferrum" in err
    monkeypatch.setenv("KGC_ENGINE", "vllm")
    monkeypatch.setenv("KGC_JSON", "maybe")
    code, _, err = run(capsys, "list")
    assert code == EXIT_USAGE and "KGC_JSON='maybe' is not a boolean" in err


def test_kgc_engine_is_no_error_for_a_deploy_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "serve.sh"
    manifest.write_text("vllm serve Org/Dense-8B\n")
    monkeypatch.setenv("KGC_ENGINE", "vllm")  # a container's launch setting: each launch's engine is its own
    code, _, err = run(capsys, "check", "--registry", str(write_registry(tmp_path)), "--deploy-file", str(manifest))
    assert code == EXIT_OK, err
    code, _, err = run(capsys, "check", "--engine", "vllm", "--deploy-file", str(manifest))
    assert code == EXIT_USAGE and "--engine is only with --serve-args" in err
