"""The recipes importer: one test (at least) per recipe field it maps, and what it refuses to read."""

from __future__ import annotations

import json
import shlex
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kgc_launch import cli
from kgc_launch.errors import EXIT_INPUT, EXIT_OK, InputError
from kgc_launch.knowngood.check import CheckReport, check_launch
from kgc_launch.knowngood.load import load_text
from kgc_launch.knowngood.recipes.importer import import_recipes
from kgc_launch.knowngood.registry import Registry
from kgc_launch.vllm.args import parse_serve_args

COMMIT = "0123456789abcdef0123456789abcdef01234567"
H200 = ("NVIDIA H200", "9.0")
B200 = ("NVIDIA B200", "10.0")
GB10 = ("NVIDIA GB10", "12.1")
L40S = ("NVIDIA L40S", "8.9")
MI300X = ("AMD Instinct MI300X", None)

BASE = """\
meta:
  title: Org Model
  slug: org-model
  tasks: [text]
  hardware: {h200: verified}
model:
  model_id: Org/Model
  min_vllm_version: "0.11.0"
  architecture: dense
  parameter_count: 8B
  base_args: []
  base_env: {}
variants:
  default:
    precision: bf16
    vram_minimum_gb: 20
"""


def recipe(tmp_path: Path, text: str, name: str = "Org/Model") -> Path:
    """A checkout with one recipe at models/<name>.yaml; returns the checkout."""
    path = tmp_path / "recipes" / "models" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path / "recipes"


def with_fields(**fields: str) -> str:
    """BASE with top-level sections replaced or added (each given as YAML text)."""
    text = BASE
    for key, value in fields.items():
        text = _replace_section(text, key, value)
    return text


def _replace_section(text: str, key: str, value: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith(f"{key}:"):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or not line):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out) + "\n" + textwrap.dedent(value).rstrip() + "\n"


def imported(tmp_path: Path, text: str, commit: str | None = COMMIT) -> tuple[Registry, dict[str, Any]]:
    result = import_recipes(recipe(tmp_path, text), commit=commit)
    layer = tmp_path / "layer.yaml"
    layer.write_text(result.text, encoding="utf-8")
    return load_text(layer, result.text), result.summary()


def check(
    registry: Registry,
    command: str,
    *,
    version: str | None = "0.30.0",
    gpus: list[tuple[str, str | None]] | None = None,
    memory: int | None = None,
    env: dict[str, str] | None = None,
) -> CheckReport:
    args = parse_serve_args(shlex.split(command))
    return check_launch(
        registry,
        model_ids=[args.model or ""],
        serve_args=args,
        env=env or {},
        engine="vllm",
        engine_version=version,
        gpus=[H200] if gpus is None else gpus,
        require_registered=True,
        gpu_memory_bytes=memory,
    )


def entry(registry: Registry, model: str = "Org/Model") -> Any:
    found = registry.find([model], "vllm")
    assert found is not None
    return found.entry


def flags(registry: Registry, model: str = "Org/Model") -> dict[str, Any]:
    return {r.text: r for r in entry(registry, model).required_flags}


# -- min_vllm_version ------------------------------------------------------------------------------------


def test_min_vllm_version_is_a_boot_blocker_scoped_below_it(tmp_path: Path) -> None:
    registry, _ = imported(tmp_path, BASE)
    (refusal,) = [r for r in entry(registry).required_flags if r.refuse is not None]
    assert refusal.severity == "boot-blocker" and refusal.applies_when.engine_version == "<0.11.0"
    assert "does not know this model's architecture" in refusal.refuse
    old = check(registry, "Org/Model", version="0.10.2")
    assert old.verdict == "fail" and old.missing_required[0].kind == "refuse"
    assert old.missing_required[0].evidence == f"vllm-project/recipes models/Org/Model.yaml@{COMMIT}"
    assert old.missing_required[0].fix.startswith("install vLLM >= 0.11.0")
    assert check(registry, "Org/Model", version="0.11.0").verdict == "pass"
    assert check(registry, "Org/Model", version="0.11.0rc1").verdict == "pass"  # PEP 440: `<0.11.0` excludes its rcs


