"""The user's registry over the recipes layer: the merge rule, turning the layer off, and every command that
reads both (check, show, list, registry validate), each finding naming its layer and file."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from kgc_launch import cli
from kgc_launch.errors import EXIT_INPUT, EXIT_OK, EXIT_USAGE, EXIT_VERDICT_NO
from kgc_launch.knowngood import layers
from kgc_launch.knowngood.check import check_launch
from kgc_launch.knowngood.layers import LayeredRegistry, open_layered
from kgc_launch.knowngood.load import load_registry
from kgc_launch.vllm.args import parse_serve_args

SAMPLE_LAYER = Path(__file__).parent / "golden" / "recipes-layer-sample.yaml"
MINISTRAL = "mistralai/Ministral-3-14B-Instruct-2512"
EVIDENCE = (
    "vllm-project/recipes models/mistralai/Ministral-3-14B-Instruct-2512.yaml@8959cf64189c71d36e11c6a30335f923f261b1f7"
)
MISTRAL_FLAGS = "--tokenizer-mode mistral --config-format mistral --load-format mistral"
H200 = [("NVIDIA H200", "9.0")] * 8

USER = f"""\
schema: known_good_config_v1
models:
  - model: {MINISTRAL}
    aliases: [my-ministral]
    vram_minimum_gb: 40
    required_flags:
      - flag: --load-format safetensors
        severity: perf
        why: our own converted copy has HF-format weights
      - flag: --max-num-seqs 64
        severity: crash-high-c
        why: our own finding
    options:
      - name: tool_calling
        flag: --enable-auto-tool-choice --tool-call-parser mistral_v2
  - model: Org/Only-Mine
    required_flags:
      - flag: --enforce-eager
