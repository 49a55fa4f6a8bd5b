from __future__ import annotations

from pathlib import Path

import pytest

from kgc_launch.errors import InputError
from kgc_launch.model.config_json import facts_from_config, load_config_json
from kgc_launch.model.facts import ModelFacts
from kgc_launch.model.quantization import quantization_name
from testing.model_files import config_fixture

INT4_WEIGHTS = {"num_bits": 4, "type": "int"}


def facts(name: str) -> ModelFacts:
    return facts_from_config(config_fixture(name), source="directory", source_detail=name)


def test_llama_reads_every_seed_field() -> None:
    llama = facts("llama-3.1-8b-instruct")
    capabilities = llama.capabilities
    assert capabilities.architecture == "llama"
    assert capabilities.quantization is None and capabilities.moe is None
    assert (capabilities.max_context_len, capabilities.num_hidden_layers) == (131072, 32)
    assert (capabilities.head_dim, capabilities.kv_heads) == (128, 8)
    assert capabilities.supported_dtypes == ["bf16", "fp32"]
    assert llama.attention == "gqa" and llama.kv_cache_layers == 32 and not llama.sliding_window_layers
    assert llama.torch_dtype == "bfloat16"
    assert llama.provenance["head_dim"].startswith("hidden_size / num_attention_heads")
    assert any("llama3 x8.0 from 8192" in note for note in llama.notes)


def test_dtype_key_of_newer_transformers_is_read_like_torch_dtype() -> None:
    config = config_fixture("qwen3-8b")
    config["dtype"] = config.pop("torch_dtype")
    newer = facts_from_config(config, source="directory", source_detail="x")
    assert newer.torch_dtype == "bfloat16"
    assert newer.provenance["torch_dtype"] == "config.json: dtype"


def test_multimodal_text_config_and_class_defaults() -> None:
    gemma = facts("gemma-3-27b-it")
    assert gemma.capabilities.architecture == "gemma3" and gemma.model_type == "gemma3_text"
    assert (gemma.num_hidden_layers, gemma.num_kv_heads, gemma.head_dim) == (62, 16, 128)
    assert gemma.provenance["num_hidden_layers"] == "config.json: text_config.num_hidden_layers"
    # gemma-3's config.json leaves these to Gemma3TextConfig's defaults.
    assert gemma.vocab_size == 262208 and gemma.max_position_embeddings == 131072
    assert gemma.provenance["vocab_size"].startswith("transformers Gemma3TextConfig default")
    # every 6th layer is global: 10 of 62; the other 52 stop at the 1024-token window
    assert (gemma.kv_cache_layers, gemma.sliding_window_layers, gemma.sliding_window) == (62, 52, 1024)
    assert gemma.torch_dtype == "bfloat16"  # top-level torch_dtype of a nested config


def test_missing_head_dim_is_hidden_over_heads() -> None:
    mixtral = facts("mixtral-8x7b-instruct-v0.1")
    assert mixtral.head_dim == 4096 // 32
    moe = mixtral.capabilities.moe
    assert moe is not None and (moe.num_experts, moe.experts_per_token, moe.moe_intermediate_size) == (
        8,
        2,
        14336,
    )


def test_mla_reads_the_latent_width() -> None:
    deepseek = facts("deepseek-v3")
    assert deepseek.attention == "mla"
    assert (deepseek.kv_lora_rank, deepseek.qk_rope_head_dim) == (512, 64)
    assert deepseek.head_dim == 128 + 64
    assert deepseek.capabilities.quantization == "fp8" and deepseek.quant_method == "fp8"
    moe = deepseek.capabilities.moe
    assert moe is not None and (moe.num_experts, moe.experts_per_token, moe.moe_intermediate_size) == (
        256,
        8,
        2048,
    )


def test_hybrid_linear_attention_counts_full_layers_only() -> None:
    nxt = facts("qwen3-next-80b-a3b-instruct")
    assert nxt.attention == "hybrid"
    assert (nxt.kv_cache_layers, nxt.linear_attention_layers) == (12, 36)
    assert nxt.linear_attention is not None
    assert (nxt.linear_attention.num_value_heads, nxt.linear_attention.key_head_dim) == (32, 128)
    moe = nxt.capabilities.moe
    assert moe is not None and (moe.num_experts, moe.experts_per_token) == (512, 10)


def test_layer_types_with_sliding_window() -> None:
    oss = facts("gpt-oss-20b")
    assert (oss.kv_cache_layers, oss.sliding_window_layers, oss.sliding_window) == (24, 12, 128)
    assert oss.capabilities.quantization == "mxfp4"
    moe = oss.capabilities.moe
    assert moe is not None and (moe.num_experts, moe.experts_per_token, moe.moe_intermediate_size) == (
        32,
        4,
        2880,
    )


def test_sliding_window_off_when_use_sliding_window_is_false() -> None:
    config = config_fixture("qwen3-8b") | {"sliding_window": 4096}
    qwen = facts_from_config(config, source="directory", source_detail="x")
    assert qwen.sliding_window is None and qwen.sliding_window_layers == 0


