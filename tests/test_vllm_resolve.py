from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgc_launch.findings import Finding
from kgc_launch.hardware.inventory import Device, Inventory, MigSlice
from kgc_launch.hardware.select import hardware_from_spec
from kgc_launch.model.facts import ModelFacts
from kgc_launch.records import AutoConfigSource
from kgc_launch.vllm.args import config_file_tokens, parse_serve_args
from kgc_launch.vllm.resolve import VllmResolution, resolve_vllm
from testing.model_facts import (
    GIB,
    awq_model,
    fp8_model,
    llama_8b,
    llama_70b,
    model_facts,
    no_inventory,
    probed_inventory,
    tiny_head16_model,
    unknown_model,
    with_free_memory,
)

NEW = "0.11.0"


def resolve(
    tokens: list[str],
    hardware: str | Inventory = "H100",
    model: ModelFacts | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    version: str | None = NEW,
    platform: str = "cuda",
) -> VllmResolution:
    inventory = hardware_from_spec(hardware) if isinstance(hardware, str) else hardware
    return resolve_vllm(
        parse_serve_args(["meta-llama/Llama-3.1-8B-Instruct", *tokens]),
        inventory,
        model or llama_8b(),
        environ=environ or {},
        engine_version=version,
        platform=platform,
    )


def problem(resolution: VllmResolution, rule_id: str) -> Finding:
    found = [p for p in resolution.problems if p.rule_id == rule_id]
    assert found, f"{rule_id} not in {[p.rule_id for p in resolution.problems]}"
    return found[0]


def rule_ids(resolution: VllmResolution, severity: str) -> set[str]:
    return {p.rule_id for p in resolution.problems if p.severity == severity}


# -- dtype -----------------------------------------------------------------------------------------


def test_explicit_bf16_on_t4_is_refused_with_the_fix() -> None:
    found = problem(resolve(["--dtype", "bfloat16"], "T4"), "dtype-bf16-explicit-pre-ampere")
    assert found.severity == "refuse"
    assert found.message == "--dtype bfloat16 needs compute capability >= 8.0; Tesla T4 has 7.5"
    assert found.fix == "--dtype half"
    assert found.vllm_says is not None and "Bfloat16 is only supported" in found.vllm_says


@pytest.mark.parametrize("hardware", ["L4", "A100", "H100", "B200", "RTX5090", "A100-80GB-1g.10gb"])
def test_explicit_bf16_is_fine_from_ampere_on(hardware: str) -> None:
    resolution = resolve(["--dtype", "bfloat16"], hardware)
    assert "dtype-bf16-explicit-pre-ampere" not in rule_ids(resolution, "refuse")
    decision = resolution.decision("dtype")
    assert decision is not None and decision.selected == "bfloat16" and decision.source is AutoConfigSource.CLI


@pytest.mark.parametrize(
    ("version", "severity"),
    [("0.11.0", "warn"), ("0.8.4", "refuse"), (None, "warn"), ("0.8.5", "warn")],
)
def test_auto_dtype_with_bf16_checkpoint_on_t4(version: str | None, severity: str) -> None:
    resolution = resolve([], "T4", version=version)
    assert problem(resolution, "dtype-bf16-auto-pre-ampere").severity == severity
    decision = resolution.decision("dtype")
    assert decision is not None
    assert decision.selected == "float16"
    assert decision.source is AutoConfigSource.HARDWARE_CAPABILITY
    assert [r.value for r in decision.rejected] == ["bfloat16"]


def test_auto_dtype_follows_the_checkpoint() -> None:
    decision = resolve([], "A100").decision("dtype")
    assert decision is not None
    assert (decision.selected, decision.source, decision.source_key) == (
        "bfloat16",
        AutoConfigSource.MODEL_METADATA,
        "config.json torch_dtype",
    )


def test_unknown_dtype_value_is_refused() -> None:
    assert problem(resolve(["--dtype", "fp12"]), "dtype-unknown-value").severity == "refuse"