def test_an_unknown_engine_version_makes_the_minimum_a_warning_not_a_refusal(tmp_path: Path) -> None:
    registry, _ = imported(tmp_path, BASE)
    report = check(registry, "Org/Model", version=None)
    assert report.verdict == "pass"
    (item,) = [f for f in report.not_evaluated if f.kind == "refuse"]
    assert item.not_evaluated is not None and "version is unknown" in item.not_evaluated


def test_a_nightly_minimum_is_a_warning_that_names_why(tmp_path: Path) -> None:
    registry, _ = imported(tmp_path, BASE.replace('"0.11.0"', "nightly"))
    report = check(registry, "Org/Model", version="0.30.0")
    assert report.verdict == "pass"
    assert [w.kind for w in report.warnings] == ["refuse"] and "nightly" in report.warnings[0].flag


def test_a_variant_minimum_raises_the_recipe_minimum_for_its_entry(tmp_path: Path) -> None:
    text = BASE + "  fp8:\n    model_id: Org/Model-FP8\n    precision: fp8\n    min_vllm_version: '0.25.0'\n"
    registry, _ = imported(tmp_path, text)
    assert check(registry, "Org/Model-FP8", version="0.24.0").verdict == "fail"
    assert check(registry, "Org/Model", version="0.24.0").verdict == "pass"


def test_a_minimum_that_is_not_a_version_is_skipped_and_named(tmp_path: Path) -> None:
    registry, summary = imported(tmp_path, BASE.replace('"0.11.0"', '"soon"'))
    assert not [r for r in entry(registry).required_flags if r.refuse]
    assert summary["skipped"] == ["models/Org/Model.yaml: model.min_vllm_version: 'soon' is not a version"]


# -- base_args / base_env / variants ----------------------------------------------------------------------


def test_flags_without_which_the_model_cannot_load_are_boot_blockers_the_rest_perf(tmp_path: Path) -> None:
    text = BASE.replace(
        "base_args: []",
        "base_args: [--tokenizer_mode, mistral, --config-format, mistral, --load_format, mistral, "
        "--trust-remote-code, --max-model-len, '32768', --enforce-eager]",
    )
    registry, _ = imported(tmp_path, text)
    severities = {text: r.severity for text, r in flags(registry).items() if r.flag}
    assert severities == {
        "--tokenizer_mode mistral": "boot-blocker",
        "--config-format mistral": "boot-blocker",
        "--load_format mistral": "boot-blocker",
        "--trust-remote-code": "boot-blocker",
        "--max-model-len 32768": "perf",
        "--enforce-eager": "perf",
    }
    report = check(registry, "Org/Model --tokenizer-mode mistral --trust-remote-code")
    assert report.verdict == "fail" and {m.flag for m in report.missing_required} == {
        "--config-format mistral",
        "--load_format mistral",
    }
    assert {w.flag for w in report.warnings} == {"--max-model-len 32768", "--enforce-eager"}
    assert all(m.evidence == f"vllm-project/recipes models/Org/Model.yaml@{COMMIT}" for m in report.missing_required)


def test_a_flag_whose_value_decides_its_severity(tmp_path: Path) -> None:
    text = BASE.replace("base_args: []", "base_args: [--load-format, fastsafetensors]")
    registry, _ = imported(tmp_path, text)
    assert flags(registry)["--load-format fastsafetensors"].severity == "perf"


def test_base_env_is_a_perf_requirement_of_the_model(tmp_path: Path) -> None:
    registry, _ = imported(tmp_path, BASE.replace("base_env: {}", "base_env: {VLLM_USE_DEEP_GEMM: 1}"))
    requirement = flags(registry)["VLLM_USE_DEEP_GEMM=1"]
    assert requirement.env == "VLLM_USE_DEEP_GEMM=1" and requirement.severity == "perf"
    assert check(registry, "Org/Model", env={"VLLM_USE_DEEP_GEMM": "1"}).warnings == []


