from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgc_launch.deploy.launch import recognise_command
from kgc_launch.errors import InputError, UsageError
from kgc_launch.launch_options import (
    FLAG_OPTIONS,
    OPTIONS,
    VALUE_OPTIONS,
    LaunchOptions,
    OptionSpec,
    launch_help,
    parse_launch_argv,
)


def parse(argv: list[str], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    result = parse_launch_argv(argv, env or {})
    assert result is not None
    return result


def test_options_stop_at_the_engine_and_engine_args_pass_through() -> None:
    options, engine = parse(["--dry-run", "--hardware=8xH100", "--set", "FERRUM_A=1", "vllm", "serve", "m", "--json"])
    assert options.dry_run and options.hardware == "8xH100" and options.set_entries == {"FERRUM_A": "1"}
    assert options.json is False  # `--json` after the engine belongs to the engine
    assert engine == ["vllm", "serve", "m", "--json"]
    assert options.sources == {"dry_run": "cli", "hardware": "cli", "set": "cli"}


def test_double_dash_ends_launch_options() -> None:
    _, engine = parse(["--quiet", "--", "--weird-engine-name", "serve"])
    assert engine == ["--weird-engine-name", "serve"]


def test_environment_then_config_file_fill_what_the_command_line_left(tmp_path: Path) -> None:
    config = tmp_path / "kgc.json"
    config.write_text(json.dumps({"hardware": "T4", "registry": "/r.yaml", "quiet": True, "set": {"FERRUM_B": "2"}}))
    env = {"KGC_CONFIG": str(config), "KGC_HARDWARE": "L4", "KGC_SET": "FERRUM_A=1 FERRUM_C=3"}
    options, _ = parse(["--hardware", "H100", "ferrum", "serve", "m"], env)
    assert options.hardware == "H100" and options.sources["hardware"] == "cli"
    assert options.registry == "/r.yaml" and options.sources["registry"] == "config_file"
    assert options.quiet is True
    assert options.set_entries == {"FERRUM_A": "1", "FERRUM_C": "3"} and options.sources["set"] == "env"


def test_yaml_config_file(tmp_path: Path) -> None:
    config = tmp_path / "kgc.yaml"
    config.write_text("ferrum-features: [cuda, marlin]\nrequire-registered: true\n")
    options, _ = parse(["--kgc-config", str(config), "ferrum", "serve", "m"])
    assert options.ferrum_features == ["cuda", "marlin"] and options.require_registered


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--bogus", "vllm"], {}, "unknown launch option --bogus"),
        (["--hardware"], {}, "--hardware needs a value"),
        (["--dry-run=1", "vllm"], {}, "--dry-run takes no value"),
        (["--dry-run"], {}, "no engine given"),
        (["--set", "nokey", "vllm"], {}, "--set 'nokey' is not KEY=VALUE"),
        (["vllm"], {"KGC_QUIET": "maybe"}, "KGC_QUIET='maybe' is not a boolean"),
        (["--engine", "sglang", "x"], {}, "--engine 'sglang' is not supported"),
    ],
)
def test_bad_launch_options_are_usage_errors(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_launch_argv(argv, env)


def test_bad_config_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "kgc.json"
    bad.write_text('{"hardware": "T4", "colour": "red"}')
    with pytest.raises(InputError, match="unknown key") as error:
        parse_launch_argv(["--kgc-config", str(bad), "vllm", "serve", "m"], {})
    assert str(bad) in str(error.value)
    bad.write_text("{")
    with pytest.raises(InputError, match="invalid JSON"):
        parse_launch_argv(["vllm", "serve", "m"], {"KGC_CONFIG": str(bad)})
    bad.write_text("[" * 100_000)  # json.loads raised RecursionError: exit 70
    with pytest.raises(InputError, match="nested too deeply"):
        parse_launch_argv(["vllm", "serve", "m"], {"KGC_CONFIG": str(bad)})


def test_help_before_the_engine_prints_launch_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_launch_argv(["--help"], {}) is None
    assert "usage: kgc-launch [LAUNCH OPTIONS]" in capsys.readouterr().out


# -- one table (issue 11, item 6) ------------------------------------------------------------------------


def _given(spec: OptionSpec) -> str:
    return {"value": "vllm" if spec.choices else "x", "flag": "1", "list": "a,b", "pairs": "K=V"}[spec.kind]


def _expected(spec: OptionSpec) -> object:
    return {"value": "vllm" if spec.choices else "x", "flag": True, "list": ["a", "b"], "pairs": {"K": "V"}}[spec.kind]


@pytest.mark.parametrize("spec", [s for s in OPTIONS if s.name != "--kgc-config"], ids=lambda s: s.name)
def test_every_option_is_in_the_help_the_environment_the_config_file_and_the_deploy_reader(
    spec: OptionSpec, tmp_path: Path
) -> None:
    help_text = launch_help()
    assert f"  {spec.name} {spec.metavar}".rstrip() in help_text and spec.env in help_text
    assert f"config key '{spec.key}'" in help_text
    assert getattr(LaunchOptions(), spec.attribute) == spec.default
    on_the_line = [spec.name] if spec.kind == "flag" else [spec.name, _given(spec)]
    for argv, env, source in [
        ([*on_the_line, "vllm", "serve", "m"], {}, "cli"),
        (["vllm", "serve", "m"], {spec.env: _given(spec)}, "env"),
    ]:
        options, engine = parse(argv, env)
        assert getattr(options, spec.attribute) == _expected(spec) and options.sources[spec.slug] == source
        assert engine == ["vllm", "serve", "m"]
    config = tmp_path / "kgc.json"
    config.write_text(json.dumps({spec.key: True if spec.kind == "flag" else _given(spec)}))
    options, _ = parse(["--kgc-config", str(config), "vllm", "serve", "m"])
    assert getattr(options, spec.attribute) == _expected(spec) and options.sources[spec.slug] == "config_file"
    assert options.origins[spec.slug] == f"from the --kgc-config file {config}"
    # a manifest's `kgc-launch OPTION [VALUE] -- vllm serve m` is read with the same table
    command = recognise_command(["kgc-launch", *on_the_line, "--", "vllm", "serve", "m"])
    assert command is not None and command.wrapper == [*on_the_line, "--"] and command.args == ["m"]
    assert not command.notes


def test_the_config_option_is_read_from_the_line_or_its_variable(tmp_path: Path) -> None:
    config = tmp_path / "kgc.yaml"
    config.write_text("quiet: true\n")
    options, _ = parse(["vllm", "serve", "m"], {"KGC_CONFIG": str(config)})
    assert options.quiet and options.origins == {
        "kgc_config": "from KGC_CONFIG",
        "quiet": f"from the KGC_CONFIG file {config}",
    }
    assert "--kgc-config FILE" in launch_help() and "KGC_CONFIG=FILE" in launch_help()


def test_the_derived_sets_follow_the_table() -> None:
    assert {s.name for s in OPTIONS if s.kind != "flag"} == VALUE_OPTIONS and "--hardware" in VALUE_OPTIONS
    assert {s.name for s in OPTIONS if s.kind == "flag"} == FLAG_OPTIONS and "--dry-run" in FLAG_OPTIONS
    assert len({s.env for s in OPTIONS}) == len(OPTIONS) and all(s.env.startswith("KGC_") for s in OPTIONS)


def test_the_launch_help_is_readable() -> None:
    lines = launch_help().splitlines()
    assert lines[0] == "usage: kgc-launch [LAUNCH OPTIONS] [--] ENGINE ENGINE-ARGS..."
    assert max(map(len, lines)) <= 104
    registry = lines.index(next(line for line in lines if line.startswith("  --registry PATH")))
    assert lines[registry + 1].startswith(" " * 27) and lines[registry + 2].strip() == (
        "[KGC_REGISTRY=PATH, config key 'registry']"
    )


def test_an_empty_variable_leaves_an_option_unset() -> None:
    options, _ = parse(["vllm", "serve", "m"], {"KGC_REGISTRY": "", "KGC_HARDWARE": ""})
    assert options.registry is None and options.hardware is None and options.sources == {}