def test_dtype_from_config_file_is_sourced_as_config_file() -> None:
    args = parse_serve_args(
        ["m", "--config", "serve.yaml", "-tp", "2"],
        read_config=lambda path: config_file_tokens({"dtype": "float16", "tensor-parallel-size": 4}, path=path),
    )
    resolution = resolve_vllm(args, hardware_from_spec("8xH100"), llama_8b(), environ={}, engine_version=NEW)
    dtype = resolution.decision("dtype")
    tp = resolution.decision("tensor_parallel_size")
    pp = resolution.decision("pipeline_parallel_size")
    assert dtype is not None and (dtype.selected, dtype.source) == ("float16", AutoConfigSource.CONFIG_FILE)
    assert tp is not None and (tp.selected, tp.source) == ("2", AutoConfigSource.CLI)
    assert pp is not None and pp.source is AutoConfigSource.DEFAULT


# -- quantization ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hardware", "version", "refused", "warned"),
    [
        ("H100", NEW, set(), set()),
        ("L4", NEW, set(), set()),
        ("A100", NEW, set(), {"fp8-weights-without-native-fp8"}),
        ("T4", NEW, {"quantization-min-capability-fp8"}, set()),
        ("T4", "0.14.0", set(), {"fp8-weights-without-native-fp8"}),
        ("V100", None, {"quantization-min-capability-fp8"}, set()),
    ],
)
def test_fp8_model_against_the_gpu(hardware: str, version: str | None, refused: set[str], warned: set[str]) -> None:
    # 8192 tokens fit each GPU here: the model's full 131072 would not fit an L4 or a T4 (a refusal of its own)
    resolution = resolve(["--max-model-len", "8192"], hardware, fp8_model(), version=version)
    assert rule_ids(resolution, "refuse") == refused
    assert warned <= rule_ids(resolution, "warn")
    if not warned:
        assert "fp8-weights-without-native-fp8" not in rule_ids(resolution, "warn")


def test_fp8_refusal_names_the_version_range() -> None:
    found = problem(resolve([], "T4", fp8_model()), "quantization-min-capability-fp8")
    assert found.message == "quantization fp8 needs compute capability >= 8.0 in vLLM >=0.5.2,<0.13.0; Tesla T4 has 7.5"


@pytest.mark.parametrize(
    ("hardware", "selected", "rejected"),
    [("A100", "awq_marlin", "awq"), ("T4", "awq", "awq_marlin"), ("H100", "awq_marlin", "awq")],
)
def test_awq_checkpoint_picks_marlin_from_ampere(hardware: str, selected: str, rejected: str) -> None:
    resolution = resolve(["--max-model-len", "8192"], hardware, awq_model())
    decision = resolution.decision("quantization")
    assert decision is not None
    assert decision.selected == selected
    assert [r.value for r in decision.rejected] == [rejected]
    assert not resolution.refused


def test_awq_on_v100_is_refused() -> None:
    found = problem(resolve([], "V100", awq_model()), "quantization-min-capability-awq")
    assert found.severity == "refuse"
    assert "Tesla V100-SXM2-32GB has 7.0" in found.message


def test_explicit_awq_marlin_on_t4_is_refused_with_awq_as_the_fix() -> None:
    found = problem(
        resolve(["--quantization", "awq_marlin"], "T4", awq_model()), "quantization-min-capability-awq-marlin"
    )
    assert (found.severity, found.fix) == ("refuse", "--quantization awq")