def test_flags_the_strategy_or_the_deployment_owns_are_not_imported(tmp_path: Path) -> None:
    text = BASE.replace(
        "base_args: []",
        "base_args: [--tensor-parallel-size, 8, --host, 0.0.0.0, --port, 8000, --served-model-name, m, -q, fp8]",
    )
    registry, summary = imported(tmp_path, text)
    assert [r.text for r in entry(registry).required_flags if r.flag] == ["-q fp8"]
    assert summary["flags_not_imported"] == {"tensor-parallel-size": 1, "host": 1, "port": 1, "served-model-name": 1}


def test_odd_spellings_are_read_as_vllm_reads_them(tmp_path: Path) -> None:
    text = BASE.replace(
        "base_args: []",
        "base_args: ['--max-model-len auto', -cc.pass_config.fuse_rope_kvcache=True, --no-enable-prefix-caching]",
    )
    registry, _ = imported(tmp_path, text)
    texts = [r.text for r in entry(registry).required_flags if r.flag]
    assert texts == [
        "--max-model-len auto",
        "--compilation-config.pass_config.fuse_rope_kvcache=True",
        "--no-enable-prefix-caching",
    ]
    report = check(registry, 'Org/Model --max-model-len auto -cc \'{"pass_config": {"fuse_rope_kvcache": true}}\'')
    assert [w.flag for w in report.warnings] == ["--no-enable-prefix-caching"]


def test_placeholders_are_not_requirements(tmp_path: Path) -> None:
    text = BASE.replace("base_env: {}", "base_env: {GLOO_SOCKET_IFNAME: $IFACE_NAME, NCCL_DEBUG: INFO}")
    registry, summary = imported(tmp_path, text)
    assert [r.text for r in entry(registry).required_flags if r.env] == ["NCCL_DEBUG=INFO"]
    assert "a placeholder" in summary["skipped"][0]


def test_a_variant_with_its_own_model_id_is_its_own_entry_with_its_extra_args(tmp_path: Path) -> None:
    text = BASE + (
        "  fp8:\n    model_id: Org/Model-FP8\n    precision: fp8\n    vram_minimum_gb: 10\n"
        "    extra_args: [--kv-cache-dtype, fp8]\n    extra_env: {VLLM_USE_FLASHINFER_MOE_FP8: '1'}\n"
        "  int8:\n    precision: int8\n    vram_minimum_gb: 10\n    extra_args: [--quantization, int8]\n"
    )
    registry, _ = imported(tmp_path, text)
    fp8 = entry(registry, "Org/Model-FP8")
    assert [r.text for r in fp8.required_flags if not r.refuse] == [
        "--kv-cache-dtype fp8",
        "VLLM_USE_FLASHINFER_MOE_FP8=1",
    ]
    assert fp8.vram_minimum_gb == 10 and fp8.slug == "org-model-fp8"
    default = entry(registry)
    assert not [r for r in default.required_flags if r.flag]  # int8 shares the id: an option, not a requirement
    assert [(o.name, o.flag) for o in default.options] == [("variant int8", "--quantization int8")]


def test_a_default_variant_serving_another_id_keeps_the_recipe_id_as_an_alias(tmp_path: Path) -> None:
    text = BASE.replace("    precision: bf16", "    model_id: Org/Model-0731\n    precision: bf16")
    registry, _ = imported(tmp_path, text)
    found = registry.find(["Org/Model"], "vllm")
    assert found is not None and found.entry.model == "Org/Model-0731" and found.by_alias


# -- hardware_overrides -----------------------------------------------------------------------------------


