from __future__ import annotations

import pytest

from kgc_launch.errors import InputError
from kgc_launch.model.config_json import facts_from_config
from kgc_launch.model.facts import ModelFacts
from kgc_launch.model.kv_cache import kv_bytes_per_token, kv_layout, linear_state_bytes
from kgc_launch.records import ModelCapabilities
from testing.model_files import config_fixture


def facts(name: str) -> ModelFacts:
    return facts_from_config(config_fixture(name), source="directory", source_detail=name)


def test_gqa_bytes_per_token() -> None:
    llama = facts("llama-3.1-8b-instruct")
    assert kv_bytes_per_token(llama) == 2 * 32 * 8 * 128 * 2 == 131072
    assert kv_bytes_per_token(llama, tensor_parallel_size=2) == 65536  # heads split over ranks
    assert kv_bytes_per_token(llama, kv_cache_dtype="fp8") == 65536  # 1 byte per element


def test_kv_heads_are_replicated_below_one_per_rank() -> None:
    llama = facts("llama-3.1-8b-instruct")  # 8 KV heads
    assert kv_bytes_per_token(llama, tensor_parallel_size=16) == 2 * 32 * 1 * 128 * 2


def test_mla_caches_one_latent_per_layer_on_every_rank() -> None:
    deepseek = facts("deepseek-v3")
    assert kv_bytes_per_token(deepseek) == (512 + 64) * 61 * 2 == 70272  # no factor 2 for K and V
    assert kv_bytes_per_token(deepseek, tensor_parallel_size=8) == 70272


def test_hybrid_counts_full_attention_layers_and_a_state_per_sequence() -> None:
    nxt = facts("qwen3-next-80b-a3b-instruct")
    assert kv_bytes_per_token(nxt) == 12 * 2 * 2 * 256 * 2 == 24576
    conv = (2 * 16 * 128 + 32 * 128) * (4 - 1)
    recurrent = 32 * 128 * 128
    assert linear_state_bytes(nxt) == 36 * (conv + recurrent) * 2 == 39_518_208
    assert linear_state_bytes(nxt, tensor_parallel_size=2) == 36 * (conv // 2 + recurrent // 2) * 2


def test_gemma_groups_one_full_and_six_sliding_groups_of_ten() -> None:
    layout = kv_layout(facts("gemma-3-27b-it"))
    assert (layout.full_layers, layout.sliding_layers, layout.group_size) == (10, 52, 10)
    assert (layout.full_groups, layout.sliding_groups) == (1, 6)  # 52 sliding padded to 60
    assert layout.token_bytes_per_layer == 2 * 16 * 128 * 2
    # 8192 tokens: full 512 blocks; sliding cdiv(min(1023 + 8192, 8192), 16) + 1 = 513 blocks per group
    assert layout.blocks_per_request(8192, 8192) == 512 + 6 * 513
    # 131072 tokens with 2048-token steps: a sliding group holds cdiv(1023 + 2048, 16) + 1 = 193 blocks
    assert layout.blocks_per_request(131072, 2048) == 8192 + 6 * 193


def test_equal_counts_make_one_group_per_kind() -> None:
    layout = kv_layout(facts("gpt-oss-20b"), tensor_parallel_size=2)
    assert (layout.group_size, layout.full_groups, layout.sliding_groups) == (12, 1, 1)
    assert layout.block_bytes == 2 * 4 * 64 * 2 * 16 * 12
    assert layout.blocks_per_request(8192, 8192) == 512 + 513


def test_pipeline_stages_hold_a_share_of_the_layers() -> None:
    layout = kv_layout(facts("llama-3.1-8b-instruct"), pipeline_parallel_size=2)
    assert (layout.full_layers, layout.group_size) == (16, 16)


def test_unknown_layers_cannot_be_sized() -> None:
    unknown = ModelFacts(source="unknown", capabilities=ModelCapabilities.unknown())
    with pytest.raises(InputError, match="num_hidden_layers"):
        kv_layout(unknown)
