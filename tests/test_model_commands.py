"""`kgc-launch model inspect` and `kgc-launch fit` end to end through the CLI's error funnel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kgc_launch import cli
from kgc_launch.hardware.presets import inventory_from_preset
from kgc_launch.records import to_plain
from testing.model_files import config_fixture, make_hf_snapshot, write_model_dir


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_both_commands_are_registered() -> None:
    assert {"model", "fit"} <= set(cli.COMMANDS)


def test_inspect_prints_facts_and_their_sources(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["model", "inspect", "Qwen/Qwen3-30B-A3B"], capsys)
    assert code == 0
    assert "Qwen/Qwen3-30B-A3B  [catalog: https://huggingface.co/Qwen/Qwen3-30B-A3B/blob/main/config.json]" in out
    assert "128 experts, 8 per token, width 768" in out
    assert "catalog config.json: num_key_value_heads" in out
    assert "KV cache per token of context (1 GPU): 96.0 KiB (98,304 bytes) at 16 bits" in out  # 2x48x4x128x2


def test_inspect_json_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    make_hf_snapshot(tmp_path / "hub", "google/gemma-3-27b-it", config_fixture("gemma-3-27b-it"))
    code, out, _ = run(["model", "inspect", "google/gemma-3-27b-it", "--json"], capsys)
    assert code == 0
    document = json.loads(out)
    assert list(document) == [
        "model", "source", "source_detail", "revision", "capabilities", "facts", "provenance",
        "kv_bytes_per_token", "notes",
    ]  # fmt: skip
    assert document["source"] == "hf_cache" and document["revision"]
    assert document["capabilities"]["architecture"] == "gemma3"
    assert list(document["capabilities"]) == list(document["capabilities"])  # seed order kept by to_plain
    assert document["facts"]["sliding_window_layers"] == 52
    assert document["kv_bytes_per_token"]["auto"] == 62 * 2 * 16 * 128 * 2


def test_inspect_unknown_model_exits_3_and_invents_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["model", "inspect", "acme/never-published"], capsys)
    assert code == 3  # as `fit` does: an input that cannot be evaluated
    assert "architecture      unknown" in out
    for row in ("supported dtypes", "graph-safe MoE", "quantization", "moe"):
        assert re.search(rf"^  {row} +unknown *$", out, re.MULTILINE), row
    assert "fp16" not in out  # the seed record's placeholder is not a fact
    assert "note: unknown model 'acme/never-published': not found in the Hugging Face cache" in out
    assert "the Hub was not asked (KGC_NO_HUB=1 forbids Hub access)" in out
    assert "acme/never-published: the model is unknown" in err


def test_inspect_json_of_an_unknown_model_has_nulls_not_placeholders(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["model", "inspect", "acme/never-published", "--json"], capsys)
    assert code == 3
    document = json.loads(out)
    assert document["source"] == "unknown" and document["provenance"] == {}
    assert document["capabilities"]["supported_dtypes"] is None
    assert document["capabilities"]["graph_safe_moe"] is None
    assert document["notes"][0].startswith("unknown model 'acme/never-published': ")


def test_a_config_without_a_dtype_has_no_supported_dtypes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {key: value for key, value in config_fixture("qwen3-8b").items() if key != "torch_dtype"}
    code, out, _ = run(["model", "inspect", str(write_model_dir(tmp_path / "m", config))], capsys)
    assert code == 0
    assert re.search(r"^  supported dtypes +unknown *$", out, re.MULTILINE)
    assert re.search(r"^  dtype +unknown *$", out, re.MULTILINE)


def test_inspect_malformed_config_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_model_dir(tmp_path / "m", '{"hidden_size": 4096\n"x": 1}')
    code, _, err = run(["model", "inspect", str(directory)], capsys)
    assert code == 3
    assert f"{directory / 'config.json'}:2: not valid JSON" in err


def test_fit_that_fits_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["fit", "meta-llama/Llama-3.1-8B-Instruct", "--hardware", "H100", "--max-model-len", "32768"], capsys
    )
    assert code == 0
    assert (
        out.splitlines()[0]
        == "Will it fit? meta-llama/Llama-3.1-8B-Instruct on 1 x NVIDIA H100 80GB HBM3 (79.65 GiB each)"
    )
    assert "fits: vLLM should start with this configuration." in out
    for label in (
        "budget",
        "- weights",
        "- activation peak",
        "- non-torch memory",
        "- CUDA graphs",
        "= KV cache",
    ):
        assert f"\n  {label}" in out


def test_fit_that_does_not_fit_exits_1_with_the_largest_context(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "fit",
            "meta-llama/Llama-3.1-70B-Instruct",
            "--hardware",
            "2xH100",
            "-tp",
            "2",
            "--max-model-len",
            "32768",
        ],
        capsys,
    )
    assert code == 1
    assert "does NOT fit: To serve at least one request with the model's max seq len (32768)" in out
    assert "the estimated maximum model length is" in out
    assert "largest max_model_len that fits:" in out


def test_fit_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["fit", "openai/gpt-oss-20b", "--hardware", "L4", "--json", "--vllm-version", "0.19.0"], capsys)
    document = json.loads(out)
    assert list(document) == ["model", "hardware", "plan"]
    plan = document["plan"]
    assert code == (0 if plan["fits"] else 1)
    assert plan["vllm_profile"] == "v1-engine 0.12-0.20"
    budget, *subtracted = plan["terms"]
    assert budget["name"] == "budget"
    assert plan["kv_cache_bytes"] == budget["bytes"] - sum(term["bytes"] for term in subtracted)
    assert document["hardware"]["devices"][0]["name"] == "NVIDIA L4"


def test_fit_reads_a_hardware_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "node.json"
    saved.write_text(json.dumps(to_plain(inventory_from_preset("4xA100-80GB"))))
    code, out, _ = run(["fit", "Qwen/Qwen3-32B", "--hardware", str(saved), "-tp", "4", "--json"], capsys)
    assert code == 0
    plan = json.loads(out)["plan"]
    assert (plan["max_num_seqs"], plan["max_num_batched_tokens"]) == (256, 2048)  # vLLM's A100 defaults


def test_fit_unknown_model_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["fit", "acme/never-published", "--hardware", "H100"], capsys)
    assert code == 3
    assert "cannot plan for acme/never-published: the model is unknown" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tensor-parallel-size", "0"], "argument --tensor-parallel-size/-tp: must be at least 1, got 0"),
        (["--pipeline-parallel-size", "x"], "argument --pipeline-parallel-size/-pp: expected a whole number"),
        (["--max-model-len", "-5"], "argument --max-model-len: must be at least 1"),
        (["--max-num-seqs", "0"], "argument --max-num-seqs: must be at least 1"),
        (["--kv-cache-dtype", "int3"], "argument --kv-cache-dtype: invalid choice: 'int3'"),
        (["-tp", "4"], "--tensor-parallel-size x --pipeline-parallel-size is 4, but --hardware H100 has 1"),
        (["--vllm-version", "latest"], "--vllm-version: not a version: 'latest'"),
    ],
)
def test_fit_usage_errors_name_the_flag(flags: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["fit", "Qwen/Qwen3-8B", "--hardware", "H100", *flags], capsys)
    assert code == 2
    assert message in err


@pytest.mark.parametrize("value", ["1.2", "1.5"])
def test_fit_refuses_a_utilization_vllm_refuses_in_the_launch_s_words(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["fit", "Qwen/Qwen3-8B", "--hardware", "H100", "--gpu-memory-utilization", value], capsys)
    assert code == 1
    assert f"--gpu-memory-utilization {value}: vLLM 0.33.0 accepts a number in (0, 1]" in err
    assert "[vllm-args:invalid-value]" in err


def test_fit_requires_hardware(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["fit", "Qwen/Qwen3-8B"], capsys)
    assert code == 2 and "--hardware" in err


def test_fit_malformed_hardware_file_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "node.json"
    bad.write_text("{\n  oops\n}")
    code, _, err = run(["fit", "Qwen/Qwen3-8B", "--hardware", str(bad)], capsys)
    assert code == 3 and f"{bad}:2" in err


def test_fit_without_hardware_probes_this_machine(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake NVML stands in for this machine's GPUs: the probe is what `fit` uses without --hardware.
    from pathlib import Path

    node = Path(__file__).resolve().parent.parent / "testing" / "nvml" / "8xh100.json"
    monkeypatch.setenv("KGC_FAKE_NVML", str(node))
    code = cli.main(["fit", "meta-llama/Llama-3.1-8B-Instruct", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["plan"]["fits"] is True
    assert report["hardware"]["devices"][0]["name"] == "NVIDIA H100 80GB HBM3"
