"""vLLM's own parser verdicts, from the generated vocabulary: each case of the issue (a misspelled flag that
launched with TP 1, values vLLM rejects, argparse quirks our reader used to miss), and one answer for the same
command line from the launch, `check --serve-args`, `check --deploy-file` and `fit`."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from kgc_launch import cli
from kgc_launch.launch_options import engine_accepts
from kgc_launch.serve_args import ServeArgs
from kgc_launch.versions import parse_engine_version
from kgc_launch.vllm.args import config_file_tokens, parse_serve_args
from kgc_launch.vllm.capacity import default_utilization
from kgc_launch.vllm.rules import load_rules
from testing.registry_files import DEPLOY_REGISTRY, write_registry

MODEL = "Qwen/Qwen3-8B"


def parse(line: str, version: str | None = "0.32.0", **kwargs: Any) -> ServeArgs:
    return parse_serve_args(shlex.split(line), version=version, **kwargs)


def refusals(args: ServeArgs) -> list[tuple[str, str, str | None]]:
    return [(p.rule_id, p.message, p.fix) for p in args.problems if p.severity == "refuse"]


def test_a_misspelled_flag_is_refused_with_the_closest_spelling() -> None:
    assert refusals(parse(f"{MODEL} --tensor-paralel-size 2")) == [
        (
            "unknown-option",
            "vLLM 0.32.0 has no --tensor-paralel-size; did you mean --tensor-parallel-size?",
            "--tensor-parallel-size",
        )
    ]


def test_a_flag_the_release_dropped_is_refused_with_the_fix_a_stated_range_gets() -> None:
    # The launch asks the installed vLLM (one release), a deploy file may state a range: the same fix either way.
    assert refusals(parse(f"{MODEL} --task embed", version="0.13.0")) == [
        (
            "unknown-option",
            "vLLM 0.13.0 has no --task; the last release that does is 0.12.0",
            "remove --task embed (vLLM dropped it)",
        )
    ]
    (ranged,) = refusals(parse(f"{MODEL} --task embed", version=None, among=("0.13.0", "0.33.0")))
    assert ranged[2] == "remove --task embed (vLLM dropped it)"
    # A misspelling is not a removal: it keeps its closest spelling as the fix.
    assert refusals(parse(f"{MODEL} --tensor-paralel-size 2", version="0.13.0"))[0][2] == "--tensor-parallel-size"


def test_an_unambiguous_prefix_is_the_option_as_argparse_reads_it() -> None:
    args = parse(f"{MODEL} --tensor-parallel 4")
    assert args.int_value("tensor-parallel-size") == 4 and not args.problems
    assert refusals(parse(f"{MODEL} --max-num 4"))[0][0] == "ambiguous-option"


def test_dotted_short_alias_is_config_not_a_positional() -> None:
    args = parse(f"{MODEL} -cc.pass_config.fuse_allreduce_rms=True")
    assert args.model == MODEL and args.extra_positionals == []
    assert args.get("compilation-config") == {"pass_config": {"fuse_allreduce_rms": "True"}} and not args.problems


@pytest.mark.parametrize(
    ("alias", "option"),
    [("-sc", "speculative-config"), ("-asc", "api-server-count"), ("-dc", "diffusion-config"),
     ("-pcp", "prefill-context-parallel-size"), ("-dpn", "data-parallel-rank"),
     ("-dpm", "data-parallel-multi-port-external-lb"), ("-n", "nnodes"), ("-r", "node-rank")],
)  # fmt: skip
def test_short_aliases_come_from_the_vocabulary(alias: str, option: str) -> None:
    value = {"-sc": """ '{"num_speculative_tokens": 1}'""", "-dc": " '{}'", "-dpm": ""}.get(alias, " 1")
    args = parse(f"{MODEL} {alias}{value}")
    assert args.has(option) and args.model == MODEL and not refusals(args)


def test_a_boolean_missing_from_the_old_table_does_not_swallow_the_model() -> None:
    args = parse(f"--language-model-only {MODEL}")
    assert args.model == MODEL and args.get("language-model-only") is True


def test_a_false_boolean_in_a_config_file_is_dropped_where_vllm_drops_it() -> None:
    # vLLM appends --no-KEY only when its parser has that exact option string; `enable_prefix_caching` (underscores)
    # has none, so the default stays: not a --no-enable-prefix-caching that would satisfy a requirement.
    document = {"enable_prefix_caching": False, "enable-chunked-prefill": False}
    tokens = config_file_tokens(document, path="c.yaml", version="0.32.0")
    assert tokens == ["--no-enable-chunked-prefill"]
    args = parse(f"{MODEL} --config c.yaml", read_config=lambda path: tokens)
    assert not args.has("enable-prefix-caching") and args.get("enable-chunked-prefill") is False


@pytest.mark.parametrize(
    ("line", "rule", "fix"),
    [
        ("--max-num-seqs 1k", "invalid-value", "--max-num-seqs 1000"),
        ("--enforce-eager=False", "invalid-value", "--no-enforce-eager"),
        ("--compilation-config.level 3", "invalid-option", None),
        ("--gpu-memory-utilization 1.5", "invalid-value", "--gpu-memory-utilization 0.92"),
        ("--additional-config '{bad json'", "invalid-value", None),
        ("--tensor-parallel-size two", "invalid-value", None),
        ("--dtype bfloat", "invalid-value", "--dtype float"),
        ("stray", "unexpected-argument", None),
    ],
)
def test_values_vllm_032_rejects_are_refused(line: str, rule: str, fix: str | None) -> None:
    found = refusals(parse(f"{MODEL} {line}"))
    assert [(r, f) for r, _, f in found] == [(rule, fix)], found
    assert "0.32.0" in found[0][1]


def test_values_an_older_release_accepts_are_not_refused_there() -> None:
    assert not refusals(parse(f"{MODEL} --max-model-len 1k", version="0.8.5"))  # human_readable_int from 0.8.5
    assert refusals(parse(f"{MODEL} --max-model-len 1k", version="0.8.0"))  # plain int in 0.8.0
    assert not refusals(parse(f"{MODEL} --compilation-config.level 3", version="0.12.0"))


def test_unknown_version_refuses_what_no_release_accepts_and_warns_about_the_rest() -> None:
    args = parse(f"{MODEL} --tensor-paralel-size 2 --language-model-only", version=None)
    assert [p.rule_id for p in args.problems if p.severity == "refuse"] == ["unknown-option"]
    assert [p.rule_id for p in args.problems if p.severity == "warn"] == ["option-not-in-every-release"]
    assert "--language-model-only is accepted by vLLM 0.17.1-0.33.0" in args.problems[1].message


def test_parse_stays_total_and_reads_values_of_refused_lines() -> None:
    args = parse(f"{MODEL} --tensor-paralel-size 2 --port")
    assert args.model == MODEL and {p.rule_id for p in args.problems} == {"unknown-option", "missing-value"}


def test_engine_accepts_comes_from_the_vocabulary() -> None:
    assert engine_accepts("vllm", "--language-model-only") and engine_accepts("vllm", "--no-enforce-eager")
    assert not engine_accepts("vllm", "--tensor-paralel-size") and not engine_accepts("vllm", "--dry-run")


def test_default_utilization_is_versioned() -> None:
    entry = load_rules().defaults["gpu_memory_utilization"]
    assert default_utilization(entry, parse_engine_version("0.32.0")) == 0.92
    assert default_utilization(entry, parse_engine_version("0.20.0")) == 0.92
    assert default_utilization(entry, parse_engine_version("0.19.1")) == 0.9
    assert default_utilization(0.9, None) == 0.9


# -- one answer from the four commands ---------------------------------------------------------------------

BAD = [
    "--tensor-paralel-size 2",
    "--gpu-memory-utilization 1.5",
    "--additional-config '{bad json'",
    "--max-num-seqs 1k",
    "--enforce-eager=False",
]


def _launch(line: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr("kgc_launch.launch.engine_version", lambda command, executable: ("0.32.0", "test"))
    code = cli.main(["--dry-run", "--json", "--hardware", "H100", "vllm", "serve", MODEL, *shlex.split(line)])
    out = capsys.readouterr().out
    assert code == 78
    found = json.loads(out)["findings"]
    return sorted(f["message"] for f in found if f["severity"] == "refuse" and f["origin"].startswith("vllm-args"))


def _check(line: str, registry: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    argv = ["check", "--registry", str(registry), "--model", MODEL, "--engine-version", "0.32.0", "--json"]
    code = cli.main([*argv, "--serve-args", f"{MODEL} {line}"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and document["verdict"] == "fail"
    return sorted(p["message"] for p in document["engine_problems"] if p["severity"] == "refuse")


def _deploy(line: str, registry: Path, tmp: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    script = tmp / "serve.sh"
    script.write_text(f"#!/bin/sh\nvllm serve {MODEL} {line}\n")
    argv = ["check", "--registry", str(registry), "--engine-version", "0.32.0", "--hardware", "H100"]
    code = cli.main([*argv, "--format", "json", "--deploy-file", str(script)])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    (result,) = document["results"]
    return sorted(r["message"] for r in result["refusals"] if "argument parser" in r["source"])


@pytest.mark.parametrize("line", BAD)
def test_launch_check_deploy_and_fit_give_one_answer(
    line: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    registry = write_registry(tmp_path, DEPLOY_REGISTRY)
    expected = sorted(message for _, message, _ in refusals(parse(f"{MODEL} {line}")))
    assert expected
    assert _launch(line, capsys, monkeypatch) == expected
    assert _check(line, registry, capsys) == expected
    assert _deploy(line, registry, tmp_path, capsys) == expected
    if line.startswith("--gpu-memory-utilization"):
        flag, value = line.split()
        argv = ["fit", "meta-llama/Llama-3.1-8B-Instruct", "--hardware", "H100", "--vllm-version", "0.32.0"]
        code = cli.main([*argv, flag, value])
        err = capsys.readouterr().err
        assert code == 1 and expected[0] in err


def test_an_unknown_key_inside_a_nested_config_object_is_refused_where_vllm_parses_it() -> None:
    """0.32's PassConfig forbids extra keys and --compilation-config is validated while parsing (the recipe
    line recipes-minimax-m27-compilation-config of the corpus); 0.12 validated it later, so not there."""
    bad = ["M", "--compilation-config", '{"mode": 3, "pass_config": {"fuse_minimax_qk_norm": true}}']
    found = refusals(parse_serve_args(bad, version="0.32.0"))
    assert [(rule, "fuse_minimax_qk_norm" in message) for rule, message, _ in found] == [("invalid-value", True)]
    good = ["M", "--compilation-config", '{"pass_config": {"fuse_allreduce_rms": true}}']
    assert refusals(parse_serve_args(good, version="0.32.0")) == []
    assert refusals(parse_serve_args(bad, version="0.12.0")) == []


@pytest.mark.parametrize(
    ("line", "fix"),
    [
        (f"{MODEL} --swap-space 4", "remove --swap-space"),  # dropped in 0.18
        (f"{MODEL} --no-enable-prefix-caching", "--disable-prefix-caching"),  # the newest spells it so
        (f"{MODEL} --guided-decoding-backend outlines", "remove --guided-decoding-backend"),  # no near-name guess
    ],
)
def test_unknown_version_names_an_option_the_newest_release_refuses(line: str, fix: str) -> None:
    """Older releases accept it, the newest refuses it: a rule of its own, with what to write for the newest."""
    newest = parse(line, version=None)
    found = [p for p in newest.problems if p.rule_id == "option-not-in-newest-release"]
    assert len(found) == 1 and found[0].severity == "warn" and found[0].fix == fix
    assert "the newest, 0.33.0, refuses it" in found[0].message
    assert not [p for p in parse(line, version="0.11.2").problems if p.rule_id.startswith("option-not-in")]