@pytest.mark.parametrize(
    ("method", "source", "json_files", "refused"),
    [
        ("awq", "hf_cache", ("config.json", "generation_config.json"), True),  # vLLM: "Cannot find the config file"
        ("gptq", "directory", ("config.json",), True),
        ("gptq", "directory", ("config.json", "quantize_config.json"), False),  # an older GPTQ layout: it loads
        ("awq", "hf_cache", ("config.json", "quant_config.json"), False),
        ("gptq", "directory", ("config.json", "quant_config.json"), True),  # AWQ's file name is not GPTQ's
        ("awq", "catalog", None, True),  # the catalog's entries declare their method in config.json
        ("awq", "hub", None, False),  # the Hub's file list was not read: not judged (noted)
        ("fp8", "hf_cache", ("config.json",), False),  # quantized while loading: needs no checkpoint file
    ],
)
def test_a_pre_quantized_method_needs_a_checkpoint_of_it(
    method: str, source: str, json_files: tuple[str, ...] | None, refused: bool
) -> None:
    facts = replace(llama_8b(), source=source, json_files=json_files)  # type: ignore[arg-type]
    resolution = resolve(["--quantization", method], "H100", facts)
    found = [p for p in resolution.problems if p.rule_id == "quantization-without-checkpoint-config"]
    assert bool(found) == refused
    if refused:
        assert found[0].severity == "refuse" and "Cannot find the config file for" in str(found[0].vllm_says)
        assert (
            found[0].fix == f"serve a checkpoint of the model quantized with {method}, or drop --quantization {method}"
        )
    if source == "hub":
        assert f"whether the checkpoint holds a {method} config file" in problem(resolution, "facts-unknown").message


def test_quantization_that_contradicts_the_checkpoint_is_refused() -> None:
    found = problem(resolve(["-q", "gptq"], "H100", fp8_model()), "quantization-mismatch")
    assert (found.severity, found.fix) == ("refuse", "--quantization fp8")
    assert not resolve(["-q", "awq_marlin"], "H100", awq_model()).refused


def test_fp8_kv_cache_below_89_warns() -> None:
    found = problem(resolve(["--kv-cache-dtype", "fp8"], "A100"), "fp8-kv-cache-without-native-fp8")
    assert found.severity == "warn"
    assert "fp8-kv-cache-without-native-fp8" not in rule_ids(resolve(["--kv-cache-dtype", "fp8"], "H100"), "warn")


# -- parallelism and devices -----------------------------------------------------------------------


def test_tp_larger_than_the_gpus_is_refused_with_the_count() -> None:
    found = problem(resolve(["-tp", "8"], "2xH100"), "parallel-exceeds-visible-gpus")
    assert found.severity == "refuse"
    assert found.message == "--tensor-parallel-size 8 x --pipeline-parallel-size 1 needs 8 GPUs; 2 visible"
    assert found.fix == "--tensor-parallel-size 2"


def test_tp_times_pp_counts() -> None:
    found = problem(resolve(["-tp", "4", "-pp", "2"], "4xH100"), "parallel-exceeds-visible-gpus")
    assert found.fix == "--tensor-parallel-size 2"
    assert not resolve(["-tp", "4", "-pp", "2"], "8xH100", llama_70b()).refused


def test_ray_backend_skips_the_gpu_count() -> None:
    resolution = resolve(["-tp", "16", "--distributed-executor-backend", "ray"], "8xH100", llama_70b())
    assert "parallel-exceeds-visible-gpus" not in rule_ids(resolution, "refuse")


def test_heads_not_divisible_by_tp_lists_valid_sizes() -> None:
    resolution = resolve(["-tp", "3"], "8xH100")
    found = problem(resolution, "tensor-parallel-divides-heads")
    assert found.message == "32 attention heads do not divide by --tensor-parallel-size 3; valid sizes here: 1, 2, 4, 8"
    assert found.fix == "--tensor-parallel-size 8"
    decision = resolution.decision("tensor_parallel_size")
    assert decision is not None and decision.candidates == ["1", "2", "4", "8", "3"]
    assert decision.rejected[0].value == "3"


def test_70b_on_8xh100_resolves_clean() -> None:
    resolution = resolve(["-tp", "8"], "8xH100-SXM", llama_70b())
    assert not resolution.refused
    seqs = resolution.decision("max_num_seqs")
    assert seqs is not None and (seqs.selected, seqs.source) == ("1024", AutoConfigSource.DEFAULT)


def test_empty_visible_devices_on_cuda_is_refused() -> None:
    gpu = hardware_from_spec("H100").visible[0]
    found = problem(
        resolve([], probed_inventory([gpu], visible=[]), environ={"CUDA_VISIBLE_DEVICES": ""}), "no-visible-gpu"
    )
    assert found.severity == "refuse"
    assert found.fix == "unset CUDA_VISIBLE_DEVICES"