OVERRIDES = """\
hardware_overrides:
  hopper: {extra_args: [--max-num-seqs, '256'], extra_env: {VLLM_USE_DEEP_GEMM: '1'}}
  blackwell: {extra_args: [--max-num-seqs, '512']}
  amd: {extra_env: {VLLM_ROCM_USE_AITER: '1'}}
"""


def test_generation_overrides_are_scoped_by_compute_capability_and_vendor(tmp_path: Path) -> None:
    registry, _ = imported(tmp_path, with_fields(hardware_overrides=OVERRIDES))
    by_text = flags(registry)
    assert by_text["--max-num-seqs 256"].applies_when.compute_capability == ">=9.0,<10"
    assert by_text["--max-num-seqs 512"].applies_when.compute_capability == ">=10.0,<13"
    assert by_text["VLLM_ROCM_USE_AITER=1"].applies_when.gpus == ["AMD *", "*Instinct*", "*Radeon*"]
    hopper = check(registry, "Org/Model", gpus=[H200])
    assert {w.flag for w in hopper.warnings} == {"--max-num-seqs 256", "VLLM_USE_DEEP_GEMM=1"}
    blackwell = check(registry, "Org/Model --max-num-seqs 512", gpus=[B200, B200])
    assert blackwell.warnings == []
    assert sorted(n["flag"] for n in blackwell.not_applicable if not n["flag"].startswith("vLLM older")) == [
        "--max-num-seqs 256",
        "VLLM_ROCM_USE_AITER=1",
        "VLLM_USE_DEEP_GEMM=1",
    ]
    rtx = check(registry, "Org/Model", gpus=[GB10])  # 12.x is Blackwell too
    assert [w.flag for w in rtx.warnings] == ["--max-num-seqs 512"]
    amd = check(registry, "Org/Model", gpus=[MI300X])
    assert [w.flag for w in amd.warnings] == ["VLLM_ROCM_USE_AITER=1"]


def test_the_nvidia_block_applies_where_no_generation_block_does(tmp_path: Path) -> None:
    overrides = (
        "hardware_overrides:\n  hopper: {extra_args: [--block-size, '64']}\n"
        "  nvidia: {extra_args: [--block-size, '32']}\n"
    )
    registry, _ = imported(tmp_path, with_fields(hardware_overrides=overrides))
    assert [w.flag for w in check(registry, "Org/Model", gpus=[H200]).warnings] == ["--block-size 64"]
    assert [w.flag for w in check(registry, "Org/Model", gpus=[B200]).warnings] == ["--block-size 32"]
    assert [w.flag for w in check(registry, "Org/Model", gpus=[L40S]).warnings] == ["--block-size 32"]
    assert check(registry, "Org/Model", gpus=[MI300X]).warnings == []


def test_a_base_flag_a_vendor_override_replaces_is_scoped_away_from_that_vendor(tmp_path: Path) -> None:
    text = with_fields(hardware_overrides="hardware_overrides:\n  amd: {extra_args: [--block-size, '64']}\n")
    registry, _ = imported(tmp_path, text.replace("base_args: []", "base_args: [--block-size, '128']"))
    assert flags(registry)["--block-size 128"].applies_when.not_gpus == ["AMD *", "*Instinct*", "*Radeon*"]
    assert [w.flag for w in check(registry, "Org/Model", gpus=[MI300X]).warnings] == ["--block-size 64"]
    assert [w.flag for w in check(registry, "Org/Model", gpus=[H200]).warnings] == ["--block-size 128"]


def test_a_variant_exact_gpu_override_is_scoped_by_the_gpu_name(tmp_path: Path) -> None:
    text = BASE + "    hardware_overrides:\n      dgx_spark_gb10: {extra_args: [--gpu-memory-utilization, '0.85']}\n"
    registry, _ = imported(tmp_path, text)
    assert flags(registry)["--gpu-memory-utilization 0.85"].applies_when.gpus == ["*GB10"]
    assert [w.flag for w in check(registry, "Org/Model", gpus=[GB10]).warnings] == ["--gpu-memory-utilization 0.85"]
    assert check(registry, "Org/Model", gpus=[B200]).warnings == []


