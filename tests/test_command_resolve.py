from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kgc_launch import cli
from kgc_launch.errors import EXIT_INPUT, EXIT_USAGE, EXIT_VERDICT_NO
from kgc_launch.records import CompiledKernelFeatures, HardwareCapabilities
from testing.ferrum_cases import GOLDEN_DIR

M3 = ["resolve", "ferrum", "--preset", "m3_qwen3_30b_a3b_int4"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_m3_preset_prints_the_decisions_and_writes_golden_artifacts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *M3, "--artifacts-dir", str(tmp_path / "art"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "ferrum config resolved: preset m3_qwen3_30b_a3b_int4, 0 runtime entries"
    assert lines[3].split() == ["selection", "selected", "source", "source_key"]
    assert lines[4].split() == [
        "attention_prefill_mixed_backend",
        "vllm_paged_varlen",
        "workload_preset",
        "-",
    ]
    assert lines[4].index("vllm_paged_varlen") == lines[3].index("selected")  # aligned columns
    assert out.endswith(f"artifacts:\n  {tmp_path}/art/effective_config.json\n  {tmp_path}/art/decision_trace.jsonl\n")
    for name in ("effective_config.json", "decision_trace.jsonl"):
        assert (tmp_path / "art" / name).read_bytes() == (GOLDEN_DIR / "m3_preset" / name).read_bytes()


def test_default_artifacts_dir_and_json_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *M3, "--json")
    assert code == 0
    written = tmp_path / "kgc-artifacts" / "ferrum" / "effective_config.json"
    assert out == written.read_text(encoding="utf-8")
    assert json.loads(out)["preset"] == "m3_qwen3_30b_a3b_int4"
    assert "kgc-artifacts/ferrum" in err


def test_set_wins_over_the_environment_and_both_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FERRUM_KV_MAX_BLOCKS", "4096")
    monkeypatch.setenv("FERRUM_PAGED_MAX_SEQS", "8")
    monkeypatch.setenv("NOT_FERRUM", "1")
    code, out, _ = run(capsys, *M3, "--set", "FERRUM_KV_MAX_BLOCKS=1024", "--json", "--artifacts-dir", str(tmp_path))
    assert code == 0
    document = json.loads(out)
    entries = {entry["key"]: (entry["effective_value"], entry["source"]) for entry in document["entries"]}
    assert entries == {"FERRUM_KV_MAX_BLOCKS": ("1024", "cli"), "FERRUM_PAGED_MAX_SEQS": ("8", "env")}
    decisions = {d["selection"]: (d["selected"], d["source"]) for d in document["decisions"]}
    assert decisions["kv_block_count"] == ("1024", "cli")
    assert decisions["max_sequences"] == ("8", "env")


def test_a_resolver_error_exits_1_with_key_reason_and_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *M3, "--set", "FERRUM_FA2_SOURCE=1", "--artifacts-dir", str(tmp_path / "a"))
    assert code == EXIT_VERDICT_NO
    assert out == ""
    assert err.startswith(
        "kgc-launch: error: FERRUM_FA2_SOURCE: invalid override: source-linked FA2 support is not compiled\n"
        "  hint: if the ferrum binary was built with it, declare compiled_features.fa2_source: true"
    )
    assert not (tmp_path / "a").exists()  # no artifacts for a config that does not resolve


def test_hardware_file_overrides_the_presets_hardware(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hardware = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_with_source_fa2())
    path = write_json(tmp_path / "hw.json", hardware.to_plain())
    argv = [
        *M3,
        "--hardware",
        path,
        "--set",
        "FERRUM_FA2_SOURCE=1",
        "--json",
        "--artifacts-dir",
        str(tmp_path),
    ]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    document = json.loads(out)
    assert document["hardware_capabilities"]["compiled_features"]["fa2_source"] is True
    assert document["model_capabilities"]["architecture"] == "qwen3_moe"  # still the preset's model
    assert document["decisions"][0]["selected"] == "fa2_source"


