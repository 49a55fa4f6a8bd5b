"""The seed's `mod tests` (auto_config.rs), one for one: same names, inputs and assertions.

Tests after the `# --- beyond the seed` line cover behaviour the Rust tests do not pin down.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from kgc_launch.artifacts import decision_trace_jsonl, effective_config_document
from kgc_launch.ferrum.errors import AutoConfigError, InvalidOverride, UnsupportedCombination
from kgc_launch.ferrum.resolve import FerrumConfigBuilder
from kgc_launch.ferrum.validate import parse_compute_capability
from kgc_launch.records import (
    GIB,
    M3_QWEN3_30B_A3B_INT4_PRESET,
    AutoConfigDecision,
    AutoConfigSource,
    CompiledKernelFeatures,
    HardwareCapabilities,
    ModelCapabilities,
    ResolvedFerrumConfig,
    WorkloadProfile,
    from_plain,
    vram_default_max_sequences,
)
from kgc_launch.runtime import (
    RuntimeConfigEffect,
    RuntimeConfigEntry,
    RuntimeConfigSnapshot,
    RuntimeConfigSource,
)

Vars = list[tuple[str, str]]


def snapshot(vars: Vars) -> RuntimeConfigSnapshot:
    return RuntimeConfigSnapshot.from_env_vars(vars)


def snapshot_with_sources(vars: list[tuple[str, str, RuntimeConfigSource]]) -> RuntimeConfigSnapshot:
    entries = [
        RuntimeConfigEntry(key=key, effective_value=value, source=source, affects=[RuntimeConfigEffect.PERFORMANCE])
        for key, value, source in vars
    ]
    entries.sort(key=lambda entry: entry.key)
    return RuntimeConfigSnapshot(entries=entries)


def m3(vars: Vars, features: CompiledKernelFeatures) -> FerrumConfigBuilder:
    return (
        FerrumConfigBuilder.new(snapshot(vars))
        .with_model_capabilities(ModelCapabilities.qwen3_30b_a3b_gptq_int4())
        .with_hardware_capabilities(HardwareCapabilities.rtx4090_cuda(features))
        .with_workload_profile(WorkloadProfile.m3_qwen3_30b_a3b_int4())
    )


def m3_with_hardware(vars: Vars, hardware: HardwareCapabilities) -> FerrumConfigBuilder:
    return (
        FerrumConfigBuilder.new(snapshot(vars))
        .with_model_capabilities(ModelCapabilities.qwen3_30b_a3b_gptq_int4())
        .with_hardware_capabilities(hardware)
        .with_workload_profile(WorkloadProfile.m3_qwen3_30b_a3b_int4())
    )


def expect_invalid_key(vars: Vars, key: str) -> None:
    expect_invalid_key_with_features(vars, key, CompiledKernelFeatures.m3_fast_path_without_fa2())


def expect_invalid_key_with_features(vars: Vars, key: str, features: CompiledKernelFeatures) -> None:
    expect_invalid_key_with_hardware(vars, key, HardwareCapabilities.rtx4090_cuda(features))


def expect_invalid_key_with_hardware(vars: Vars, key: str, hardware: HardwareCapabilities) -> None:
    with pytest.raises(AutoConfigError) as error:
        m3_with_hardware(vars, hardware).resolve()
    assert isinstance(error.value, InvalidOverride), f"expected invalid override for {key}, got {error.value!r}"
    assert error.value.key == key


def cpu_hardware_with_features(features: CompiledKernelFeatures) -> HardwareCapabilities:
    return replace(
        HardwareCapabilities.unknown(),
        backend="cpu",
        supported_dtypes=["fp32"],
        supported_kv_dtypes=["fp16"],
        compiled_features=features,
    )


def selected_by_selection(resolved: ResolvedFerrumConfig) -> dict[str, str]:
    return {decision.selection: decision.selected for decision in resolved.decisions}


def find(resolved: ResolvedFerrumConfig, selection: str) -> AutoConfigDecision:
    return next(decision for decision in resolved.decisions if decision.selection == selection)


def test_m3_preset_selects_current_safe_fast_path_without_fa2() -> None:
    resolved = m3([], CompiledKernelFeatures.m3_fast_path_without_fa2()).resolve()
    decisions = selected_by_selection(resolved)
    assert decisions["attention_prefill_mixed_backend"] == "vllm_paged_varlen"
    assert decisions["attention_decode_backend"] == "vllm_paged_attn_v1_short"
    assert decisions["moe_implementation"] == "vllm_marlin_moe_device_route_pair_ids"
    assert decisions["moe_graph_policy"] == "graph_disabled"
    assert decisions["prefix_cache_policy"] == "prefix_cache_disabled"
    assert decisions["sampling_readback_path"] == "gpu_greedy_argmax"
    assert resolved.preset == M3_QWEN3_30B_A3B_INT4_PRESET


def test_source_fa2_selects_source_linked_attention_when_compiled() -> None:
    resolved = m3([("FERRUM_FA2_SOURCE", "1")], CompiledKernelFeatures.m3_fast_path_with_source_fa2()).resolve()
    decisions = selected_by_selection(resolved)
    assert decisions["attention_prefill_mixed_backend"] == "fa2_source"


def test_source_fa2_is_rejected_when_not_compiled() -> None:
    expect_invalid_key([("FERRUM_FA2_SOURCE", "1")], "FERRUM_FA2_SOURCE")


def test_hardware_capabilities_keep_m3_preset_on_compatible_backend_paths() -> None:
    resolved = m3_with_hardware(
        [], cpu_hardware_with_features(CompiledKernelFeatures.m3_fast_path_with_source_fa2())
    ).resolve()
    decisions = selected_by_selection(resolved)
    assert decisions["attention_prefill_mixed_backend"] == "legacy_paged_varlen"
    assert decisions["attention_decode_backend"] == "legacy_paged_decode"
    assert decisions["moe_implementation"] == "legacy_moe"
    assert decisions["moe_graph_policy"] == "graph_disabled"
    assert decisions["sampling_readback_path"] == "logits_readback"


def test_hardware_incompatible_attention_and_sampling_overrides_are_rejected() -> None:
    cpu = cpu_hardware_with_features(CompiledKernelFeatures.m3_fast_path_with_source_fa2())
    expect_invalid_key_with_hardware([("FERRUM_USE_VLLM_PAGED_ATTN", "1")], "FERRUM_USE_VLLM_PAGED_ATTN", cpu)
    expect_invalid_key_with_hardware([("FERRUM_VLLM_MOE", "1")], "FERRUM_VLLM_MOE", cpu)
    expect_invalid_key_with_hardware([("FERRUM_GREEDY_ARGMAX", "1")], "FERRUM_GREEDY_ARGMAX", cpu)
    expect_invalid_key_with_hardware([("FERRUM_FA2_SOURCE", "1")], "FERRUM_FA2_SOURCE", cpu)

    old_cuda = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_with_source_fa2())
    old_cuda = replace(old_cuda, compute_capability="7.5")
    expect_invalid_key_with_hardware([("FERRUM_FA2_SOURCE", "1")], "FERRUM_FA2_SOURCE", old_cuda)


def test_hardware_capacity_sizes_default_sequence_budget_without_overriding_user_values() -> None:
    small_gpu = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_without_fa2())
    small_gpu = replace(small_gpu, sm_count=16, vram_bytes=24 * 1024 * 1024 * 1024)

    resolved = m3_with_hardware([], replace(small_gpu)).resolve()
    max_sequences = find(resolved, "max_sequences")
    assert max_sequences.selected == "4"
    assert max_sequences.source == AutoConfigSource.HARDWARE_CAPABILITY
    max_batched_tokens = find(resolved, "max_batched_tokens")
    assert max_batched_tokens.selected == "256"
    assert max_batched_tokens.source == AutoConfigSource.HARDWARE_CAPABILITY

    resolved = m3_with_hardware([("FERRUM_PAGED_MAX_SEQS", "16")], small_gpu).resolve()
    max_sequences = find(resolved, "max_sequences")
    assert max_sequences.selected == "16"
    assert max_sequences.source == AutoConfigSource.ENV
    assert max_sequences.source_key == "FERRUM_PAGED_MAX_SEQS"


def test_vram_capacity_caps_m3_default_sequence_budget() -> None:
    low_vram_gpu = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_without_fa2())
    low_vram_gpu = replace(low_vram_gpu, sm_count=128, vram_bytes=7 * 1024 * 1024 * 1024)

    resolved = m3_with_hardware([], low_vram_gpu).resolve()
    max_sequences = find(resolved, "max_sequences")
    assert max_sequences.selected == "4"
    assert max_sequences.source == AutoConfigSource.HARDWARE_CAPABILITY


def test_memory_budget_keeps_rtx4090_m3_kv_blocks_but_caps_constrained_vram() -> None:
    resolved = m3([], CompiledKernelFeatures.m3_fast_path_without_fa2()).resolve()
    assert find(resolved, "kv_block_count").selected == "2048"
    assert find(resolved, "kv_block_count").source == AutoConfigSource.WORKLOAD_PRESET

    constrained = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_without_fa2())
    constrained = replace(constrained, vram_bytes=20 * 1024 * 1024 * 1024)
    resolved = m3_with_hardware([], constrained).resolve()
    assert find(resolved, "kv_block_count").selected == "2"
    assert find(resolved, "kv_block_count").source == AutoConfigSource.HARDWARE_CAPABILITY
    assert find(resolved, "max_batched_tokens").selected == "32"
    assert find(resolved, "max_batched_tokens").source == AutoConfigSource.HARDWARE_CAPABILITY


def test_compute_capability_parser_accepts_major_minor_and_major_only() -> None:
    assert parse_compute_capability("8.9") == (8, 9)
    assert parse_compute_capability("9") == (9, 0)
    assert parse_compute_capability("N/A") is None


def test_vram_capacity_tiers_are_monotonic() -> None:
    assert vram_default_max_sequences(24 * 1024 * 1024 * 1024) == 32
    assert vram_default_max_sequences(16 * 1024 * 1024 * 1024) == 16
    assert vram_default_max_sequences(8 * 1024 * 1024 * 1024) == 8
    assert vram_default_max_sequences(6 * 1024 * 1024 * 1024) == 4


def test_accelerator_serving_default_uses_hardware_concurrency_budget() -> None:
    hardware = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_without_fa2())
    workload = WorkloadProfile.serving_default_for_hardware(hardware)
    assert workload.target_concurrency == 32

    resolved = (
        FerrumConfigBuilder.new(snapshot([]))
        .with_model_capabilities(ModelCapabilities.unknown())
        .with_hardware_capabilities(hardware)
        .with_workload_profile(workload)
        .resolve()
    )
    assert find(resolved, "max_sequences").selected == "32"


def test_cpu_serving_default_keeps_single_sequence_budget() -> None:
    hardware = replace(HardwareCapabilities.unknown(), backend="cpu", supported_dtypes=["fp32"])
    workload = WorkloadProfile.serving_default_for_hardware(hardware)
    assert workload.target_concurrency == 1


def test_validates_invalid_override_matrix() -> None:
    expect_invalid_key([("FERRUM_USE_VLLM_PAGED_ATTN", "maybe")], "FERRUM_USE_VLLM_PAGED_ATTN")
    expect_invalid_key([("FERRUM_PREFIX_CACHE", "maybe")], "FERRUM_PREFIX_CACHE")
    expect_invalid_key(
        [("FERRUM_FA_LAYOUT_VARLEN", "1"), ("FERRUM_USE_VLLM_PAGED_ATTN", "0")], "FERRUM_FA_LAYOUT_VARLEN"
    )
    expect_invalid_key([("FERRUM_FA2_DIRECT_FFI", "1")], "FERRUM_FA2_DIRECT_FFI")
    expect_invalid_key_with_features([("FERRUM_VLLM_MOE", "1")], "FERRUM_VLLM_MOE", CompiledKernelFeatures.default())
    expect_invalid_key([("FERRUM_MOE_DEVICE_ROUTE", "1"), ("FERRUM_VLLM_MOE", "0")], "FERRUM_MOE_DEVICE_ROUTE")
    expect_invalid_key([("FERRUM_VLLM_MOE_PAIR_IDS", "1"), ("FERRUM_VLLM_MOE", "0")], "FERRUM_VLLM_MOE_PAIR_IDS")
    expect_invalid_key([("FERRUM_MOE_GRAPH", "1"), ("FERRUM_VLLM_MOE", "0")], "FERRUM_MOE_GRAPH")
    expect_invalid_key([("FERRUM_KV_MAX_BLOCKS", "0")], "FERRUM_KV_MAX_BLOCKS")
    expect_invalid_key([("FERRUM_PAGED_MAX_SEQS", "0")], "FERRUM_PAGED_MAX_SEQS")
    expect_invalid_key(
        [("FERRUM_PAGED_MAX_SEQS", "32"), ("FERRUM_MAX_BATCHED_TOKENS", "16")], "FERRUM_MAX_BATCHED_TOKENS"
    )
    expect_invalid_key(
        [("FERRUM_KV_MAX_BLOCKS", "16"), ("FERRUM_MAX_BATCHED_TOKENS", "512")], "FERRUM_MAX_BATCHED_TOKENS"
    )
    expect_invalid_key([("FERRUM_MAX_MODEL_LEN", "0")], "FERRUM_MAX_MODEL_LEN")
    expect_invalid_key([("FERRUM_MAX_MODEL_LEN", "50000")], "FERRUM_MAX_MODEL_LEN")
    expect_invalid_key([("FERRUM_KV_MAX_BLOCKS", "16"), ("FERRUM_MAX_MODEL_LEN", "1024")], "FERRUM_KV_MAX_BLOCKS")
    expect_invalid_key([("FERRUM_DTYPE", "bf16")], "FERRUM_DTYPE")
    expect_invalid_key([("FERRUM_KV_DTYPE", "fp8")], "FERRUM_KV_DTYPE")
    expect_invalid_key(
        [("FERRUM_VLLM_PAGED_ATTN_V1_SHORT", "1"), ("FERRUM_USE_VLLM_PAGED_ATTN", "0")],
        "FERRUM_VLLM_PAGED_ATTN_V1_SHORT",
    )


def test_requested_max_model_len_is_optional_and_reflected_when_valid() -> None:
    default_resolved = m3([], CompiledKernelFeatures.m3_fast_path_without_fa2()).resolve()
    assert not any(decision.selection == "max_model_len" for decision in default_resolved.decisions)

    resolved = m3(
        [("FERRUM_KV_MAX_BLOCKS", "64"), ("FERRUM_MAX_MODEL_LEN", "1024")],
        CompiledKernelFeatures.m3_fast_path_without_fa2(),
    ).resolve()
    max_model_len = find(resolved, "max_model_len")
    assert max_model_len.selected == "1024"
    assert max_model_len.source_key == "FERRUM_MAX_MODEL_LEN"


def test_graph_enabled_with_graph_unsafe_moe_is_rejected() -> None:
    model = ModelCapabilities.qwen3_30b_a3b_gptq_int4()
    model = replace(model, graph_safe_moe=False)
    with pytest.raises(AutoConfigError) as error:
        (
            FerrumConfigBuilder.new(snapshot([("FERRUM_MOE_GRAPH", "1")]))
            .with_model_capabilities(model)
            .with_hardware_capabilities(
                HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_without_fa2())
            )
            .with_workload_profile(WorkloadProfile.m3_qwen3_30b_a3b_int4())
            .resolve()
        )
    assert isinstance(error.value, UnsupportedCombination)
    assert error.value.selection == "moe_graph_policy"


def test_scheduler_override_is_reflected_in_decision_trace() -> None:
    resolved = m3(
        [("FERRUM_ACTIVE_DECODE_PREFILL_CHUNK", "64")], CompiledKernelFeatures.m3_fast_path_without_fa2()
    ).resolve()
    scheduler = find(resolved, "scheduler_admission_policy")
    assert scheduler.selected == "active_decode_prefill_chunk:64"
    assert scheduler.source_key == "FERRUM_ACTIVE_DECODE_PREFILL_CHUNK"


def test_prefix_cache_override_is_reflected_in_decision_trace() -> None:
    resolved = m3([("FERRUM_PREFIX_CACHE", "1")], CompiledKernelFeatures.m3_fast_path_without_fa2()).resolve()
    prefix_cache = find(resolved, "prefix_cache_policy")
    assert prefix_cache.selected == "prefix_cache_enabled"
    assert prefix_cache.source_key == "FERRUM_PREFIX_CACHE"


def test_non_env_runtime_sources_are_preserved_in_decision_trace() -> None:
    runtime_config = snapshot_with_sources(
        [
            ("FERRUM_FA_LAYOUT_VARLEN", "1", RuntimeConfigSource.CONFIG_FILE),
            ("FERRUM_PAGED_MAX_SEQS", "48", RuntimeConfigSource.CLI),
            ("FERRUM_SCHED_PREFILL_FIRST_UNTIL_ACTIVE", "32", RuntimeConfigSource.SCRIPT_CASE),
        ]
    )
    resolved = (
        FerrumConfigBuilder.new(runtime_config)
        .with_model_capabilities(ModelCapabilities.qwen3_30b_a3b_gptq_int4())
        .with_hardware_capabilities(
            HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_without_fa2())
        )
        .with_workload_profile(WorkloadProfile.m3_qwen3_30b_a3b_int4())
        .resolve()
    )

    attention = find(resolved, "attention_prefill_mixed_backend")
    assert attention.selected == "fa_layout_varlen"
    assert attention.source == AutoConfigSource.CONFIG_FILE
    assert attention.source_key == "FERRUM_FA_LAYOUT_VARLEN"

    max_sequences = find(resolved, "max_sequences")
    assert max_sequences.selected == "48"
    assert max_sequences.source == AutoConfigSource.CLI
    assert max_sequences.source_key == "FERRUM_PAGED_MAX_SEQS"

    scheduler = find(resolved, "scheduler_admission_policy")
    assert scheduler.selected == "prefill_first_until_active:32"
    assert scheduler.source == AutoConfigSource.SCRIPT_CASE
    assert scheduler.source_key == "FERRUM_SCHED_PREFILL_FIRST_UNTIL_ACTIVE"


def test_renders_effective_config_and_decision_trace_artifacts() -> None:
    resolved = m3([], CompiledKernelFeatures.m3_fast_path_without_fa2()).resolve()
    effective = effective_config_document(resolved)
    assert effective["schema_version"] == 1
    assert effective["env_hash"].startswith("sha256:")
    assert isinstance(effective["entries"], list)
    assert effective["model_capabilities"]["architecture"] == "qwen3_moe"
    assert effective["hardware_capabilities"]["backend"] == "cuda"
    assert effective["workload_profile"]["preset"] == M3_QWEN3_30B_A3B_INT4_PRESET
    assert len(effective["decisions"]) == len(resolved.decisions)
    trace = decision_trace_jsonl(resolved.decisions)
    assert len(trace.splitlines()) == len(resolved.decisions)
    assert '"attention_prefill_mixed_backend"' in trace


def test_auto_config_artifacts_match_locked_schema_shape() -> None:
    resolved = FerrumConfigBuilder.m3_qwen3_30b_a3b_int4(
        snapshot_with_sources(
            [
                ("FERRUM_FA_LAYOUT_VARLEN", "1", RuntimeConfigSource.SCRIPT_CASE),
                ("FERRUM_PAGED_MAX_SEQS", "32", RuntimeConfigSource.CLI),
            ]
        )
    ).resolve()

    effective = effective_config_document(resolved)
    assert effective["schema_version"] == 1
    assert effective["env_hash"].startswith("sha256:")

    entries = effective["entries"]
    keys = [entry["key"] for entry in entries]
    assert keys == sorted(keys)
    for entry in entries:
        assert entry["key"].startswith("FERRUM_")
        assert isinstance(entry["effective_value"], str)
        assert entry["source"] in ("default", "config_file", "cli", "env", "script_case", "memory_profile")
        assert entry["affects"]
    assert effective["model_capabilities"]["quantization"] == "gptq_int4"
    assert effective["model_capabilities"]["moe"]["experts_per_token"] == 8
    assert effective["hardware_capabilities"]["compute_capability"] == "8.9"
    assert effective["hardware_capabilities"]["compiled_features"]["vllm_moe_marlin"] is True
    assert effective["workload_profile"]["target_concurrency"] == 32
    assert effective["workload_profile"]["priority"] == "throughput"

    trace = decision_trace_jsonl(resolved.decisions)
    trace_decisions = [from_plain(AutoConfigDecision, json.loads(line)) for line in trace.splitlines()]
    assert trace_decisions == resolved.decisions
    assert [from_plain(AutoConfigDecision, item) for item in effective["decisions"]] == trace_decisions

    for decision in trace_decisions:
        assert decision.schema_version == 1
        assert decision.selection.strip()
        assert decision.selected.strip()
        assert decision.candidates
        assert decision.affects
        if decision.source_key is not None:
            assert decision.source_key.startswith("FERRUM_")
        for rejected in decision.rejected:
            assert rejected.value.strip()
            assert rejected.reason.strip()


# --- beyond the seed ----------------------------------------------------------------------------------


def test_override_errors_carry_ferrums_text_and_a_hint() -> None:
    with pytest.raises(InvalidOverride) as error:
        m3([("FERRUM_FA2_SOURCE", "1")], CompiledKernelFeatures.m3_fast_path_without_fa2()).resolve()
    assert str(error.value) == "FERRUM_FA2_SOURCE: invalid override: source-linked FA2 support is not compiled"
    assert error.value.hint is not None
    assert "compiled_features.fa2_source" in error.value.hint
    assert "unset FERRUM_FA2_SOURCE" in error.value.hint
    assert error.value.exit_code == 1

    with pytest.raises(InvalidOverride) as error:
        m3([("FERRUM_PREFIX_CACHE", "Maybe")], CompiledKernelFeatures.m3_fast_path_without_fa2()).resolve()
    assert str(error.value) == 'FERRUM_PREFIX_CACHE: invalid override: invalid boolean env value: "maybe"'


def test_unsupported_combination_text() -> None:
    features = replace(CompiledKernelFeatures.m3_fast_path_with_source_fa2(), fa2_direct_ffi=True)
    with pytest.raises(UnsupportedCombination) as error:
        m3([("FERRUM_FA2_SOURCE", "1"), ("FERRUM_FA2_DIRECT_FFI_SHIM", "/opt/shim.so")], features).resolve()
    assert str(error.value) == (
        "attention_prefill_mixed_backend: unsupported combination: "
        "FA2 source and direct FFI shim cannot both own the prefill path"
    )


def test_shim_turns_direct_ffi_on_with_env_source_whatever_the_shims_source() -> None:
    features = replace(CompiledKernelFeatures.m3_fast_path_without_fa2(), fa2_direct_ffi=True)
    runtime = snapshot_with_sources([("FERRUM_FA2_DIRECT_FFI_SHIM", "/opt/shim.so", RuntimeConfigSource.CLI)])
    builder = FerrumConfigBuilder.m3_qwen3_30b_a3b_int4(runtime)
    builder.hardware = HardwareCapabilities.rtx4090_cuda(features)
    attention = find(builder.resolve(), "attention_prefill_mixed_backend")
    assert (attention.selected, attention.source, attention.source_key) == (
        "fa2_direct_ffi",
        AutoConfigSource.ENV,
        None,
    )


def test_checks_run_in_rust_order_so_the_first_failure_is_reported() -> None:
    # Both the attention layout and the KV size are wrong: attention is validated first.
    expect_invalid_key(
        [
            ("FERRUM_FA_LAYOUT_VARLEN", "1"),
            ("FERRUM_USE_VLLM_PAGED_ATTN", "0"),
            ("FERRUM_KV_MAX_BLOCKS", "0"),
        ],
        "FERRUM_FA_LAYOUT_VARLEN",
    )
    # A value that does not parse fails while reading, before any validation.
    expect_invalid_key([("FERRUM_FA2_SOURCE", "1"), ("FERRUM_MAX_MODEL_LEN", "lots")], "FERRUM_MAX_MODEL_LEN")


def test_decisions_come_in_rust_order_with_max_model_len_after_batched_tokens() -> None:
    resolved = m3(
        [("FERRUM_KV_MAX_BLOCKS", "64"), ("FERRUM_MAX_MODEL_LEN", "1024")],
        CompiledKernelFeatures.m3_fast_path_without_fa2(),
    ).resolve()
    assert [decision.selection for decision in resolved.decisions] == [
        "attention_prefill_mixed_backend",
        "attention_decode_backend",
        "moe_implementation",
        "moe_graph_policy",
        "kv_block_count",
        "max_sequences",
        "max_batched_tokens",
        "max_model_len",
        "prefix_cache_policy",
        "scheduler_admission_policy",
        "sampling_readback_path",
    ]


@pytest.mark.parametrize(
    ("chunk", "outcome"),
    [
        ("0", "unsupported"),
        ("00", "active_decode_prefill_chunk:00"),  # Rust tests the text for ":0", not the number
        (" 64", "active_decode_prefill_chunk: 64"),  # the raw text, as Rust formats it
        ("-1", "invalid"),
    ],
)
def test_scheduler_chunk_text_is_kept_as_rust_keeps_it(chunk: str, outcome: str) -> None:
    builder = m3([("FERRUM_ACTIVE_DECODE_PREFILL_CHUNK", chunk)], CompiledKernelFeatures.m3_fast_path_without_fa2())
    if outcome == "unsupported":
        with pytest.raises(UnsupportedCombination, match=r"^scheduler_admission_policy: "):
            builder.resolve()
    elif outcome == "invalid":
        with pytest.raises(InvalidOverride, match=r"^FERRUM_ACTIVE_DECODE_PREFILL_CHUNK: invalid override: "):
            builder.resolve()
    else:
        assert find(builder.resolve(), "scheduler_admission_policy").selected == outcome


def test_scheduler_prefers_chunk_then_until_then_prompt_estimate() -> None:
    features = CompiledKernelFeatures.m3_fast_path_without_fa2()
    both = [("FERRUM_ACTIVE_DECODE_PREFILL_CHUNK", "8"), ("FERRUM_SCHED_PREFILL_FIRST_UNTIL_ACTIVE", "4")]
    assert find(m3(both, features).resolve(), "scheduler_admission_policy").selected == (
        "active_decode_prefill_chunk:8"
    )
    estimate = find(
        m3([("FERRUM_SCHED_PROMPT_TOKEN_ESTIMATE", "yes")], features).resolve(), "scheduler_admission_policy"
    )
    assert (estimate.selected, estimate.source, estimate.source_key) == (
        "prompt_token_estimate",
        AutoConfigSource.ENV,
        "FERRUM_SCHED_PROMPT_TOKEN_ESTIMATE",
    )
    assert estimate.rejected == []


def test_duplicate_keys_read_first_for_values_and_last_for_the_scheduler() -> None:
    # Only a replayed document can repeat a key; Rust's `find` takes the first, its BTreeMap the last.
    entries = [
        RuntimeConfigEntry.new("FERRUM_PAGED_MAX_SEQS", "8", RuntimeConfigSource.CLI),
        RuntimeConfigEntry.new("FERRUM_PAGED_MAX_SEQS", "16", RuntimeConfigSource.ENV),
        RuntimeConfigEntry.new("FERRUM_SCHED_PREFILL_FIRST_UNTIL_ACTIVE", "1", RuntimeConfigSource.CLI),
        RuntimeConfigEntry.new("FERRUM_SCHED_PREFILL_FIRST_UNTIL_ACTIVE", "2", RuntimeConfigSource.ENV),
    ]
    runtime = RuntimeConfigSnapshot(entries=entries)
    resolved = FerrumConfigBuilder.m3_qwen3_30b_a3b_int4(runtime).resolve()
    assert (find(resolved, "max_sequences").selected, find(resolved, "max_sequences").source) == (
        "8",
        AutoConfigSource.CLI,
    )
    scheduler = find(resolved, "scheduler_admission_policy")
    assert (scheduler.selected, scheduler.source) == ("prefill_first_until_active:2", AutoConfigSource.CLI)


def test_unknown_hardware_without_preset_resolves_to_the_legacy_paths() -> None:
    resolved = FerrumConfigBuilder.new(snapshot([])).resolve()
    plain = [(d.selection, d.selected, d.source.value) for d in resolved.decisions]
    assert plain == [
        ("attention_prefill_mixed_backend", "legacy_paged_varlen", "default"),
        ("attention_decode_backend", "legacy_paged_decode", "workload_preset"),
        ("moe_implementation", "legacy_moe", "workload_preset"),
        ("moe_graph_policy", "graph_disabled", "workload_preset"),
        ("kv_block_count", "2048", "workload_preset"),
        ("max_sequences", "1", "workload_preset"),
        ("max_batched_tokens", "64", "workload_preset"),
        ("prefix_cache_policy", "prefix_cache_disabled", "default"),
        ("scheduler_admission_policy", "continuous_default", "default"),
        ("sampling_readback_path", "logits_readback", "workload_preset"),
    ]


def test_kv_blocks_keep_target_when_the_kv_size_overflows_u64() -> None:
    # checked_mul gives up on overflow, and the budget is then not applied (Rust: `_ => target`).
    model = replace(ModelCapabilities.qwen3_30b_a3b_gptq_int4(), num_hidden_layers=2**62)
    hardware = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_without_fa2())
    hardware = replace(hardware, vram_bytes=20 * GIB)  # would cap KV to 2 blocks if the budget were applied
    builder = FerrumConfigBuilder.m3_qwen3_30b_a3b_int4(snapshot([])).with_model_capabilities(model)
    kv = find(builder.with_hardware_capabilities(hardware).resolve(), "kv_block_count")
    assert (kv.selected, kv.source) == ("2048", AutoConfigSource.WORKLOAD_PRESET)


def test_huge_kv_block_count_saturates_the_token_capacity() -> None:
    resolved = m3(
        [("FERRUM_KV_MAX_BLOCKS", str(2**64 - 1)), ("FERRUM_MAX_BATCHED_TOKENS", str(2**64 - 1))],
        CompiledKernelFeatures.m3_fast_path_without_fa2(),
    ).resolve()
    assert find(resolved, "max_batched_tokens").selected == str(2**64 - 1)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("8.0", (8, 0)),
        (" 9.0 ", (9, 0)),
        ("+8.+6", (8, 6)),
        ("8.", None),
        ("8.9.1", None),
        ("", None),
        ("-8", None),
    ],
)
def test_compute_capability_parser_follows_rust_parse(text: str, parsed: tuple[int, int] | None) -> None:
    assert parse_compute_capability(text) == parsed


def test_unparsable_compute_capability_does_not_block_fa2() -> None:
    hardware = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_with_source_fa2())
    hardware = replace(hardware, compute_capability="N/A")  # Rust: only a known capability below 8.0 rejects FA2
    resolved = m3_with_hardware([("FERRUM_FA2_SOURCE", "1")], hardware).resolve()
    assert find(resolved, "attention_prefill_mixed_backend").selected == "fa2_source"


def test_dtype_check_lowercases_ascii_only() -> None:
    hardware = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_without_fa2())
    hardware = replace(hardware, supported_kv_dtypes=["int8", "fp8\u00e4"])
    m3_with_hardware([("FERRUM_KV_DTYPE", "INT8")], replace(hardware)).resolve()
    # `to_ascii_lowercase` leaves "\u00c4" alone, so it does not match "\u00e4" (`str.lower()` would).
    expect_invalid_key_with_hardware([("FERRUM_KV_DTYPE", "FP8\u00c4")], "FERRUM_KV_DTYPE", hardware)


def test_resolve_writes_nothing_and_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRUM_FA2_SOURCE", "1")  # would fail resolution if the resolver read the env
    resolved = FerrumConfigBuilder.m3_qwen3_30b_a3b_int4(snapshot([])).resolve()
    assert json.loads(json.dumps(effective_config_document(resolved)))["entries"] == []
