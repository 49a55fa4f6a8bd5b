"""The decisions ferrum's resolver records: one per selection, with candidates and rejection reasons.

Each function is the same-named method of `FerrumConfigBuilder` in `auto_config.rs`; candidate lists,
rejection reasons and `affects` are copied verbatim because they end up in the artifacts byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from kgc_launch.records import AutoConfigDecision, AutoConfigSource, RejectedCandidate
from kgc_launch.runtime import RuntimeConfigEffect

T = TypeVar("T")

CORRECTNESS = RuntimeConfigEffect.CORRECTNESS
PERFORMANCE = RuntimeConfigEffect.PERFORMANCE
MEMORY = RuntimeConfigEffect.MEMORY


@dataclass(frozen=True)
class ResolvedValue(Generic[T]):
    """A value with where it came from: a runtime key (`source_key`) or a default with its source."""

    value: T
    source: AutoConfigSource
    source_key: str | None = None


def decision(
    selection: str,
    selected: str,
    source: AutoConfigSource,
    source_key: str | None,
    candidates: Iterable[str],
    rejected: list[RejectedCandidate],
    affects: list[RuntimeConfigEffect],
) -> AutoConfigDecision:
    """One decision record (trusted input: built without validation)."""
    return AutoConfigDecision(
        schema_version=1,
        selection=selection,
        selected=selected,
        source=source,
        source_key=source_key,
        candidates=list(candidates),
        rejected=rejected,
        affects=affects,
    )


def rejected_except(selected: str, candidates: Sequence[tuple[str, str]]) -> list[RejectedCandidate]:
    """Every candidate but the selected one, each with its fixed rejection reason."""
    return [RejectedCandidate(value=value, reason=reason) for value, reason in candidates if value != selected]


def attention_prefill_decision(
    use_vllm_paged_attn: ResolvedValue[bool],
    fa_layout: ResolvedValue[bool],
    fa2_source: ResolvedValue[bool],
    fa2_direct_ffi: ResolvedValue[bool],
) -> AutoConfigDecision:
    """The prefill attention path, highest priority first."""
    chosen: tuple[str, ResolvedValue[bool]] | None = None
    for name, flag in (
        ("fa2_source", fa2_source),
        ("fa2_direct_ffi", fa2_direct_ffi),
        ("fa_layout_varlen", fa_layout),
        ("vllm_paged_varlen", use_vllm_paged_attn),
    ):
        if flag.value:
            chosen = (name, flag)
            break
    if chosen is None:
        selected, source, source_key = "legacy_paged_varlen", AutoConfigSource.DEFAULT, None
    else:
        selected, source, source_key = chosen[0], chosen[1].source, chosen[1].source_key
    return decision(
        "attention_prefill_mixed_backend",
        selected,
        source,
        source_key,
        ["fa2_source", "fa2_direct_ffi", "fa_layout_varlen", "vllm_paged_varlen", "legacy_paged_varlen"],
        rejected_except(
            selected,
            [
                ("fa2_source", "source-linked FA2 path not selected"),
                ("fa2_direct_ffi", "diagnostic direct FFI shim not selected"),
                ("fa_layout_varlen", "FA-compatible layout not selected"),
                ("vllm_paged_varlen", "vLLM paged varlen bridge not selected"),
                ("legacy_paged_varlen", "a higher-priority attention path was selected"),
            ],
        ),
        [PERFORMANCE, MEMORY],
    )


def attention_decode_decision(
    use_vllm_paged_attn: ResolvedValue[bool], vllm_v1_short: ResolvedValue[bool]
) -> AutoConfigDecision:
    """The decode attention kernel."""
    if use_vllm_paged_attn.value:
        # Rust: both vLLM kernels report the v1-short flag's provenance, even when v2 is selected.
        selected = "vllm_paged_attn_v1_short" if vllm_v1_short.value else "vllm_paged_attn_v2"
        source, source_key = vllm_v1_short.source, vllm_v1_short.source_key
    else:
        # Rust: the source of the paged-attention flag, but never its key.
        selected, source, source_key = "legacy_paged_decode", use_vllm_paged_attn.source, None
    return decision(
        "attention_decode_backend",
        selected,
        source,
        source_key,
        ["vllm_paged_attn_v1_short", "vllm_paged_attn_v2", "legacy_paged_decode"],
        rejected_except(
            selected,
            [
                ("vllm_paged_attn_v1_short", "short-context v1 decode not selected"),
                ("vllm_paged_attn_v2", "v2 decode not selected"),
                ("legacy_paged_decode", "legacy decode not selected"),
            ],
        ),
        [PERFORMANCE],
    )


def moe_decision(
    vllm_moe: ResolvedValue[bool], device_route: ResolvedValue[bool], pair_ids: ResolvedValue[bool]
) -> AutoConfigDecision:
    """The MoE implementation; its provenance is always the vLLM-MoE flag's."""
    if vllm_moe.value and device_route.value and pair_ids.value:
        selected = "vllm_marlin_moe_device_route_pair_ids"
    elif vllm_moe.value and device_route.value:
        selected = "vllm_marlin_moe_device_route"
    elif vllm_moe.value:
        selected = "vllm_marlin_moe"
    else:
        selected = "legacy_moe"
    return decision(
        "moe_implementation",
        selected,
        vllm_moe.source,
        vllm_moe.source_key,
        [
            "vllm_marlin_moe_device_route_pair_ids",
            "vllm_marlin_moe_device_route",
            "vllm_marlin_moe",
            "legacy_moe",
        ],
        rejected_except(
            selected,
            [
                ("vllm_marlin_moe_device_route_pair_ids", "pair-id device route not selected"),
                ("vllm_marlin_moe_device_route", "device-route MoE not selected"),
                ("vllm_marlin_moe", "vLLM Marlin MoE not selected"),
                ("legacy_moe", "legacy MoE not selected"),
            ],
        ),
        [PERFORMANCE],
    )