def test_no_gpu_information_never_refuses() -> None:
    resolution = resolve(["-tp", "4", "--dtype", "bfloat16"], no_inventory(), unknown_model(), version=None)
    assert not resolution.refused
    unknown = problem(resolution, "facts-unknown")
    assert "the GPUs" in unknown.message and "the vLLM version" in unknown.message


def test_mig_uuid_in_cuda_visible_devices_is_refused() -> None:
    uuid = "MIG-377e0049-554c-540b-93c6-d0976f8426cb"
    found = problem(
        resolve([], "H100-SXM-2g.20gb", environ={"CUDA_VISIBLE_DEVICES": uuid}), "cuda-visible-devices-uuid"
    )
    assert found.severity == "refuse"
    assert found.fix is not None and found.fix.startswith("CUDA_VISIBLE_DEVICES=0") and uuid in found.fix
    assert "https://github.com/vllm-project/vllm/issues/41848" in found.evidence


def test_gpu_uuid_maps_to_indices() -> None:
    gpus = [replace(hardware_from_spec("H100").visible[0], index=i, uuid=f"GPU-{i}aaa") for i in range(2)]
    resolution = resolve([], probed_inventory(gpus), environ={"CUDA_VISIBLE_DEVICES": "GPU-1aaa"})
    assert problem(resolution, "cuda-visible-devices-uuid").fix == "CUDA_VISIBLE_DEVICES=1 CUDA_DEVICE_ORDER=PCI_BUS_ID"


def test_mig_slice_warns_that_vllm_reads_the_parent() -> None:
    parent = Device(name="NVIDIA H100 80GB HBM3", uuid="GPU-p", memory_total_bytes=80 * GIB)
    slice_ = replace(
        hardware_from_spec("H100-SXM-1g.10gb").visible[0], mig=MigSlice(parent_uuid="GPU-p", profile="1g.10gb")
    )
    resolution = resolve([], probed_inventory([parent, slice_], visible=[slice_]))
    found = problem(resolution, "mig-slice-memory-read-as-parent")
    assert found.severity == "warn"
    assert "(80 GiB)" in found.message
    assert found.fix == "--max-num-seqs 256"
    seqs = resolution.decision("max_num_seqs")
    assert seqs is not None and seqs.selected == "1024"  # what vLLM will pick from the parent's memory
    assert seqs.source_key is not None and "PR #41776" in seqs.source_key