def test_a_boot_blocker_under_an_unknown_gpu_applies_fail_closed(tmp_path: Path) -> None:
    text = BASE + "    hardware_overrides:\n      mi355x: {extra_args: [--trust-remote-code]}\n"
    registry, _ = imported(tmp_path, text)
    assert check(registry, "Org/Model", gpus=[H200]).verdict == "pass"
    unknown = check(registry, "Org/Model", gpus=[])
    assert unknown.verdict == "fail" and "no GPU information" in str(unknown.missing_required[0].applied_because)


# -- meta.hardware, supported_hardware, vram_minimum_gb ------------------------------------------------------


def test_unsupported_hardware_is_a_refusal_citing_the_recipe_and_verified_is_only_shown(tmp_path: Path) -> None:
    text = BASE.replace("hardware: {h200: verified}", "hardware: {h200: verified, b200: unsupported, gb200: verified}")
    registry, _ = imported(tmp_path, text)
    assert entry(registry).verified_hardware == ["h200", "gb200"]
    refused = check(registry, "Org/Model", gpus=[B200] * 8)
    assert refused.verdict == "fail" and refused.missing_required[0].kind == "refuse"
    assert "marks B200 unsupported" in refused.missing_required[0].flag
    assert refused.missing_required[0].evidence == f"vllm-project/recipes models/Org/Model.yaml@{COMMIT}"
    assert check(registry, "Org/Model", gpus=[("NVIDIA GB200", "10.0")]).verdict == "pass"
    assert check(registry, "Org/Model", gpus=[("NVIDIA L4", "8.9")]).verdict == "pass"  # not verified: still fine
    unknown = check(registry, "Org/Model", gpus=[])
    assert unknown.verdict == "pass" and "no GPU information" in str(unknown.not_evaluated[0].not_evaluated)


def test_unsupported_is_not_refused_where_a_supported_profile_has_the_same_gpu_name(tmp_path: Path) -> None:
    text = BASE.replace("hardware: {h200: verified}", "hardware: {gb300: unsupported, dgx_station_gb300: verified}")
    registry, summary = imported(tmp_path, text)
    assert not [r for r in entry(registry).required_flags if r.refuse and "unsupported" in r.refuse]
    assert "has the same GPU name: not refused" in summary["skipped"][0]


def test_a_variant_hardware_allowlist_is_a_warning_elsewhere(tmp_path: Path) -> None:
    registry, _ = imported(tmp_path, BASE + "    supported_hardware: [mi355x]\n")
    warned = check(registry, "Org/Model", gpus=[H200])
    assert warned.verdict == "pass" and "only on MI355X" in warned.warnings[0].flag
    assert check(registry, "Org/Model", gpus=[("AMD Instinct MI355X", None)]).warnings == []


def test_vram_minimum_is_compared_with_the_gpus_total_memory(tmp_path: Path) -> None:
    registry, _ = imported(tmp_path, BASE)
    small = check(registry, "Org/Model", gpus=[L40S], memory=16 * 10**9)
    assert small.verdict == "pass" and [w.kind for w in small.warnings] == ["memory"]
    assert small.warnings[0].conflicts == ("16 GB on 1 GPU",)
    enough = check(registry, "Org/Model", gpus=[L40S, L40S], memory=48 * 10**9)
    assert enough.warnings == [] and any(s["flag"] == "GPU memory >= 20 GB in all" for s in enough.satisfied)
    unknown = check(registry, "Org/Model", gpus=[L40S], memory=None)
    assert [f.kind for f in unknown.not_evaluated] == ["memory"]


# -- features ------------------------------------------------------------------------------------------


