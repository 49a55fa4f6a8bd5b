from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from kgc_launch.errors import InputError
from kgc_launch.model.hf_cache import hub_cache_dir, snapshot_of_path
from kgc_launch.model.metadata import read_model
from testing.model_files import COMMIT, config_fixture, gguf_bytes, make_hf_snapshot, write_model_dir

INDEX = json.dumps({"metadata": {"total_size": 16_060_522_496}, "weight_map": {}}).encode()


def test_hub_cache_location_follows_huggingface_hub(tmp_path: Path) -> None:
    assert hub_cache_dir({"HF_HUB_CACHE": "/a", "HF_HOME": "/b"}) == Path("/a")
    assert hub_cache_dir({"HUGGINGFACE_HUB_CACHE": "/legacy"}) == Path("/legacy")
    assert hub_cache_dir({"HF_HOME": "/b"}) == Path("/b/hub")
    assert hub_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/huggingface/hub")
    assert hub_cache_dir({"HOME": str(tmp_path)}) == tmp_path / ".cache/huggingface/hub"


def test_repo_id_found_in_the_cache_through_refs_main(tmp_path: Path) -> None:
    make_hf_snapshot(
        tmp_path / "hub",
        "meta-llama/Llama-3.1-8B-Instruct",
        config_fixture("llama-3.1-8b-instruct"),
        blobs={"model.safetensors.index.json": INDEX},
    )
    facts = read_model("meta-llama/Llama-3.1-8B-Instruct", environ={"HF_HOME": str(tmp_path)})
    assert facts.source == "hf_cache" and facts.revision == COMMIT
    assert facts.model_id == "meta-llama/Llama-3.1-8B-Instruct"
    assert facts.source_detail.endswith(f"snapshots/{COMMIT}")
    assert (facts.weight_bytes, facts.weight_bytes_source) == (16_060_522_496, "safetensors_index")
    assert facts.capabilities.estimated_weight_bytes == 16_060_522_496


def test_revision_by_branch_name_or_commit(tmp_path: Path) -> None:
    other = "f" * 40
    cache = tmp_path / "hub"
    make_hf_snapshot(cache, "Qwen/Qwen3-8B", config_fixture("qwen3-8b"))
    make_hf_snapshot(cache, "Qwen/Qwen3-8B", config_fixture("qwen3-32b"), commit=other, ref="v2")
    environ = {"HF_HUB_CACHE": str(cache)}
    assert read_model("Qwen/Qwen3-8B", environ=environ).num_hidden_layers == 36
    assert read_model("Qwen/Qwen3-8B", revision="v2", environ=environ).num_hidden_layers == 64
    assert read_model("Qwen/Qwen3-8B", revision=other, environ=environ).revision == other


def test_a_cached_repo_without_the_revision_is_an_input_error(tmp_path: Path) -> None:
    make_hf_snapshot(tmp_path, "Qwen/Qwen3-8B", config_fixture("qwen3-8b"))
    with pytest.raises(InputError) as error:
        read_model("Qwen/Qwen3-8B", revision="nope", environ={"HF_HUB_CACHE": str(tmp_path)})
    assert "not at revision 'nope'" in str(error.value)
    assert error.value.hint is not None and "main" in error.value.hint


def test_a_snapshot_path_yields_its_repo_id(tmp_path: Path) -> None:
    snapshot = make_hf_snapshot(tmp_path, "google/gemma-3-27b-it", config_fixture("gemma-3-27b-it"))
    facts = read_model(str(snapshot), environ={})
    assert facts.source == "directory"
    assert (facts.model_id, facts.revision) == ("google/gemma-3-27b-it", COMMIT)
    found = snapshot_of_path(snapshot)
    assert found is not None and found.repo_id == "google/gemma-3-27b-it"
    assert snapshot_of_path(tmp_path) is None


def test_local_directory_and_its_config_json(tmp_path: Path) -> None:
    directory = write_model_dir(tmp_path / "m", config_fixture("qwen3-8b"), {"model.safetensors": b"x" * 64})
    facts = read_model(str(directory), environ={})
    assert facts.source == "directory" and facts.model_id is None
    assert (facts.weight_bytes, facts.weight_bytes_source) == (64, "safetensors_files")
    assert read_model(str(directory / "config.json"), environ={}).num_hidden_layers == 36


def test_without_weight_files_the_weights_are_an_estimate(tmp_path: Path) -> None:
    facts = read_model(str(write_model_dir(tmp_path / "m", config_fixture("qwen3-8b"))), environ={})
    assert facts.weight_bytes_source == "estimate"
    assert facts.weight_bytes is not None and round(facts.weight_bytes / 1024**3, 2) == 15.26