def test_mixed_gpus_get_pci_bus_order() -> None:
    devices = [hardware_from_spec("H100").visible[0], hardware_from_spec("A100").visible[0]]
    resolution = resolve([], probed_inventory(devices))
    assert resolution.env_changes == {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    decision = resolution.decision("cuda_device_order")
    assert decision is not None and decision.source is AutoConfigSource.HARDWARE_CAPABILITY
    assert problem(resolution, "mixed-gpus-device-order").severity == "warn"
    kept = resolve([], probed_inventory(devices), environ={"CUDA_DEVICE_ORDER": "FASTEST_FIRST"})
    assert kept.env_changes == {}


# -- lengths and memory ----------------------------------------------------------------------------


def test_max_model_len_over_the_model_is_refused() -> None:
    found = problem(resolve(["--max-model-len", "200k"]), "max-model-len-over-derived")
    assert found.severity == "refuse"
    assert found.fix == "--max-model-len 131072"
    assert found.vllm_says is not None and "VLLM_ALLOW_LONG_MAX_MODEL_LEN=1" in found.vllm_says


def test_long_max_model_len_allowed_by_env() -> None:
    resolution = resolve(["--max-model-len", "200000"], environ={"VLLM_ALLOW_LONG_MAX_MODEL_LEN": "1"})
    assert not resolution.refused
    decision = resolution.decision("max_model_len")
    assert decision is not None and decision.rejected[0].value == "131072"


def test_memory_plan_that_does_not_fit_gives_the_estimated_length() -> None:
    resolution = resolve([], "L4")  # Llama-3.1-8B's 131072 tokens need 16 GiB of KV cache on a 22 GiB L4
    plan = resolution.memory_plan
    assert plan is not None and not plan.fits and plan.largest_fitting_max_model_len
    found = problem(resolution, "kv-cache-does-not-fit")
    assert found.severity == "refuse"
    assert found.message.endswith(f"the estimated maximum model length is {plan.largest_fitting_max_model_len}")
    assert found.fix == f"--max-model-len {plan.largest_fitting_max_model_len}"


def test_weights_that_do_not_fit() -> None:
    resolution = resolve([], "H100", llama_70b())
    plan = resolution.memory_plan
    assert plan is not None and plan.reason is not None
    found = problem(resolution, "weights-do-not-fit")
    assert found.message == plan.reason and found.message.startswith("No available memory for the cache blocks")


def test_memory_plan_that_fits_is_recorded() -> None:
    resolution = resolve([])
    decision = resolution.decision("kv_cache_capacity_tokens")
    assert decision is not None and decision.source is AutoConfigSource.MEMORY_PROFILE
    assert resolution.memory_plan is not None and decision.selected == str(resolution.memory_plan.kv_capacity_tokens)


@pytest.mark.parametrize(
    ("hardware", "version", "max_model_len", "expected"),
    [
        ("H100", "0.19.0", 8192, ("1024", "8192")),
        ("A100-80GB", "0.19.0", 8192, ("256", "2048")),  # vllm-project/vllm#17885: A100s excluded
        ("L4", "0.19.0", 8192, ("256", "2048")),
        ("L4", "0.6.4", 20000, ("256", "20000")),  # V0: a whole prompt per step
        ("L4", "0.6.4", 40000, ("256", "512")),  # V0: chunked prefill above 32K
    ],
)
def test_scheduler_defaults_are_vllms_and_the_memory_plan_uses_them(
    hardware: str, version: str, max_model_len: int, expected: tuple[str, str]
) -> None:
    resolution = resolve(["--max-model-len", str(max_model_len)], hardware, version=version)
    seqs, tokens = resolution.decision("max_num_seqs"), resolution.decision("max_num_batched_tokens")
    assert seqs is not None and tokens is not None and (seqs.selected, tokens.selected) == expected
    plan = resolution.memory_plan
    assert plan is not None and (str(plan.max_num_seqs), str(plan.max_num_batched_tokens)) == expected


def test_a_mig_slice_gets_one_answer_for_max_num_seqs() -> None:
    """vLLM sizes its defaults from the parent GPU of a slice (PR #41776): the plan uses that same number."""
    parent = Device(name="NVIDIA H100 80GB HBM3", uuid="GPU-p", memory_total_bytes=80 * GIB, compute_capability="9.0")
    slice_ = Device(
        name="NVIDIA H100 80GB HBM3 MIG 3g.40gb",
        uuid="MIG-s",
        memory_total_bytes=40 * GIB,
        compute_capability="9.0",
        mig=MigSlice(parent_uuid="GPU-p", profile="3g.40gb"),
    )
    inventory = Inventory(source="file", devices=[parent, slice_], visible=[slice_])
    resolution = resolve(["--max-model-len", "8192"], inventory)
    seqs = resolution.decision("max_num_seqs")
    assert seqs is not None and seqs.selected == "1024"
    assert resolution.memory_plan is not None and resolution.memory_plan.max_num_seqs == 1024


@pytest.mark.parametrize(("version", "severity"), [(NEW, "refuse"), (None, "warn"), ("0.9.2", "warn")])
def test_free_memory_below_utilization(version: str | None, severity: str) -> None:
    inventory = with_free_memory(hardware_from_spec("L4"), 12 * GIB)
    found = problem(resolve([], inventory, version=version), "free-memory-below-utilization")
    assert found.severity == severity
    assert found.message.startswith("Free memory on device cuda:0 (12.00/22.49 GiB) on startup is less than desired")
    assert found.fix == "--gpu-memory-utilization 0.52"


def test_enough_free_memory_and_unknown_free_memory() -> None:
    enough = resolve(["--max-model-len", "8192"], with_free_memory(hardware_from_spec("L4"), 22 * GIB))
    assert not {"free-memory-below-utilization", "free-memory-unknown"} & rule_ids(enough, "warn") | rule_ids(
        enough, "refuse"
    )
    unknown = resolve([], "8xH100")
    assert problem(unknown, "free-memory-unknown").severity == "warn"
    assert not unknown.refused


@pytest.mark.parametrize(
    ("hardware", "seqs", "tokens"),
    [("H100", "1024", "8192"), ("A100", "256", "2048"), ("L4", "256", "2048"), ("B200", "1024", "8192")],
)
def test_scheduler_defaults_vllm_picks(hardware: str, seqs: str, tokens: str) -> None:
    resolution = resolve([], hardware)
    picked_seqs, picked_tokens = resolution.decision("max_num_seqs"), resolution.decision("max_num_batched_tokens")
    assert picked_seqs is not None and picked_tokens is not None
    assert (picked_seqs.selected, picked_tokens.selected) == (seqs, tokens)
    assert picked_seqs.source is AutoConfigSource.DEFAULT


def test_scheduler_values_the_user_set_are_cli() -> None:
    resolution = resolve(["--max-num-seqs", "64", "--max-model-len", "16"])
    seqs, tokens = resolution.decision("max_num_seqs"), resolution.decision("max_num_batched_tokens")
    assert seqs is not None and (seqs.selected, seqs.source) == ("64", AutoConfigSource.CLI)
    assert tokens is not None and tokens.selected == "1024"  # min(8192, 64 x 16)


def test_invalid_numbers_are_refusals_not_exceptions() -> None:
    found = problem(resolve(["-tp", "two"]), "option-value-invalid")
    assert (found.severity, found.fix) == ("refuse", "--tensor-parallel-size 1")
    assert problem(resolve(["--gpu-memory-utilization", "most"]), "option-value-invalid").severity == "refuse"


# -- attention -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "severity"), [("0.13.0", "refuse"), ("0.11.0", "warn"), (None, "warn")])
def test_forced_flash_attn_on_t4(version: str, severity: str) -> None:
    resolution = resolve(["--dtype", "half"], "T4", environ={"VLLM_ATTENTION_BACKEND": "FLASH_ATTN"}, version=version)
    found = problem(resolution, "attention-backend-flash-attn-pre-ampere")
    assert found.severity == severity
    assert found.fix == "unset VLLM_ATTENTION_BACKEND"
    decision = resolution.decision("attention_backend")
    assert decision is not None and (decision.source, decision.source_key) == (
        AutoConfigSource.ENV,
        "VLLM_ATTENTION_BACKEND",
    )


def test_forced_backend_on_a_fitting_gpu_and_an_unknown_name() -> None:
    assert "attention-backend-flash-attn-pre-ampere" not in rule_ids(
        resolve([], "A100", environ={"VLLM_ATTENTION_BACKEND": "FLASH_ATTN"}), "refuse"
    )
    assert (
        problem(resolve([], environ={"VLLM_ATTENTION_BACKEND": "FAST"}), "attention-backend-unknown").severity == "warn"
    )


def test_attention_flag_wins_over_env() -> None:
    resolution = resolve(["--attention-backend", "TRITON_ATTN"], environ={"VLLM_ATTENTION_BACKEND": "FLASHINFER"})
    decision = resolution.decision("attention_backend")
    assert decision is not None and (decision.selected, decision.source) == ("TRITON_ATTN", AutoConfigSource.CLI)


@pytest.mark.parametrize(
    ("hardware", "backend"),
    [("B200", "FLASHINFER"), ("H100", "FLASH_ATTN"), ("RTX5090", "FLASH_ATTN"), ("T4", "TRITON_ATTN")],
)
def test_backend_vllm_picks_by_itself(hardware: str, backend: str) -> None:
    decision = resolve([], hardware).decision("attention_backend")
    assert decision is not None and (decision.selected, decision.source) == (backend, AutoConfigSource.DEFAULT)


@pytest.mark.parametrize("version", [None, "0.11.0", "0.19.0", "0.20.1"])
def test_cpu_build_refuses_head_dim_16(version: str | None) -> None:
    resolution = resolve([], no_inventory(), tiny_head16_model(), version=version, platform="cpu")
    found = problem(resolution, "cpu-attention-head-size")
    assert found.severity == "refuse"
    assert "head_dim is 16" in found.message
    assert not any(p.rule_id == "no-visible-gpu" for p in resolution.problems)


def test_cpu_build_serves_head_dim_128() -> None:
    resolution = resolve([], no_inventory(), llama_8b(), platform="cpu")
    assert not resolution.refused
    seqs = resolution.decision("max_num_seqs")
    assert seqs is not None and seqs.selected == "128"


def test_resolution_serializes() -> None:
    plain = resolve(["--dtype", "bfloat16"], "T4").to_plain()
    assert plain["problems"][0]["severity"] == "refuse"
    assert plain["decisions"][0]["source"] == "default"


# -- never an exception ----------------------------------------------------------------------------

_FLAGS = [
    "--dtype",
    "--kv-cache-dtype",
    "--quantization",
    "--tensor-parallel-size",
    "--pipeline-parallel-size",
    "--max-model-len",
    "--gpu-memory-utilization",
    "--max-num-seqs",
    "--max-num-batched-tokens",
    "--attention-backend",
    "--distributed-executor-backend",
]
_VALUES = st.one_of(
    st.sampled_from(
        ["auto", "half", "bfloat16", "fp8", "awq", "gptq_marlin", "0", "-1", "1", "3", "8", "0.95", "1k", "ray"]
    ),
    st.text(max_size=8),
)
_PRESETS = ["T4", "V100", "L4", "A100", "H100", "B200", "RTX5090", "8xH100", "A100-80GB-1g.10gb", "H100-SXM-7g.80gb"]


@st.composite
def _models(draw: st.DrawFn) -> ModelFacts:
    small = st.one_of(st.none(), st.integers(min_value=0, max_value=200))
    return model_facts(
        num_attention_heads=draw(small),
        head_dim=draw(small),
        hidden_size=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=16384))),
        max_position_embeddings=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=2_000_000))),
        torch_dtype=draw(st.sampled_from([None, "bfloat16", "float16", "float32", "int8"])),
        quant_method=draw(st.sampled_from([None, "fp8", "awq", "gptq", "mxfp4", "modelopt_fp4", "weird"])),
        source=draw(st.sampled_from(["catalog", "unknown"])),
    )