FEATURES = """\
features:
  tool_calling: {description: Tools, args: [--enable-auto-tool-choice, --tool-call-parser, hermes]}
  spec_decoding:
    description: Speculative decoding
    modes:
      mtp: {args: [--speculative-config, '{"method":"mtp","num_speculative_tokens":1}']}
      eagle: {args: [--speculative-config, '{"method":"eagle3"}'], variants: [fp8]}
  reasoning:
    args: [--reasoning-parser, qwen3]
    hardware_overrides: {blackwell: {args: [--reasoning-parser, qwen3_fast]}}
opt_in_features: [spec_decoding]
"""


def test_features_are_options_never_requirements(tmp_path: Path) -> None:
    registry, _ = imported(tmp_path, with_fields(features=FEATURES))
    model = entry(registry)
    assert not [r for r in model.required_flags if r.flag]
    options = [(o.name, o.flag, o.default_on) for o in model.options]
    assert ("tool_calling", "--enable-auto-tool-choice --tool-call-parser hermes", True) in options
    assert (
        "spec_decoding: mtp",
        """--speculative-config '{"method":"mtp","num_speculative_tokens":1}'""",
        False,
    ) in options
    assert not [o for o in options if o[0] == "spec_decoding: eagle"]  # only for the fp8 variant
    reasoning = {o.flag: o.applies_when for o in model.options if o.name == "reasoning"}
    assert reasoning["--reasoning-parser qwen3_fast"].compute_capability == ">=10.0,<13"
    assert check(registry, "Org/Model").warnings == []


# -- the recipe's own guide -----------------------------------------------------------------------------


def test_a_boot_blocker_the_recipes_own_guide_omits_is_imported_as_perf(tmp_path: Path) -> None:
    guide = "guide: |\n  ## Launch\n  ```bash\n  vllm serve Org/Model \\\n    --max-model-len 8192\n  ```\n"
    text = with_fields(guide=guide).replace("base_args: []", "base_args: [--trust-remote-code]")
    registry, summary = imported(tmp_path, text)
    requirement = flags(registry)["--trust-remote-code"]
    assert requirement.severity == "perf" and "own guide serves Org/Model without it" in str(requirement.why)
    assert summary["boot_blockers_downgraded_by_guides"] == ["models/Org/Model.yaml: Org/Model: --trust-remote-code"]


def test_a_boot_blocker_the_guide_also_uses_stays_one(tmp_path: Path) -> None:
    guide = "guide: |\n  ```\n  vllm serve Org/Model --trust-remote-code\n  ```\n"
    text = with_fields(guide=guide).replace("base_args: []", "base_args: [--trust-remote-code]")
    registry, _ = imported(tmp_path, text)
    assert flags(registry)["--trust-remote-code"].severity == "boot-blocker"


# -- vllm-omni, evidence, layer header ------------------------------------------------------------------


def test_a_vllm_omni_recipe_requires_omni(tmp_path: Path) -> None:
    registry, _ = imported(tmp_path, BASE.replace("tasks: [text]", "tasks: [omni]"))
    assert flags(registry)["--omni"].severity == "boot-blocker"


def test_every_requirement_cites_its_recipe_and_the_layer_records_the_commit(tmp_path: Path) -> None:
    text = with_fields(hardware_overrides=OVERRIDES).replace("base_args: []", "base_args: [--trust-remote-code]")
    result = import_recipes(recipe(tmp_path, text), commit=COMMIT)
    assert f'commit: "{COMMIT}"' in result.text and "GENERATED" in result.text.splitlines()[2]
    registry = load_text(tmp_path / "l.yaml", result.text)
    model = entry(registry)
    assert model.source == f"vllm-project/recipes models/Org/Model.yaml@{COMMIT}"
    assert all(r.evidence == model.source for r in model.required_flags)


def test_without_a_commit_the_evidence_names_the_path_only(tmp_path: Path) -> None:
    registry, summary = imported(tmp_path, BASE, commit=None)
    assert summary["commit"] is None
    assert entry(registry).required_flags[0].evidence == "vllm-project/recipes models/Org/Model.yaml"