def test_without_preset_unknown_records_and_a_workload_for_the_hardware(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "resolve", "ferrum", "--json", "--artifacts-dir", str(tmp_path))
    assert code == 0
    document = json.loads(out)
    assert document["preset"] is None
    assert document["hardware_capabilities"]["backend"] == "unknown"
    assert document["workload_profile"]["target_concurrency"] == 1

    hardware = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.default())
    hardware_path = write_json(tmp_path / "hw.json", hardware.to_plain())
    code, out, _ = run(
        capsys, "resolve", "ferrum", "--hardware", hardware_path, "--json", "--artifacts-dir", str(tmp_path)
    )
    document = json.loads(out)
    assert document["workload_profile"]["target_concurrency"] == 32  # serving default for a 24 GiB CUDA GPU
    assert document["model_capabilities"]["architecture"] == "unknown"


def test_model_and_workload_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = write_json(
        tmp_path / "model.json",
        {"architecture": "llama", "supported_dtypes": ["fp16"], "max_context_len": 4096},
    )
    workload = write_json(
        tmp_path / "workload.json",
        {"serving_mode": "openai_chat", "target_concurrency": 4, "prompt_length_class": "short",
         "output_length_class": "short", "priority": "latency"},
    )  # fmt: skip
    argv = ["resolve", "ferrum", "--model-capabilities", model, "--workload", workload, "--json"]
    code, out, _ = run(capsys, *argv, "--set", "FERRUM_MAX_MODEL_LEN=8192", "--artifacts-dir", str(tmp_path))
    assert code == EXIT_VERDICT_NO  # 8192 is over the model's 4096: the model file was read
    code, out, _ = run(capsys, *argv, "--artifacts-dir", str(tmp_path))
    assert json.loads(out)["workload_profile"]["priority"] == "latency"
    assert {d["selection"]: d["selected"] for d in json.loads(out)["decisions"]}["max_sequences"] == "4"


_LISTS = {"supported_dtypes": [], "supported_kv_dtypes": []}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"backend": "cuda",\n"sm_count": }', ":2: invalid JSON"),
        (json.dumps({"backend": "cuda", **_LISTS, "compiled_features": {}, "sm_count": "128"}),
         ": sm_count: not a HardwareCapabilities record: Input should be a valid integer"),
        (json.dumps({"backend": "cuda", **_LISTS, "compiled_features": {"fa3": True}}),
         ": compiled_features.fa3: not a HardwareCapabilities record: unknown field"),
        (json.dumps({**_LISTS, "compiled_features": {}}),
         ": backend: not a HardwareCapabilities record: Field required"),
    ],
)  # fmt: skip
def test_a_bad_hardware_file_names_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    path = tmp_path / "hw.json"
    path.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "resolve", "ferrum", "--hardware", str(path), "--artifacts-dir", str(tmp_path))
    assert code == EXIT_INPUT
    assert err.startswith(f"kgc-launch: error: {path}{expected}")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--preset", "m9"], "invalid choice: 'm9' (choose from 'm3_qwen3_30b_a3b_int4')"),
        (["--set", "FERRUM_X"], "--set expects KEY=VALUE, got 'FERRUM_X'"),
        (["--set", "KV_MAX_BLOCKS=1"], "--set KV_MAX_BLOCKS: ferrum reads only FERRUM_* keys"),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, _, err = run(capsys, "resolve", "ferrum", *argv)
    assert code == EXIT_USAGE
    assert message in err


def test_other_engines_are_not_resolved_here(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "resolve", "vllm")
    assert code == EXIT_USAGE
    assert "invalid choice: 'vllm'" in err


def test_artifacts_dir_that_is_a_symlink_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    code, _, err = run(capsys, *M3, "--artifacts-dir", str(tmp_path / "link"))
    assert code == EXIT_INPUT
    assert "symbolic link" in err
    assert list((tmp_path / "real").iterdir()) == []


def test_an_environment_value_that_is_not_utf8_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FERRUM_MODEL_PATH", b"/models/\xff".decode("utf-8", "surrogateescape"))
    code, _, err = run(capsys, *M3, "--artifacts-dir", str(tmp_path))
    assert code == EXIT_INPUT
    assert "FERRUM_MODEL_PATH is not valid UTF-8" in err
