"""The memory plan against hand-computed numbers (every figure below is worked out in its comment)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kgc_launch.model.config_json import facts_from_config
from kgc_launch.model.facts import MemoryPlan, ModelFacts
from kgc_launch.units import GIB, MIB
from kgc_launch.vllm.memory import CUDA_RESERVED_BYTES, plan_vllm_memory
from kgc_launch.vllm.profiles import profile_for
from testing.model_files import config_fixture


def model(**changes: object) -> ModelFacts:
    """Llama-3.1-8B's shape with 262144 positions and 16 GiB of weights."""
    config = config_fixture("llama-3.1-8b-instruct") | {"max_position_embeddings": 262144} | changes
    facts = facts_from_config(config, source="directory", source_detail="test")
    return replace(facts, weight_bytes=16 * GIB, weight_bytes_source="safetensors_index")


def plan(**overrides: object) -> MemoryPlan:
    arguments: dict[str, object] = {
        "max_model_len": 8192,
        "gpu_memory_utilization": 0.5,
        "vllm_version": "0.19.0",
        "max_num_seqs": 1024,  # vLLM's defaults on an H100 (the resolver decides them: test_vllm_resolve.py)
        "max_num_batched_tokens": 8192,
        "cuda_reserved_bytes": 0,
    } | overrides
    facts = arguments.pop("facts", model())
    memory = arguments.pop("memory", 80 * GIB)
    assert isinstance(facts, ModelFacts) and isinstance(memory, int)
    return plan_vllm_memory(facts, memory, **arguments)  # type: ignore[arg-type]


# budget      = 80 GiB x 0.5                                         = 42,949,672,960
# weights     = 16 GiB                                               = 17,179,869,184
# activation  = max(forward, sampler):
#   forward   = (3 x 14336 + (32 + 2 x 8) x 128 + 2 x 4096) x 2 B x 8192 tokens = 939,524,096
#   sampler   = 15.8 B x 1024 rows x 128256 vocab                    =  2,075,079,475
# non-torch   = 0.25 GiB (TP=1, vLLM 0.19)                           =    268,435,456
# KV cache    = 42,949,672,960 - 17,179,869,184 - 2,075,079,475 - 268,435,456 = 23,426,288,845
# block       = 2 x 8 heads x 128 x 2 B x 16 tokens x 32 layers      =      2,097,152
# blocks      = 23,426,288,845 // 2,097,152 = 11,170 -> 178,720 tokens
KV = 23_426_288_845


def test_terms_and_capacity_match_the_hand_computation() -> None:
    result = plan()
    assert [term.name for term in result.terms] == [
        "budget", "weights", "activation peak", "non-torch memory", "CUDA graphs",
    ]  # fmt: skip
    assert [term.bytes for term in result.terms] == [
        42_949_672_960, 17_179_869_184, 2_075_079_475, 268_435_456, 0,
    ]  # fmt: skip
    assert result.kv_cache_bytes == KV
    assert result.num_gpu_blocks == 11_170 and result.kv_capacity_tokens == 178_720
    assert result.kv_bytes_per_token == 131_072
    assert result.kv_bytes_per_request == 512 * 2_097_152  # one 8192-token request: 1 GiB
    assert result.max_concurrency == round(KV / GIB, 2) == 21.82
    assert (result.max_num_seqs, result.max_num_batched_tokens) == (1024, 8192)  # H100 defaults
    assert result.fits and result.reason is None and result.largest_fitting_max_model_len is None


def test_too_long_a_context_names_the_largest_that_fits() -> None:
    result = plan(max_model_len=200_000)  # needs cdiv(200000, 16) = 12,500 blocks of the 11,170
    assert not result.fits
    assert result.largest_fitting_max_model_len == 11_170 * 16
    assert result.reason is not None
    assert result.reason.startswith("To serve at least one request with the model's max seq len (200000)")
    assert "the estimated maximum model length is 178720" in result.reason