def test_sliding_window_without_pattern_slides_every_layer() -> None:
    config = config_fixture("mistral-7b-instruct-v0.3") | {"sliding_window": 4096}
    mistral = facts_from_config(config, source="directory", source_detail="x")
    assert (mistral.sliding_window_layers, mistral.sliding_window) == (32, 4096)


def test_kv_heads_default_to_attention_heads() -> None:
    config = config_fixture("llama-3.1-8b-instruct")
    del config["num_key_value_heads"]
    mha = facts_from_config(config, source="directory", source_detail="x")
    assert mha.num_kv_heads == 32 and mha.attention == "mha"
    assert mha.provenance["num_kv_heads"].startswith("num_attention_heads")


@pytest.mark.parametrize(
    ("config", "name"),
    [
        ({"quant_method": "gptq", "bits": 4, "group_size": 128}, "gptq_int4"),
        ({"quant_method": "awq", "bits": 4}, "awq_int4"),
        ({"quant_method": "gptq", "bits": 8}, "gptq_int8"),
        ({"quant_method": "fp8", "weight_block_size": [128, 128]}, "fp8"),
        ({"quant_method": "mxfp4"}, "mxfp4"),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True}, "bnb_4bit"),
        (config_fixture("llama-3.3-70b-instruct-fp8-dynamic")["quantization_config"], "fp8"),
        ({"quant_method": "compressed-tensors", "config_groups": {"g": {"weights": INT4_WEIGHTS}}}, "int4"),
    ],
)  # fmt: skip
def test_quantization_spelling(config: dict[str, object], name: str) -> None:
    assert quantization_name(config) == name


def test_gptq_models_run_fp16_like_the_seed() -> None:
    config = config_fixture("qwen3-30b-a3b") | {"quantization_config": {"quant_method": "gptq", "bits": 4}}
    gptq = facts_from_config(config, source="directory", source_detail="x").capabilities
    assert gptq.quantization == "gptq_int4" and gptq.supported_dtypes == ["fp16"]


def test_a_field_of_the_wrong_type_is_an_input_error_naming_it() -> None:
    config = config_fixture("llama-3.1-8b-instruct") | {"num_hidden_layers": "32"}
    with pytest.raises(InputError) as error:
        facts_from_config(config, source="directory", source_detail="x", config_label="/m/config.json")
    assert "num_hidden_layers" in str(error.value) and "/m/config.json" in str(error.value)


def test_malformed_config_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n  "hidden_size": 4096,\n  "num_hidden_layers": 32\n  "vocab_size": 1\n}\n')
    with pytest.raises(InputError) as error:
        load_config_json(path)
    assert str(error.value).startswith(f"{path}:4: not valid JSON")
    assert error.value.exit_code == 3


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        (b"[" * 100_000, "nested too deeply", None),  # json.loads raised RecursionError: exit 70
        (b'{\n  "model_type": "caf\xe9"\n}\n', "not UTF-8", 2),
    ],
)
def test_a_config_that_cannot_be_parsed_is_an_input_error(
    tmp_path: Path, content: bytes, message: str, line: int | None
) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as error:
        load_config_json(path)
    assert error.value.path == str(path) and error.value.line == line


def test_a_config_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[1, 2]\n")
    with pytest.raises(InputError, match="must be a JSON object"):
        load_config_json(path)


def test_multi_query_means_one_kv_head() -> None:
    # Falcon's RW config: 71 query heads share one K/V head; reading 71 would size the KV cache 71x too large.
    config = {"model_type": "RefinedWebModel", "n_layer": 32, "n_head": 71, "hidden_size": 4544, "multi_query": True}
    falcon = facts_from_config(config, source="directory", source_detail="x")
    assert falcon.num_kv_heads == 1 and falcon.head_dim == 64 and not falcon.notes
    assert falcon.provenance["num_kv_heads"] == "config.json: multi_query (one KV head)"


@pytest.mark.parametrize(
    ("config", "why"),
    [
        ({"model_type": "t5", "is_encoder_decoder": True, "num_layers": 12, "d_model": 768}, "encoder-decoder"),
        (
            {"model_type": "bert", "num_hidden_layers": 12, "num_attention_heads": 12, "hidden_size": 768},
            "encoder-only",
        ),
        (
            {
                "model_type": "jamba",
                "num_hidden_layers": 32,
                "num_attention_heads": 32,
                "hidden_size": 4096,
                "mamba_d_state": 16,
            },
            "Mamba",
        ),
        ({"model_type": "dbrx", "n_layers": 40, "d_model": 6144}, "names no num_hidden_layers, num_attention_heads"),
    ],
)
def test_unmodelled_architectures_are_not_evaluated(config: dict[str, object], why: str) -> None:
    facts = facts_from_config(config, source="directory", source_detail="x")
    assert facts.notes[0].startswith("not evaluated:") and why in facts.notes[0]
    assert facts.weight_bytes is None
    from kgc_launch.model.kv_cache import kv_bytes_per_token

    with pytest.raises(InputError, match="not evaluated"):
        kv_bytes_per_token(facts)