"""


@pytest.fixture
def sample_layer(monkeypatch: pytest.MonkeyPatch, recipes_layer_on: None) -> Path:
    """The layer imported from tests/data/recipes (small and fast), in place of the shipped one."""
    monkeypatch.setenv("KGC_RECIPES_LAYER", str(SAMPLE_LAYER))
    return SAMPLE_LAYER


@pytest.fixture
def user_registry(tmp_path: Path) -> Path:
    path = tmp_path / "known-good-configs.yaml"
    path.write_text(USER, encoding="utf-8")
    return path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(registry: Path, command: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    args = shlex.split(command)
    code, out, _ = run(
        ["check", "--registry", str(registry), "--model", args[0], "--serve-args", command, "--json", *extra], capsys
    )
    return code, json.loads(out)


# -- the merge rule ------------------------------------------------------------------------------------


def test_the_users_entry_wins_field_by_field(sample_layer: Path, user_registry: Path) -> None:
    registry = open_layered(user_registry, no_recipes=False, environ={"KGC_RECIPES_LAYER": str(sample_layer)})
    assert isinstance(registry, LayeredRegistry)
    found = registry.find(["my-ministral"], "vllm")
    assert found is not None and found.layers == ("registry", "recipes")
    entry = found.entry
    texts = [r.text for r in entry.required_flags]
    # The user's --load-format replaces the layer's --load_format mistral; the rest of the layer's stays.
    assert texts[:2] == ["--load-format safetensors", "--max-num-seqs 64"]
    assert "--load_format mistral" not in texts and "--tokenizer_mode mistral" in texts
    origins = [found.flag_origin(n, found.origin).layer for n in range(len(texts))]  # type: ignore[arg-type]
    assert origins[:2] == ["registry", "registry"] and set(origins[2:]) == {"recipes"}
    assert entry.vram_minimum_gb == 40  # the user's
    assert entry.verified_hardware == ["h200", "mi300x", "mi325x", "mi355x"]  # the layer's: the user has none
    assert entry.source is not None and entry.source.startswith("vllm-project/recipes")
    assert [o.name for o in entry.options][:2] == ["tool_calling", "text_only"]
    assert entry.options[0].flag == "--enable-auto-tool-choice --tool-call-parser mistral_v2"
    assert "my-ministral" in entry.aliases


def test_a_user_copy_of_a_layer_refusal_with_another_severity_replaces_it(tmp_path: Path, sample_layer: Path) -> None:
    layer_entry = load_registry(sample_layer).find([MINISTRAL], "vllm")
    assert layer_entry is not None
    refusal = next(r for r in layer_entry.entry.required_flags if r.refuse)
    user = tmp_path / "mine.yaml"
    user.write_text(
        f"schema: known_good_config_v1\nmodels:\n  - model: {MINISTRAL}\n    required_flags:\n"
        f"      - refuse: {json.dumps(refusal.refuse)}\n        severity: perf\n"
        f"        applies_when: {{engine_version: '<0.11.0'}}\n",
        encoding="utf-8",
    )
    registry = open_layered(user, no_recipes=False, environ={"KGC_RECIPES_LAYER": str(sample_layer)})
    args = parse_serve_args(shlex.split(f"{MINISTRAL} {MISTRAL_FLAGS}"))
    report = check_launch(
        registry, model_ids=[MINISTRAL], serve_args=args, env={}, engine="vllm", engine_version="0.10.0",
        gpus=H200, require_registered=False,
    )  # fmt: skip
    assert report.verdict == "pass" and [w.kind for w in report.warnings] == ["refuse"]
    assert report.warnings[0].layer == "registry"


def test_findings_name_their_layer_and_file(
    sample_layer: Path, user_registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = check_json(user_registry, f"{MINISTRAL} --tokenizer-mode mistral", capsys, "--hardware", "8xH200")
    assert code == EXIT_VERDICT_NO and report["layers"] == ["registry", "recipes"]
    by_flag = {m["flag"]: m for m in report["missing_required"]}
    assert set(by_flag) == {"--max-num-seqs 64", "--config_format mistral"}
    assert by_flag["--max-num-seqs 64"]["layer"] == "registry"
    assert by_flag["--max-num-seqs 64"]["source"] == str(user_registry)
    assert by_flag["--config_format mistral"]["layer"] == "recipes"
    assert by_flag["--config_format mistral"]["source"] == str(sample_layer)
    assert by_flag["--config_format mistral"]["evidence"] == EVIDENCE
    code, out, _ = run(
        ["check", "--registry", str(user_registry), "--model", MINISTRAL, "--serve-args", MINISTRAL], capsys
    )
    assert f"  under it, the recipes layer: {sample_layer}" in out
    assert f"           from: recipes layer {sample_layer}" in out
    assert f"           from: registry {user_registry}" in out
    assert f"evidence: {EVIDENCE}" in out


def test_a_model_only_the_layer_knows_is_checked_by_it(
    sample_layer: Path, user_registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = check_json(user_registry, "openai/gpt-oss-120b", capsys, "--hardware", "8xH200")
    assert code == EXIT_OK and report["registered"] and report["layers"] == ["recipes"]
    code, report = check_json(user_registry, "dots-studio/dots3-note-prev", capsys, "--hardware", "8xH200")
    assert code == EXIT_OK
    code, report = check_json(user_registry, "dots-studio/dots3-note-prev", capsys, "--hardware", "8xB200")
    assert code == EXIT_VERDICT_NO and "marks B200 unsupported" in report["missing_required"][0]["flag"]
    assert report["missing_required"][0]["kind"] == "refuse"


# -- turning it off ---------------------------------------------------------------------------------------


def test_no_recipes_and_the_environment_variable_turn_the_layer_off(
    sample_layer: Path, user_registry: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    command = "openai/gpt-oss-120b"
    assert check_json(user_registry, command, capsys)[1]["registered"] is True
    assert check_json(user_registry, command, capsys, "--no-recipes")[1]["registered"] is False
    monkeypatch.setenv("KGC_NO_RECIPES", "1")
    assert check_json(user_registry, command, capsys)[1]["registered"] is False
    monkeypatch.setenv("KGC_NO_RECIPES", "0")
    assert check_json(user_registry, command, capsys)[1]["registered"] is True
    monkeypatch.setenv("KGC_NO_RECIPES", "maybe")
    code, _, err = run(["check", "--registry", str(user_registry), "--model", "m", "--serve-args", "m"], capsys)
    assert code == EXIT_USAGE and "KGC_NO_RECIPES='maybe' is not a boolean" in err


def test_a_missing_layer_file_named_by_the_environment_is_an_input_error(
    user_registry: Path, recipes_layer_on: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KGC_RECIPES_LAYER", "/nonexistent/layer.yaml")
    code, _, err = run(["list", "--registry", str(user_registry)], capsys)
    assert code == EXIT_INPUT and "/nonexistent/layer.yaml: the recipes layer file does not exist" in err


def test_the_layer_is_not_read_twice_when_it_is_the_registry(sample_layer: Path) -> None:
    registry = open_layered(sample_layer, no_recipes=False, environ={"KGC_RECIPES_LAYER": str(sample_layer)})
    assert not isinstance(registry, LayeredRegistry)


# -- list, show, registry validate ----------------------------------------------------------------------


def test_list_marks_where_each_entry_comes_from(
    sample_layer: Path, user_registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["list", "--registry", str(user_registry), "--json"], capsys)
    document = json.loads(out)
    layers_by_model = {row["model"]: row["layers"] for row in document["models"]}
    assert code == EXIT_OK and len(layers_by_model) == 30  # 2 of the user's + 29 of the layer's - 1 merged
    assert layers_by_model[MINISTRAL] == ["registry", "recipes"]
    assert layers_by_model["Org/Only-Mine"] == ["registry"]
    assert layers_by_model["openai/gpt-oss-120b"] == ["recipes"]
    code, out, _ = run(["list", "--registry", str(user_registry)], capsys)
    assert out.splitlines()[1] == f"  under it, the recipes layer: {sample_layer} (vllm-project/recipes@8959cf64189c)"
    assert any(line.startswith(MINISTRAL) and line.endswith("[registry + recipes]") for line in out.splitlines())
    code, out, _ = run(["list", "--registry", str(user_registry), "--no-recipes"], capsys)
    assert "[" not in out and len(out.splitlines()) == 3


def test_show_prints_the_command_to_paste_for_the_hardware(
    sample_layer: Path, user_registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["show", "deepseek-ai/DeepSeek-V3", "--registry", str(user_registry), "--hardware", "H200"], capsys
    )
    assert code == EXIT_OK
    assert "deepseek-ai/DeepSeek-V3  (engine vllm; from recipes)" in out
    assert "  verified hardware (shown, never required): h200, b200, gb200, mi300x, mi325x, mi355x" in out
    assert "  minimum vLLM: 0.12.0 (the engine version is not given: not checked)" in out
    assert "    reasoning (on by default in the recipe): --reasoning-parser deepseek_v3" in out
    lines = out.splitlines()
    paste = lines[lines.index("  command to paste here (the required flags and environment that apply here):") + 1]
    assert paste == (
        "  VLLM_USE_FLASHINFER_MOE_FP8=1 vllm serve deepseek-ai/DeepSeek-V3 "
        "--trust-remote-code --enable-expert-parallel"
    )
    code, out, _ = run(
        ["show", "deepseek-ai/DeepSeek-V3", "--registry", str(user_registry), "--hardware", "b200"], capsys
    )
    assert "VLLM_USE_FLASHINFER_MOE_FP4=1 vllm serve" in out and "FP8=1" not in out.split("command to paste")[1]
    code, out, _ = run(
        ["show", "deepseek-ai/DeepSeek-V3", "--registry", str(user_registry), "--hardware", "mi355x", "--json"], capsys
    )
    document = json.loads(out)
    (entry,) = document["entries"]
    assert entry["layers"] == ["recipes"] and entry["minimum_engine_version"] == "0.12.0"
    assert entry["command"] == (
        "VLLM_ROCM_USE_AITER=1 VLLM_ROCM_USE_AITER_MOE=1 SAFETENSORS_FAST_GPU=1 vllm serve deepseek-ai/DeepSeek-V3 "
        "--trust-remote-code --enable-expert-parallel"
    )
    assert {o["name"] for o in entry["options"]} == {"tool_calling", "reasoning"}
    assert document["hardware"] == "8x AMD Instinct MI355X (recipes hardware id mi355x)"


def test_show_of_a_merged_entry_says_which_layer_each_flag_is_from(
    sample_layer: Path, user_registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["show", "my-ministral", "--registry", str(user_registry), "--hardware", "H200"], capsys)
    assert code == EXIT_OK and f"{MINISTRAL}  (engine vllm; from registry + recipes)" in out
    assert f"        from: registry {user_registry}" in out and f"        from: recipes layer {sample_layer}" in out
    assert "--max-num-seqs 64 --tokenizer-mode mistral --config-format mistral" in out.split("command to paste")[1]


def test_registry_validate_validates_both(
    tmp_path: Path, sample_layer: Path, user_registry: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code, out, _ = run(["registry", "validate", str(user_registry)], capsys)
    assert code == EXIT_OK and out.splitlines() == [
        f"valid: {user_registry} (given) (2 models)",
        f"valid: recipes layer {sample_layer} ($KGC_RECIPES_LAYER) (29 models)",
    ]
    broken = tmp_path / "broken-layer.yaml"
    broken.write_text(SAMPLE_LAYER.read_text().replace('severity: "perf"', 'severity: "meh"', 1))
    monkeypatch.setenv("KGC_RECIPES_LAYER", str(broken))
    code, out, _ = run(["registry", "validate", str(user_registry), "--json"], capsys)
    document = json.loads(out)
    assert code == EXIT_INPUT and document["valid"] is False and document["problems"] == []
    (layer,) = document["layers"]
    assert layer["path"] == str(broken) and layer["problems"][0]["message"].startswith("unknown severity 'meh'")
    code, _, err = run(["check", "--registry", str(user_registry), "--model", "m", "--serve-args", "m"], capsys)
    assert code == EXIT_INPUT and str(broken) in err and "Traceback" not in err


def test_gate_closure_counts_the_users_registry_only(
    sample_layer: Path, user_registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["gate", "closure", "--registry", str(user_registry), "--model", "openai/gpt-oss-120b"], capsys)
    assert code == EXIT_VERDICT_NO and "CONFIG half" in out


# -- speed ------------------------------------------------------------------------------------------------


def test_the_layer_is_read_through_the_index_cache(
    sample_layer: Path, user_registry: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environ = {"KGC_RECIPES_LAYER": str(sample_layer)}
    cache = tmp_path / "cache"
    open_layered(user_registry, no_recipes=False, environ=environ, cache_dir=cache)
    assert len(list(cache.glob("*.index"))) == 2  # the registry's and the layer's

    def no_parsing(*_: object) -> None:
        raise AssertionError("a warm load parsed YAML")

    monkeypatch.setattr("kgc_launch.knowngood.load.load_text", no_parsing)
    registry = open_layered(user_registry, no_recipes=False, environ=environ, cache_dir=cache)
    assert registry.find([MINISTRAL], "vllm") is not None
    assert layers.RECIPES_LAYER == "recipes"
