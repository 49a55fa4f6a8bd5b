"""The port of ferrum's `FerrumConfigBuilder` (`crates/ferrum-types/src/auto_config.rs` at a35ef235).

Pure: it reads the runtime entries and capability records it is given and nothing else (no files, no
environment). Every key is read, every default derived, every check made and every decision recorded in
the Rust order, because the first failing check is the one a user sees and the decision order is the
order of the trace artifact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from kgc_launch.ferrum import decisions as d
from kgc_launch.ferrum import sizing, validate
from kgc_launch.ferrum.decisions import ResolvedValue
from kgc_launch.ferrum.errors import InvalidOverride, UnsupportedCombination
from kgc_launch.records import (
    M3_QWEN3_30B_A3B_INT4_PRESET,
    AutoConfigDecision,
    AutoConfigSource,
    CompiledKernelFeatures,
    HardwareCapabilities,
    ModelCapabilities,
    ResolvedFerrumConfig,
    WorkloadProfile,
)
from kgc_launch.runtime import (
    RuntimeConfigEffect,
    RuntimeConfigEntry,
    RuntimeConfigSnapshot,
    parse_bool_env_value,
    parse_usize_env_value,
)

_BOOL_HINT = "use 1, true, yes or on to enable; 0, false, no or off to disable"
_USIZE_HINT = "use a non-negative whole number"


class FerrumConfigBuilder:
    """Collects the runtime entries and the three capability records, then `resolve()`s them."""

    def __init__(self, runtime_config: RuntimeConfigSnapshot) -> None:
        self.runtime_config = runtime_config
        self.model = ModelCapabilities.unknown()
        self.hardware = HardwareCapabilities.unknown()
        self.workload = WorkloadProfile.serving_default()

    @classmethod
    def new(cls, runtime_config: RuntimeConfigSnapshot) -> FerrumConfigBuilder:
        """Unknown model and hardware, the default serving workload."""
        return cls(runtime_config)

    @classmethod
    def m3_qwen3_30b_a3b_int4(cls, runtime_config: RuntimeConfigSnapshot) -> FerrumConfigBuilder:
        """The M3 preset: Qwen3-30B-A3B GPTQ int4 on an RTX 4090 with the fast path compiled, FA2 not."""
        model, hardware, workload = m3_preset_records()
        return (
            cls.new(runtime_config)
            .with_model_capabilities(model)
            .with_hardware_capabilities(hardware)
            .with_workload_profile(workload)
        )

    def with_model_capabilities(self, model: ModelCapabilities) -> FerrumConfigBuilder:
        self.model = model
        return self

    def with_hardware_capabilities(self, hardware: HardwareCapabilities) -> FerrumConfigBuilder:
        self.hardware = hardware
        return self

    def with_workload_profile(self, workload: WorkloadProfile) -> FerrumConfigBuilder:
        self.workload = workload
        return self

    # -- reading runtime entries -------------------------------------------------------------------

    def _entry(self, key: str) -> RuntimeConfigEntry | None:
        # Rust: `iter().find(..)`, the first entry with the key (a replayed document may repeat a key).
        for entry in self.runtime_config.entries:
            if entry.key == key:
                return entry
        return None

    def _entries(self) -> dict[str, str]:
        # Rust: collected into a BTreeMap, so here the last entry with a key wins.
        return {entry.key: entry.effective_value for entry in self.runtime_config.entries}

    def _raw(self, key: str) -> str | None:
        entry = self._entry(key)
        return None if entry is None else entry.effective_value

    def _source_for_key(self, key: str, default_source: AutoConfigSource) -> AutoConfigSource:
        entry = self._entry(key)
        return default_source if entry is None else auto_config_source_from_runtime(entry)

    def _bool_value(self, key: str, default: bool, default_source: AutoConfigSource) -> ResolvedValue[bool]:
        entry = self._entry(key)
        if entry is None:
            return ResolvedValue(default, default_source)
        try:
            value = parse_bool_env_value(entry.effective_value)
        except ValueError as error:
            raise InvalidOverride(key, str(error), hint=_BOOL_HINT) from None
        return ResolvedValue(value, auto_config_source_from_runtime(entry), key)

    def _usize_value(self, key: str, default: int, default_source: AutoConfigSource) -> ResolvedValue[int]:
        return self._optional_usize_value(key) or ResolvedValue(default, default_source)

    def _optional_usize_value(self, key: str) -> ResolvedValue[int] | None:
        entry = self._entry(key)
        if entry is None:
            return None
        return ResolvedValue(_parse_usize(key, entry.effective_value), auto_config_source_from_runtime(entry), key)

    # -- resolving ---------------------------------------------------------------------------------

    def resolve(self) -> ResolvedFerrumConfig:
        """Every decision, or the first `InvalidOverride` / `UnsupportedCombination` in ferrum's order."""
        m3, cuda = self.workload.is_m3_preset(), validate.is_cuda_backend(self.hardware)
        features = self.hardware.compiled_features
        preset = AutoConfigSource.WORKLOAD_PRESET
        default = AutoConfigSource.DEFAULT
        use_vllm_paged_attn = self._bool_value(
            "FERRUM_USE_VLLM_PAGED_ATTN", m3 and cuda and features.vllm_paged_attn, preset
        )
        fa_layout = self._bool_value("FERRUM_FA_LAYOUT_VARLEN", False, default)
        fa2_source = self._bool_value("FERRUM_FA2_SOURCE", False, default)
        shim_present = self._raw("FERRUM_FA2_DIRECT_FFI_SHIM") is not None
        fa2_direct_ffi = self._bool_value(
            "FERRUM_FA2_DIRECT_FFI", shim_present, AutoConfigSource.ENV if shim_present else default
        )
        vllm_v1_short = self._bool_value("FERRUM_VLLM_PAGED_ATTN_V1_SHORT", use_vllm_paged_attn.value, default)
        vllm_moe = self._bool_value("FERRUM_VLLM_MOE", m3 and cuda and features.vllm_moe_marlin, preset)
        device_route = self._bool_value("FERRUM_MOE_DEVICE_ROUTE", m3 and vllm_moe.value, preset)
        pair_ids = self._bool_value("FERRUM_VLLM_MOE_PAIR_IDS", vllm_moe.value, preset)
        graph = self._bool_value("FERRUM_MOE_GRAPH", False, preset)
        greedy = self._bool_value("FERRUM_GREEDY_ARGMAX", m3 and cuda and features.greedy_argmax, preset)
        prefix_cache = self._bool_value("FERRUM_PREFIX_CACHE", False, preset if m3 else default)
        default_max_sequences = sizing.default_max_sequences(self.workload, self.hardware)
        max_sequences = self._usize_value(
            "FERRUM_PAGED_MAX_SEQS", default_max_sequences.value, default_max_sequences.source
        )
        default_kv_blocks = sizing.default_kv_blocks(max_sequences, self.hardware, self.model)
        kv_blocks = self._usize_value("FERRUM_KV_MAX_BLOCKS", default_kv_blocks.value, default_kv_blocks.source)
        default_batched = sizing.default_max_batched_tokens(max_sequences, kv_blocks)
        max_batched_tokens = self._usize_value(
            "FERRUM_MAX_BATCHED_TOKENS", default_batched.value, default_batched.source
        )
        max_model_len = self._optional_usize_value("FERRUM_MAX_MODEL_LEN")

        validate.validate_attention(
            self.hardware,
            use_vllm_paged_attn=use_vllm_paged_attn.value,
            fa_layout=fa_layout.value,
            fa2_source=fa2_source.value,
            fa2_direct_ffi=fa2_direct_ffi.value,
            shim_present=shim_present,
            vllm_v1_short=vllm_v1_short.value,
        )
        validate.validate_moe(
            self.model,
            self.hardware,
            self.workload,
            vllm_moe=vllm_moe.value,
            device_route=device_route.value,
            pair_ids=pair_ids.value,
            graph=graph.value,
        )
        validate.validate_memory(
            self.model,
            kv_blocks=kv_blocks.value,
            max_sequences=max_sequences.value,
            max_batched_tokens=max_batched_tokens.value,
            requested_max_model_len=None if max_model_len is None else max_model_len.value,
        )
        validate.validate_dtypes(self.hardware, dtype=self._raw("FERRUM_DTYPE"), kv_dtype=self._raw("FERRUM_KV_DTYPE"))
        validate.validate_sampling(self.hardware, greedy=greedy.value)

        memory, performance = RuntimeConfigEffect.MEMORY, RuntimeConfigEffect.PERFORMANCE
        decisions = [
            d.attention_prefill_decision(use_vllm_paged_attn, fa_layout, fa2_source, fa2_direct_ffi),
            d.attention_decode_decision(use_vllm_paged_attn, vllm_v1_short),
            d.moe_decision(vllm_moe, device_route, pair_ids),
            d.graph_decision(graph),
            d.scalar_decision("kv_block_count", kv_blocks, memory),
            d.scalar_decision("max_sequences", max_sequences, memory),
            d.scalar_decision("max_batched_tokens", max_batched_tokens, performance),
        ]
        if max_model_len is not None:
            decisions.append(d.scalar_decision("max_model_len", max_model_len, memory))
        decisions.append(d.prefix_cache_decision(prefix_cache))
        decisions.append(self._scheduler_decision())
        decisions.append(d.sampling_decision(greedy))
        return ResolvedFerrumConfig(
            schema_version=1,
            preset=self.workload.preset,
            runtime_config=self.runtime_config,
            model_capabilities=self.model,
            hardware_capabilities=self.hardware,
            workload_profile=self.workload,
            decisions=decisions,
        )

    def _scheduler_decision(self) -> AutoConfigDecision:
        entries = self._entries()
        chunk_key, until_key = "FERRUM_ACTIVE_DECODE_PREFILL_CHUNK", "FERRUM_SCHED_PREFILL_FIRST_UNTIL_ACTIVE"
        selected, source_key = "continuous_default", None
        # Rust: the selection embeds the raw text (only checked to parse), so " 64" stays " 64".
        if chunk_key in entries:
            _parse_usize(chunk_key, entries[chunk_key])
            selected, source_key = f"active_decode_prefill_chunk:{entries[chunk_key]}", chunk_key
        elif until_key in entries:
            _parse_usize(until_key, entries[until_key])
            selected, source_key = f"prefill_first_until_active:{entries[until_key]}", until_key
        elif self._bool_value("FERRUM_SCHED_PROMPT_TOKEN_ESTIMATE", False, AutoConfigSource.DEFAULT).value:
            selected, source_key = "prompt_token_estimate", "FERRUM_SCHED_PROMPT_TOKEN_ESTIMATE"
        # Rust tests the text, not the number: "00" and " 0" pass this check.
        if source_key == chunk_key and selected.endswith(":0"):
            raise UnsupportedCombination(
                "scheduler_admission_policy",
                "active decode prefill chunk must be greater than zero",
                hint=f"set {chunk_key} to a positive number of tokens, or unset it",
            )
        source = AutoConfigSource.DEFAULT
        if source_key is not None:
            source = self._source_for_key(source_key, AutoConfigSource.DEFAULT)
        return d.scheduler_decision(selected, source, source_key)


