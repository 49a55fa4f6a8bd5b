from __future__ import annotations

import shlex
from typing import Any

import pytest

from kgc_launch.knowngood.match import deep_merge, evaluate, option_status, same_value
from kgc_launch.knowngood.schema import RequiredFlag
from kgc_launch.serve_args import render_command_line
from kgc_launch.vllm.args import parse_serve_args

GDN = RequiredFlag(
    flag="""--additional-config '{"gdn_prefill_backend":"triton"}'""",
    equivalents=["--gdn-prefill-backend triton"],
)


def outcome(requirement: RequiredFlag, command: str, env: dict[str, str] | None = None) -> Any:
    args = parse_serve_args(shlex.split(command))
    return evaluate(requirement, args, env or {}, rendered=render_command_line(args), what="test")


@pytest.mark.parametrize(
    "command",
    [
        """M --additional-config '{"gdn_prefill_backend":"triton"}'""",
        """M --additional-config '{ "other": 1,  "gdn_prefill_backend" : "triton" }'""",
        """M --additional_config='{"gdn_prefill_backend":"triton"}'""",
        "M --additional-config.gdn_prefill_backend triton",
        "M --gdn-prefill-backend triton",
        "M --gdn_prefill_backend=triton",
    ],
)
def test_every_spelling_of_the_setting_satisfies_it(command: str) -> None:
    assert outcome(GDN, command).satisfied


@pytest.mark.parametrize(
    ("command", "fix"),
    [
        ("M", """--additional-config '{"gdn_prefill_backend":"triton"}'"""),
        # The launch's own --additional-config would be replaced by a second one: the fix merges into it.
        (
            """M --additional-config '{"other":1}'""",
            """--additional-config '{"other":1,"gdn_prefill_backend":"triton"}'""",
        ),
        # A contradicting spelling is fixed in its own spelling (the later flag wins in vLLM).
        ("M --gdn-prefill-backend flashinfer", "--gdn-prefill-backend triton"),
    ],
)
def test_missing_or_contradicted_gives_the_exact_fix(command: str, fix: str) -> None:
    result = outcome(GDN, command)
    assert not result.satisfied
    assert result.fix.render() == fix


def test_one_spelling_right_and_another_wrong_is_not_met() -> None:
    result = outcome(
        GDN, """M --additional-config '{"gdn_prefill_backend":"triton"}' --gdn-prefill-backend flashinfer"""
    )
    assert not result.satisfied
    assert result.conflicts == ("--gdn-prefill-backend flashinfer",)


@pytest.mark.parametrize(
    ("command", "met"),
    [("M --enforce-eager", True), ("M --enforce_eager=true", True), ("M --no-enforce-eager", False), ("M", False)],
)
def test_booleans_by_truth(command: str, met: bool) -> None:
    assert outcome(RequiredFlag(flag="--enforce-eager"), command).satisfied is met


def test_numbers_by_value_and_human_readable_ints() -> None:
    assert outcome(RequiredFlag(flag="--max-model-len 32k"), "M --max-model-len 32000").satisfied
    assert not outcome(RequiredFlag(flag="--max-model-len 32K"), "M --max-model-len 32000").satisfied
    assert outcome(RequiredFlag(flag="--gpu-memory-utilization 0.90"), "M --gpu-memory-utilization 0.9").satisfied
    assert outcome(RequiredFlag(flag="--max-num-seqs 512"), "M --max_num_seqs=512").satisfied
    assert not outcome(RequiredFlag(flag="--max-num-seqs 512"), "M --max-num-seqs 1024").satisfied


def test_nested_json_is_a_subset_match() -> None:
    requirement = RequiredFlag(flag="""--compilation-config '{"pass_config":{"fuse_allreduce_rms":false}}'""")
    assert outcome(requirement, "M --compilation-config.pass_config.fuse_allreduce_rms false").satisfied
    assert outcome(requirement, """M -cc '{"level":3,"pass_config":{"x":1,"fuse_allreduce_rms":false}}'""").satisfied
    assert not outcome(requirement, """M -cc '{"pass_config":{"fuse_allreduce_rms":true}}'""").satisfied


def test_an_explicit_regex_is_honoured_on_the_canonical_rendering() -> None:
    requirement = RequiredFlag(
        flag="--max-num-seqs 512", match=r"(^| )--max-num-seqs=([1-9]|[1-9][0-9]|[1-4][0-9][0-9]|50[0-9]|51[0-2])( |$)"
    )
    assert outcome(requirement, "M --max-num-seqs 256").satisfied
    assert str(outcome(requirement, "M --max_num_seqs=512").matched_by).startswith("match /")
    assert not outcome(requirement, "M --max-num-seqs 1024").satisfied


def test_the_original_default_match_adds_nothing() -> None:
    requirement = RequiredFlag(flag="--enforce-eager", match=r"\-\-enforce\-eager")
    assert outcome(requirement, "M --enforce-eager").matched_by == "--enforce-eager"
    assert not outcome(requirement, "M --no-enforce-eager").satisfied


def test_environment_requirements() -> None:
    requirement = RequiredFlag(env="NCCL_P2P_DISABLE=1", equivalents=["NCCL_P2P_LEVEL=NVL"])
    assert outcome(requirement, "M", {"NCCL_P2P_DISABLE": "1"}).satisfied
    assert outcome(requirement, "M", {"NCCL_P2P_LEVEL": "NVL"}).satisfied
    missing = outcome(requirement, "M", {})
    assert not missing.satisfied and missing.fix.render() == "NCCL_P2P_DISABLE=1"
    wrong = outcome(requirement, "M", {"NCCL_P2P_DISABLE": "0"})
    assert wrong.conflicts == ("NCCL_P2P_DISABLE=0",)


def test_an_environment_variable_can_stand_for_a_flag() -> None:
    requirement = RequiredFlag(flag="--attention-backend FLASHINFER", equivalents=["VLLM_ATTENTION_BACKEND=FLASHINFER"])
    assert outcome(requirement, "M", {"VLLM_ATTENTION_BACKEND": "FLASHINFER"}).satisfied


def test_values_compare_as_vllm_reads_them() -> None:
    assert same_value(True, "true") and not same_value(True, "1") and same_value("3", 3)
    assert not same_value(["1", "2"], ["2", "1"]) and same_value(["1"], ["1"])
    assert option_status("cuda-graph-sizes", ["8"], "8") == "satisfied"
    assert option_status("x", {"a": 1}, "not json") == "differs"
    assert deep_merge({"a": {"b": 1}, "c": 2}, {"a": {"d": 3}}) == {"a": {"b": 1, "d": 3}, "c": 2}