def test_v0_refusal_uses_the_old_wording() -> None:
    result = plan(vllm_version="0.6.4.post1", max_model_len=200_000, max_num_batched_tokens=512)
    assert not result.fits and result.reason is not None
    assert result.reason.startswith("The model's max seq len (200000) is larger than the maximum number of tokens")


def test_weights_beyond_the_budget() -> None:
    result = plan(gpu_memory_utilization=0.2)  # 16 GiB budget, 16 GiB of weights before any overhead
    assert not result.fits and result.kv_capacity_tokens == 0
    assert result.reason is not None and result.reason.startswith("No available memory for the cache blocks")


def test_heads_must_divide_over_tensor_parallel_ranks() -> None:
    result = plan(tensor_parallel_size=3)
    assert not result.fits
    assert result.reason == "Total number of attention heads (32) must be divisible by tensor parallel size (3)."


def test_a_context_beyond_the_model_limit_is_the_resolvers_rule_not_the_plans() -> None:
    """vLLM allows it with VLLM_ALLOW_LONG_MAX_MODEL_LEN=1, which only the resolver sees
    (rule max-model-len-over-derived): the plan sizes the cache for the length it is given."""
    result = plan(facts=model(max_position_embeddings=8192), max_model_len=16384)
    assert result.fits and result.max_model_len == 16384


def test_tensor_parallel_splits_weights_and_kv_heads() -> None:
    result = plan(tensor_parallel_size=2)
    by_name = {term.name: term.bytes for term in result.terms}
    assert by_name["weights"] == 8 * GIB
    assert by_name["non-torch memory"] == round(2.1 * GIB)  # NCCL buffers at TP>1, vLLM 0.19
    assert result.kv_bytes_per_token == 65_536


def test_fp8_kv_halves_the_block() -> None:
    result = plan(kv_cache_dtype="fp8")
    assert result.num_gpu_blocks == KV // (2_097_152 // 2)
    assert any("fp8 KV cache" in note for note in result.notes)


def test_cuda_graphs_are_charged_from_0_21_unless_eager() -> None:
    graphs = {term.name: term.bytes for term in plan(vllm_version="0.21.0").terms}["CUDA graphs"]
    assert graphs == 512 * MIB
    eager = plan(vllm_version="0.21.0", enforce_eager=True)
    assert {term.name: term.bytes for term in eager.terms}["CUDA graphs"] == 0


def test_nvml_totals_lose_what_cuda_does_not_report() -> None:
    result = plan(cuda_reserved_bytes=None)
    assert result.terms[0].bytes == int((80 * GIB - CUDA_RESERVED_BYTES) * 0.5)


def test_v0_activation_is_the_forward_pass_only() -> None:
    result = plan(vllm_version="0.6.4", max_num_batched_tokens=20000)
    activation = {term.name: term.bytes for term in result.terms}["activation peak"]
    assert activation == 114_688 * 20000  # 57,344 elements x 2 B per token, no sampler term


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tensor_parallel_size": 0}, "at least 1"),
        ({"gpu_memory_utilization": 1.5}, r"\(0, 1\]"),
        ({"gpu_memory_utilization": 0.0}, r"\(0, 1\]"),
        ({"memory": 0}, "positive"),
        ({"vllm_version": "latest"}, "not a vLLM version"),
        ({"kv_cache_dtype": "int3"}, "kv cache dtype"),
    ],
)
def test_out_of_range_inputs(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan(**arguments)


@pytest.mark.parametrize(
    ("version", "name"),
    [
        ("0.6.4.post1", "v0-engine (<= 0.7)"),
        ("v0.11.0", "v1-engine 0.8-0.11"),
        ("0.19.0", "v1-engine 0.12-0.20"),
        ("0.15.2rc1.dev93+g11a4c9d30", "v1-engine 0.12-0.20"),
        ("0.27.1", "v1-engine >= 0.21"),
        (None, "v1-engine >= 0.21"),
    ],
)
def test_profiles_by_version(version: str | None, name: str) -> None:
    assert profile_for(version).name == name