def _parse_usize(key: str, raw: str) -> int:
    try:
        return parse_usize_env_value(raw)
    except ValueError as error:
        raise InvalidOverride(key, str(error), hint=_USIZE_HINT) from None


def auto_config_source_from_runtime(entry: RuntimeConfigEntry) -> AutoConfigSource:
    """A runtime entry's source as a decision source (the runtime sources are a subset)."""
    return AutoConfigSource(entry.source.value)


def resolve_ferrum(
    runtime: RuntimeConfigSnapshot,
    model: ModelCapabilities,
    hardware: HardwareCapabilities,
    workload: WorkloadProfile,
) -> ResolvedFerrumConfig:
    """Resolve ferrum's serving config; raises `AutoConfigError` when it does not resolve."""
    return (
        FerrumConfigBuilder.new(runtime)
        .with_model_capabilities(model)
        .with_hardware_capabilities(hardware)
        .with_workload_profile(workload)
        .resolve()
    )


class PresetRecords(NamedTuple):
    model: ModelCapabilities
    hardware: HardwareCapabilities
    workload: WorkloadProfile


def m3_preset_records() -> PresetRecords:
    """The records `FerrumConfigBuilder::m3_qwen3_30b_a3b_int4` installs."""
    return PresetRecords(
        ModelCapabilities.qwen3_30b_a3b_gptq_int4(),
        HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_without_fa2()),
        WorkloadProfile.m3_qwen3_30b_a3b_int4(),
    )


PRESETS: dict[str, Callable[[], PresetRecords]] = {M3_QWEN3_30B_A3B_INT4_PRESET: m3_preset_records}
"""Presets by name, as ferrum's `--runtime-preset` knows them."""
