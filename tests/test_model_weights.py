from __future__ import annotations

import json
from pathlib import Path

from kgc_launch.model.config_json import facts_from_config
from kgc_launch.model.weights import count_parameters, estimate_weight_bytes, weights_on_disk
from testing.model_files import config_fixture

# Published sizes the parameter count must reproduce exactly:
LLAMA_8B_INDEX_TOTAL = 16_060_522_496  # meta-llama/Llama-3.1-8B-Instruct model.safetensors.index.json
LLAMA_70B_INDEX_TOTAL = 141_107_412_992  # meta-llama/Llama-3.1-70B-Instruct model.safetensors.index.json
QWEN3_30B_A3B_PARAMETERS = 30_532_122_624  # keras-hub qwen3_moe_30b_a3b_en preset metadata


def test_dense_counts_match_the_published_index_totals() -> None:
    for name, total in (
        ("llama-3.1-8b-instruct", LLAMA_8B_INDEX_TOTAL),
        ("llama-3.1-70b-instruct", LLAMA_70B_INDEX_TOTAL),
    ):
        counts = count_parameters(config_fixture(name))
        assert counts is not None and counts.total * 2 == total  # bf16


def test_moe_count_matches_the_published_parameter_count() -> None:
    counts = count_parameters(config_fixture("qwen3-30b-a3b"))
    assert counts is not None and counts.total == QWEN3_30B_A3B_PARAMETERS


def test_fp8_compresses_the_decoder_linears_not_the_embeddings() -> None:
    config = config_fixture("llama-3.3-70b-instruct-fp8-dynamic")
    counts = count_parameters(config)
    assert counts is not None
    compressed = counts.attention + counts.dense_mlp + counts.experts
    kept = counts.embeddings + counts.lm_head + counts.other
    assert estimate_weight_bytes(config, config, config["quantization_config"]) == compressed * 1 + kept * 2
    # vLLM logged 33.88 GiB per GPU at TP=2 for this checkpoint (llm-d-planner v0.19.0 logs): 67.76 in all
    assert abs(compressed + kept * 2 - 67.76 * 1024**3) / (67.76 * 1024**3) < 0.01


def test_mxfp4_compresses_only_the_experts() -> None:
    config = config_fixture("gpt-oss-20b")
    counts = count_parameters(config)
    assert counts is not None
    assert counts.experts == 24 * 32 * 3 * 2880 * 2880
    expected = round(counts.experts * 4.25 / 8 + (counts.total - counts.experts) * 2)
    assert estimate_weight_bytes(config, config, config["quantization_config"]) == expected


def test_gptq_int4_adds_a_scale_and_zero_per_group() -> None:
    config = config_fixture("llama-3.1-8b-instruct")
    quant = {"quant_method": "gptq", "bits": 4, "group_size": 128}
    counts = count_parameters(config)
    assert counts is not None
    linears = counts.attention + counts.dense_mlp
    expected = round(linears * (0.5 + 2.5 / 128) + (counts.total - linears) * 2)
    assert estimate_weight_bytes(config, config, quant) == expected


def test_multimodal_estimate_counts_the_vision_tower() -> None:
    gemma = facts_from_config(config_fixture("gemma-3-27b-it"), source="directory", source_detail="x")
    # vLLM logged 51.45 GiB for google/gemma-3-27b-it (llm-d-planner v0.19.0 logs)
    assert gemma.weight_bytes is not None and abs(gemma.weight_bytes / 1024**3 - 51.45) < 0.5
    assert gemma.weight_bytes_source == "estimate"


def test_gelu_mlp_families_have_two_matrices_not_three() -> None:
    # EleutherAI/pythia-6.9b's config.json (tests/data/configs_unseen): 6.9B published; SwiGLU's third matrix
    # would count 9.0B.
    pythia = json.loads((Path(__file__).parent / "data" / "configs_unseen" / "pythia-6.9b.json").read_text())
    counts = count_parameters(pythia)
    assert counts is not None and counts.dense_mlp == 32 * 2 * 4096 * 16384
    assert abs(counts.total / 6.9e9 - 1) < 0.01


def test_index_total_size_wins_over_file_sizes(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": 1234}}))
    (tmp_path / "model-00001-of-00001.safetensors").write_bytes(b"x" * 10)
    disk = weights_on_disk(tmp_path)
    assert disk is not None and (disk.bytes, disk.source) == (1234, "safetensors_index")


def test_file_sizes_when_the_index_is_missing_or_unreadable(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors.index.json").write_text("{not json")
    (tmp_path / "a.safetensors").write_bytes(b"x" * 10)
    (tmp_path / "b.safetensors").write_bytes(b"x" * 5)
    disk = weights_on_disk(tmp_path)
    assert disk is not None and (disk.bytes, disk.source) == (15, "safetensors_files")


def test_a_dangling_shard_link_means_no_file_sum(tmp_path: Path) -> None:
    (tmp_path / "a.safetensors").symlink_to(tmp_path / "missing-blob")
    assert weights_on_disk(tmp_path) is None


def test_no_weights_no_answer(tmp_path: Path) -> None:
    assert weights_on_disk(tmp_path) is None