def test_malformed_config_is_exit_3_naming_file_and_line(tmp_path: Path) -> None:
    directory = write_model_dir(tmp_path / "m", '{\n  "hidden_size": 4096,,\n}\n')
    with pytest.raises(InputError) as error:
        read_model(str(directory), environ={})
    assert str(error.value).startswith(f"{directory / 'config.json'}:2: not valid JSON")
    assert error.value.exit_code == 3


def test_a_directory_without_config_json(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no config\.json"):
        read_model(str(tmp_path), environ={})


def test_a_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_model(str(tmp_path / "nope"), environ={})


def test_catalog_answers_for_models_not_on_disk(tmp_path: Path) -> None:
    facts = read_model("meta-llama/Llama-3.1-70B-Instruct", environ={"HF_HOME": str(tmp_path)})
    assert facts.source == "catalog"
    assert facts.source_detail == "https://huggingface.co/meta-llama/Llama-3.1-70B-Instruct/blob/main/config.json"
    assert (facts.weight_bytes, facts.weight_bytes_source) == (141_107_412_992, "catalog")
    assert any("shipped catalog" in note for note in facts.notes)
    lower = read_model("META-LLAMA/llama-3.1-70b-instruct", environ={"HF_HOME": str(tmp_path)})
    assert lower.model_id == "meta-llama/Llama-3.1-70B-Instruct"


def test_the_cache_wins_over_the_catalog(tmp_path: Path) -> None:
    make_hf_snapshot(tmp_path, "Qwen/Qwen3-8B", config_fixture("qwen3-8b"))
    assert read_model("Qwen/Qwen3-8B", environ={"HF_HUB_CACHE": str(tmp_path)}).source == "hf_cache"


def test_unknown_model_is_not_a_crash(tmp_path: Path) -> None:
    facts = read_model("acme/never-published", environ={"HF_HOME": str(tmp_path)})
    assert facts.source == "unknown"
    assert facts.capabilities.to_plain() == facts.capabilities.unknown().to_plain()
    assert "not found in the Hugging Face cache" in facts.notes[0]
    assert str(tmp_path / "hub") in facts.notes[0]


def test_gguf_header_is_read(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(
        gguf_bytes(
            {
                "general.architecture": "llama",
                "general.name": "Meta Llama 3.1 8B Instruct",
                "general.file_type": 15,
                "llama.block_count": 32,
                "llama.context_length": 131072,
                "llama.embedding_length": 4096,
                "llama.feed_forward_length": 14336,
                "llama.attention.head_count": 32,
                "llama.attention.head_count_kv": 8,
                "tokenizer.ggml.tokens": ["<s>", "</s>", "a"],
            }
        )
    )
    facts = read_model(str(path), environ={})
    assert (facts.num_hidden_layers, facts.num_kv_heads, facts.head_dim) == (32, 8, 128)
    assert facts.capabilities.quantization == "q4_k_m"
    assert (facts.weight_bytes, facts.weight_bytes_source) == (path.stat().st_size, "gguf")
    assert facts.vocab_size == 3 and facts.max_position_embeddings == 131072


def test_not_a_gguf_file(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGML" + b"\0" * 20)
    with pytest.raises(InputError, match="not a GGUF file"):
        read_model(str(path), environ={})
    path.write_bytes(gguf_bytes({"general.architecture": "llama"})[:30])
    with pytest.raises(InputError, match="truncated or malformed"):
        read_model(str(path), environ={})


@pytest.mark.parametrize("length", [2**40, 2**62])
def test_a_gguf_string_longer_than_any_real_one_is_not_allocated(tmp_path: Path, length: int) -> None:
    path = tmp_path / "m.gguf"
    # One key whose declared length is a terabyte or more: reading it raised MemoryError (exit 70).
    path.write_bytes(b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, length) + b"general.architecture")
    with pytest.raises(InputError, match=f"truncated or malformed GGUF header: implausible string length {length}"):
        read_model(str(path), environ={})


def test_a_config_json_link_that_leads_nowhere_is_named(tmp_path: Path) -> None:
    # An HF snapshot whose blob was deleted: the link is there, its target is not. It was "no config.json".
    (tmp_path / "config.json").symlink_to(tmp_path / "blobs" / "gone")
    with pytest.raises(InputError, match="no such model config") as error:
        read_model(str(tmp_path), environ={})
    assert error.value.path == str(tmp_path / "config.json")


def test_a_directory_lists_its_json_files_and_the_catalog_none(tmp_path: Path) -> None:
    """Where vLLM looks for a pre-quantized method's config file (quantize_config.json beside config.json)."""
    directory = write_model_dir(tmp_path / "m", config_fixture("qwen3-8b"))
    (directory / "quantize_config.json").write_text("{}")
    assert read_model(str(directory), environ={}).json_files == ("config.json", "quantize_config.json")
    assert read_model("meta-llama/Llama-3.1-70B-Instruct", environ={"HF_HUB_OFFLINE": "1"}).json_files is None