def test_the_commit_is_read_from_the_checkouts_git(tmp_path: Path) -> None:
    checkout = recipe(tmp_path, BASE)
    (checkout / ".git" / "refs" / "heads").mkdir(parents=True)
    (checkout / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (checkout / ".git" / "refs" / "heads" / "main").write_text(COMMIT + "\n")
    assert import_recipes(checkout).commit == COMMIT
    (checkout / ".git" / "refs" / "heads" / "main").unlink()
    (checkout / ".git" / "packed-refs").write_text(f"# pack-refs\n{COMMIT} refs/heads/main\n")
    assert import_recipes(checkout).commit == COMMIT


def test_a_flag_not_in_the_severity_table_imports_as_perf_and_is_listed(tmp_path: Path) -> None:
    registry, summary = imported(tmp_path, BASE.replace("base_args: []", "base_args: [--brand-new-flag, x]"))
    assert flags(registry)["--brand-new-flag x"].severity == "perf"
    assert summary["flags_not_in_severity_table"] == {"brand-new-flag": ["models/Org/Model.yaml"]}


# -- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a list\n", "models/Org/Model.yaml: a recipe must be a mapping"),
        (
            "meta: {}\nmodel: {architecture: dense}\n",
            "models/Org/Model.yaml: model.model_id: must be a Hugging Face id",
        ),
        ("model: [1]\n", "models/Org/Model.yaml: model: `model:` must be a mapping"),
        ("model: {model_id: Org/Model}\nvariants: [1]\n", "models/Org/Model.yaml: variants: must be a mapping"),
        ("model: {model_id: Org/Model\n", "models/Org/Model.yaml:2: invalid YAML"),
    ],
)
def test_a_bad_recipe_file_is_an_error_naming_the_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    checkout = recipe(tmp_path, text)
    with pytest.raises(InputError):
        import_recipes(checkout)
    assert cli.main(["registry", "import-recipes", str(checkout), "-o", str(tmp_path / "out.yaml")]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "out.yaml").exists()


def test_a_path_without_recipes_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["registry", "import-recipes", str(tmp_path)]) == EXIT_INPUT
    assert "no recipes here" in capsys.readouterr().err
    assert cli.main(["registry", "import-recipes", str(tmp_path / "nope")]) == EXIT_INPUT
    assert "no such recipes checkout" in capsys.readouterr().err


def test_the_command_writes_the_layer_and_reports_coverage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkout = recipe(tmp_path, BASE)
    out = tmp_path / "layer.yaml"
    code = cli.main(["registry", "import-recipes", str(checkout), "--commit", COMMIT, "-o", str(out), "--json"])
    assert code == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["entries"] == 1 and summary["text_recipes_covered"] == 1 and summary["commit"] == COMMIT
    assert cli.main(["registry", "validate", str(out), "--no-recipes"]) == EXIT_OK
    capsys.readouterr()
    assert cli.main(["registry", "import-recipes", str(checkout)]) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out.startswith("# yaml-language-server") and "imported 1 recipes" in captured.err


def test_a_flag_split_over_several_scopes_is_reported_once(tmp_path: Path) -> None:
    overrides = "hardware_overrides:\n  hopper: {extra_args: [--block-size, '64']}\n"
    text = with_fields(hardware_overrides=overrides).replace("base_args: []", "base_args: [--block-size, '128']")
    registry, _ = imported(tmp_path, text)
    assert [r.text for r in entry(registry).required_flags].count("--block-size 128") == 3
    report = check(registry, "Org/Model", gpus=[])  # nothing known: every scope applies, fail-closed
    assert [w.flag for w in report.warnings] == ["--block-size 64", "--block-size 128"]
    hopper = check(registry, "Org/Model --block-size 64", gpus=[H200])
    assert hopper.warnings == [] and [n["flag"] for n in hopper.not_applicable][1:] == ["--block-size 128"] * 3