@st.composite
def _inventories(draw: st.DrawFn) -> Inventory:
    choice = draw(st.sampled_from([*_PRESETS, "none", "empty"]))
    if choice == "none":
        return no_inventory()
    if choice == "empty":
        return probed_inventory([], visible=[])
    inventory = hardware_from_spec(choice)
    free = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=200 * GIB)))
    return with_free_memory(inventory, free)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    options=st.lists(st.tuples(st.sampled_from(_FLAGS), _VALUES), max_size=6),
    inventory=_inventories(),
    model=_models(),
    version=st.sampled_from([None, "0.4.1", "0.8.4", "0.11.0", "0.13.0", "0.20.1", "0.14.0rc1", "garbage"]),
    environ=st.dictionaries(
        st.sampled_from(["CUDA_VISIBLE_DEVICES", "VLLM_ATTENTION_BACKEND", "VLLM_ALLOW_LONG_MAX_MODEL_LEN"]),
        st.sampled_from(["", "0", "1", "MIG-abc", "GPU-1,0", "FLASH_ATTN", "XX"]),
    ),
    platform=st.sampled_from(["cuda", "cpu", "rocm"]),
)
def test_any_input_resolves_or_reports_problems(
    options: list[tuple[str, str]],
    inventory: Inventory,
    model: ModelFacts,
    version: str | None,
    environ: dict[str, str],
    platform: str,
) -> None:
    tokens = ["model"]
    for flag, value in options:
        tokens += [f"{flag}={value}"]
    resolution = resolve_vllm(
        parse_serve_args(tokens),
        inventory,
        model,
        environ=environ,
        engine_version=version,
        platform=platform,
    )
    for found in resolution.problems:
        assert found.severity in ("refuse", "warn")
        assert found.message and found.evidence
    assert resolution.decision("dtype") is not None
    resolution.to_plain()