def _on_off_decision(
    selection: str,
    flag: ResolvedValue[bool],
    on: tuple[str, str],
    off: tuple[str, str],
    affects: list[RuntimeConfigEffect],
) -> AutoConfigDecision:
    """A two-way choice driven by one flag; `on`/`off` are (value, reason it is rejected when not chosen)."""
    selected = on[0] if flag.value else off[0]
    candidates = [on[0], off[0]]
    return decision(
        selection,
        selected,
        flag.source,
        flag.source_key,
        candidates,
        rejected_except(selected, [on, off]),
        affects,
    )


def graph_decision(graph: ResolvedValue[bool]) -> AutoConfigDecision:
    """Whether MoE decode is captured in a CUDA graph."""
    return _on_off_decision(
        "moe_graph_policy",
        graph,
        ("graph_clean_decode", "graph decode not selected"),
        ("graph_disabled", "graph decode selected"),
        [PERFORMANCE, CORRECTNESS],
    )


def scalar_decision(selection: str, value: ResolvedValue[int], effect: RuntimeConfigEffect) -> AutoConfigDecision:
    """A sized value: the only candidate is the value itself, nothing is rejected."""
    text = str(value.value)
    return decision(selection, text, value.source, value.source_key, [text], [], [effect])


def prefix_cache_decision(prefix_cache: ResolvedValue[bool]) -> AutoConfigDecision:
    """Whether prefix caching is on."""
    return _on_off_decision(
        "prefix_cache_policy",
        prefix_cache,
        ("prefix_cache_enabled", "prefix cache not selected"),
        ("prefix_cache_disabled", "prefix cache enabled"),
        [CORRECTNESS, PERFORMANCE, MEMORY],
    )


def scheduler_decision(selected: str, source: AutoConfigSource, source_key: str | None) -> AutoConfigDecision:
    """The admission policy. Rust lists candidate families, not values, and rejects none."""
    return decision(
        "scheduler_admission_policy",
        selected,
        source,
        source_key,
        [
            "continuous_default",
            "prompt_token_estimate",
            "prefill_first_until_active",
            "active_decode_prefill_chunk",
        ],
        [],
        [PERFORMANCE],
    )


def sampling_decision(greedy: ResolvedValue[bool]) -> AutoConfigDecision:
    """Whether greedy sampling reads back one token id (GPU argmax) or the whole logits row."""
    return _on_off_decision(
        "sampling_readback_path",
        greedy,
        ("gpu_greedy_argmax", "GPU argmax not selected"),
        ("logits_readback", "logits readback not selected"),
        [PERFORMANCE, CORRECTNESS],
    )
