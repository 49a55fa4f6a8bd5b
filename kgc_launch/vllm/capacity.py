"""Memory and length: max_model_len, the memory plan, free memory at start, and the scheduler defaults
vLLM sizes from GPU memory (`max_num_seqs`, `max_num_batched_tokens`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

from kgc_launch.errors import InputError
from kgc_launch.hardware.inventory import Device
from kgc_launch.model.facts import MemoryPlan
from kgc_launch.records import AutoConfigSource
from kgc_launch.units import GIB
from kgc_launch.versions import EngineVersion, parse_range
from kgc_launch.vllm.context import MEMORY, PERFORMANCE, ResolveContext
from kgc_launch.vllm.parallel import mig_parent_memory
from kgc_launch.vllm.problems import NO_FIX

DEFAULT_UTILIZATION = 0.9
MIN_SUGGESTED_UTILIZATION = 0.05


def decide_capacity(ctx: ResolveContext) -> None:
    """Decide the length, the utilization and the scheduler limits, then plan memory from what was decided."""
    max_model_len = decide_max_model_len(ctx)
    utilization = decide_utilization(ctx)
    seqs = decide_scheduler_defaults(ctx, max_model_len)
    ctx.memory_plan = plan_memory(ctx, max_model_len, utilization)
    _check_memory_plan(ctx, max_model_len)
    _check_mig_memory(ctx, seqs)


def plan_memory(ctx: ResolveContext, max_model_len: int | None, utilization: float) -> MemoryPlan | None:
    """vLLM's memory accounting with the values this resolution decided, on the smallest GPU the engine uses
    (its first TP x PP devices: every rank gets the same number of blocks). None when it cannot be made."""
    from kgc_launch.vllm.memory import plan_vllm_memory

    if ctx.model.source == "unknown" or not ctx.on_cuda:
        return None
    numbers = {name: _resolved_int(ctx, name) for name in _PLANNED}
    if None in numbers.values():
        return None  # a value vLLM would reject: its own rule refuses it
    tp, pp = numbers["tensor_parallel_size"] or 1, numbers["pipeline_parallel_size"] or 1
    used = ctx.devices[: tp * pp]
    sized = [device for device in used if device.memory_total_bytes]
    if not sized or len(sized) < len(used) or len(used) < tp * pp:
        return None  # too few GPUs, or one of unknown size: the device rules say which
    smallest = min(sized, key=lambda device: device.memory_total_bytes or 0)
    kv_dtype = ctx.args.get("kv-cache-dtype")
    try:
        return plan_vllm_memory(
            ctx.model,
            smallest.memory_total_bytes or 0,
            tensor_parallel_size=tp,
            pipeline_parallel_size=pp,
            max_model_len=max_model_len,  # None (auto): the model's own maximum
            gpu_memory_utilization=utilization,
            kv_cache_dtype=kv_dtype if isinstance(kv_dtype, str) else "auto",
            max_num_seqs=numbers["max_num_seqs"] or 1,
            max_num_batched_tokens=numbers["max_num_batched_tokens"] or 1,
            vllm_version=ctx.version.text if ctx.version is not None else None,
            enforce_eager=ctx.args.get("enforce-eager") is True,
            pp_layer_partition=ctx.environ.get("VLLM_PP_LAYER_PARTITION"),
        )
    except ValueError:
        # Out of range (a utilization of 1.5, an unknown KV dtype) or unknowable (a model without a maximum
        # length, and none given): no plan; the resolver's own rules judge the values.
        return None
    except InputError as error:  # the model's facts lack what the KV cache size depends on
        ctx.note_unknown(f"the memory plan ({error.message})")
        return None


_PLANNED = ("tensor_parallel_size", "pipeline_parallel_size", "max_num_seqs", "max_num_batched_tokens")


def _resolved_int(ctx: ResolveContext, selection: str) -> int | None:
    try:
        value = int(ctx.resolved.get(selection, "1" if selection.endswith("parallel_size") else ""))
    except ValueError:
        return None
    return value if value > 0 else None


def derived_max_model_len(ctx: ResolveContext) -> tuple[int, str] | None:
    """The model's own maximum and where it comes from (the model reader's derived value first)."""
    if ctx.model.capabilities.max_context_len:
        return ctx.model.capabilities.max_context_len, "the model's derived context length"
    if ctx.model.max_position_embeddings:
        return ctx.model.max_position_embeddings, "max_position_embeddings in config.json"
    return None


def decide_max_model_len(ctx: ResolveContext) -> int | None:
    requested = ctx.option_int("max-model-len", example="8192")
    derived = derived_max_model_len(ctx)
    if derived is None:
        ctx.note_unknown("the model's maximum context length")
    if requested is None or requested < 0:
        if requested is not None:  # `auto` / -1: vLLM fits the length to memory itself
            source, key = ctx.source_of("max-model-len")
            ctx.decide("max_model_len", "auto", source, source_key=key, affects=[MEMORY])
            return None
        if derived is None:
            ctx.decide("max_model_len", "model maximum (unknown)", AutoConfigSource.DEFAULT, affects=[MEMORY])
            return None
        source_key = derived[1]
        ctx.decide(
            "max_model_len", str(derived[0]), AutoConfigSource.MODEL_METADATA, source_key=source_key, affects=[MEMORY]
        )
        return derived[0]
    source, key = ctx.source_of("max-model-len")
    rejected: list[tuple[str, str]] = []
    if derived is not None and requested > derived[0]:
        override = ctx.rules.get("max-model-len-over-derived").variants[0].params.get("override_env", "")
        if ctx.environ.get(str(override)) == "1":
            rejected.append((str(derived[0]), f"{override}=1 allows a longer length"))
        else:
            fields = {"max_model_len": requested, "derived": derived[0], "derived_from": derived[1]}
            ctx.check("max-model-len-over-derived", lambda _variant: fields)
    ctx.decide("max_model_len", str(requested), source, source_key=key, rejected=rejected, affects=[MEMORY])
    return requested


def _check_memory_plan(ctx: ResolveContext, max_model_len: int | None) -> None:
    plan = ctx.memory_plan
    if plan is None:
        return
    if plan.fits:
        ctx.decide(
            "kv_cache_capacity_tokens",
            str(plan.kv_capacity_tokens),
            AutoConfigSource.MEMORY_PROFILE,
            candidates=[],
            affects=[MEMORY],
        )
        return
    largest = plan.largest_fitting_max_model_len
    if largest:
        fields = {"max_model_len": max_model_len or plan.max_model_len, "largest": largest}
        ctx.check("kv-cache-does-not-fit", lambda _variant: fields)
        return
    reason = plan.reason or "the weights and activations leave no memory for the KV cache on each GPU"
    ctx.check("weights-do-not-fit", lambda _variant: {"reason": reason})


def decide_utilization(ctx: ResolveContext) -> float:
    requested = ctx.option_float("gpu-memory-utilization", example="0.9")
    default = default_utilization(ctx.rules.defaults.get("gpu_memory_utilization", DEFAULT_UTILIZATION), ctx.version)
    if requested is None:
        utilization = default
        ctx.decide("gpu_memory_utilization", str(utilization), AutoConfigSource.DEFAULT, affects=[MEMORY])
    else:
        utilization = requested
        source, key = ctx.source_of("gpu-memory-utilization")
        ctx.decide("gpu_memory_utilization", str(utilization), source, source_key=key, affects=[MEMORY])
    if ctx.on_cuda and 0 < utilization <= 1:
        _check_free_memory(ctx, utilization)
    return utilization


def default_utilization(entry: object, version: EngineVersion | None) -> float:
    """vLLM's default gpu_memory_utilization for `version`: a number, or `{"by_version": [{"versions": RANGE,
    "value": X}], "unknown_version": X}` (0.9 up to 0.19, 0.92 from 0.20: registry/vllm-rules.json)."""
    if not isinstance(entry, dict):
        return float(cast(float, entry))
    release = version.release if version is not None else None
    if release is not None:
        for item in entry.get("by_version", ()):
            if parse_range(str(item["versions"])).contains(_normalized(release)):
                return float(item["value"])
    return float(entry["unknown_version"])


def _normalized(release: tuple[int, ...]) -> tuple[int, ...]:
    parts = list(release)
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _check_free_memory(ctx: ResolveContext, utilization: float) -> None:
    """vLLM's start-up check on each rank; one problem for the tightest device, one warning for unknowns."""
    unknown: list[str] = []
    short: list[tuple[float, int, Device]] = []
    for position, device in enumerate(ctx.devices):
        total, free = device.memory_total_bytes, device.memory_free_bytes
        if total is None:
            continue
        if free is None:
            unknown.append(f"cuda:{position} ({device.name})")
        elif free < utilization * total:
            short.append((free / total, position, device))
    if short:
        _refuse_short(ctx, min(short, key=lambda item: item[0]), utilization)
    if unknown:
        total_gib = max((d.memory_total_bytes or 0) for d in ctx.devices) / GIB
        names = ", ".join(unknown) if len(unknown) <= 2 else f"{len(unknown)} devices ({unknown[0]}, ...)"
        fields = {"device": names, "utilization": utilization, "total_gib": total_gib}
        ctx.check("free-memory-unknown", lambda _variant: fields)


def _refuse_short(ctx: ResolveContext, tightest: tuple[float, int, Device], utilization: float) -> None:
    ratio, position, device = tightest
    total = device.memory_total_bytes or 0
    suggested = math.floor((ratio - 0.01) * 100) / 100
    fields: dict[str, Any] = {
        "device": f"cuda:{position}",
        "free_gib": ratio * total / GIB,
        "total_gib": total / GIB,
        "utilization": utilization,
        "wanted_gib": utilization * total / GIB,
        "suggested": f"{suggested:.2f}",
    }
    if suggested < MIN_SUGGESTED_UTILIZATION:
        fields[NO_FIX] = True
    ctx.check("free-memory-below-utilization", lambda _variant: fields)


def decide_scheduler_defaults(ctx: ResolveContext, max_model_len: int | None) -> int | None:
    """Record `max_num_seqs` and `max_num_batched_tokens`: the user's, or what vLLM will pick by itself."""
    user_seqs = ctx.option_int("max-num-seqs", example="256")
    user_tokens = ctx.option_int("max-num-batched-tokens", example="8192")
    for option, value in (("max-num-seqs", user_seqs), ("max-num-batched-tokens", user_tokens)):
        if value is not None:
            source, key = ctx.source_of(option)
            ctx.decide(option.replace("-", "_"), str(value), source, source_key=key, affects=[PERFORMANCE, MEMORY])
    if user_seqs is not None and user_tokens is not None:
        return user_seqs
    picked = _vllm_scheduler_pick(ctx)
    if picked is None:
        return user_seqs
    seqs, tokens, why, alternatives = picked
    v0_rule = _v0_batched_tokens(ctx)
    if user_tokens is None and v0_rule is not None and max_model_len is not None:
        # V0: a whole prompt per step, unless the context is long enough for chunked prefill.
        long_context = max_model_len > int(v0_rule["chunked_above_max_model_len"])
        tokens = int(v0_rule["chunked_tokens"]) if long_context else max(max_model_len, int(v0_rule["min_tokens"]))
        ctx.decide("max_num_batched_tokens", str(tokens), AutoConfigSource.DEFAULT, affects=[PERFORMANCE, MEMORY])
    elif user_tokens is None:
        if max_model_len is not None and (user_seqs or seqs) * max_model_len < tokens:
            tokens = (user_seqs or seqs) * max_model_len
        ctx.decide(
            "max_num_batched_tokens",
            str(tokens),
            AutoConfigSource.DEFAULT,
            rejected=alternatives["tokens"],
            affects=[PERFORMANCE, MEMORY],
        )
    if user_seqs is None:
        seqs = min(seqs, user_tokens or tokens)
        ctx.decide(
            "max_num_seqs",
            str(seqs),
            AutoConfigSource.DEFAULT,
            source_key=why,
            rejected=alternatives["seqs"],
            affects=[PERFORMANCE, MEMORY],
        )
        return seqs
    return user_seqs


def _v0_batched_tokens(ctx: ResolveContext) -> Mapping[str, Any] | None:
    found = _scheduler_data(ctx)
    rule: Mapping[str, Any] | None = None if found is None else found[0].get("v0_batched_tokens")
    return rule


def _scheduler_data(ctx: ResolveContext) -> tuple[Mapping[str, Any], str] | None:
    scheduler: Mapping[str, Any] = ctx.rules.defaults.get("scheduler", {})
    variants = scheduler.get("variants", ())
    if not variants:
        return None
    release = ctx.version.release if ctx.version is not None and ctx.version.known else None
    for variant in variants:
        if release is not None and parse_range(str(variant.get("versions", ""))).contains(release):
            return variant, ""
    # Unknown or uncovered version: the newest tiers known, said to be an assumption.
    return variants[-1], f"assumed vLLM {variants[-1].get('versions', '')} tiers"


def _vllm_scheduler_pick(ctx: ResolveContext) -> tuple[int, int, str, dict[str, list[tuple[str, str]]]] | None:
    found = _scheduler_data(ctx)
    if found is None:
        return None
    data, assumption = found
    world = int(ctx.resolved.get("tensor_parallel_size", "1")) * int(ctx.resolved.get("pipeline_parallel_size", "1"))
    if ctx.platform == "cpu":
        cpu = data.get("cpu", {})
        seqs = int(cpu.get("max_num_seqs_per_rank", 128)) * world
        tokens = int(cpu.get("max_num_batched_tokens_per_rank", 2048)) * world
        return seqs, tokens, _join("CPU platform", assumption), {"seqs": [], "tokens": []}
    device = ctx.devices[0] if ctx.devices else None
    memory, basis = _memory_vllm_reads(ctx, device)
    tiers = list(data.get("tiers", ()))
    if not tiers:
        return None
    chosen = next((tier for tier in tiers if _tier_matches(tier, memory, device)), tiers[-1])
    others = [tier for tier in tiers if tier is not chosen]
    seqs_rejected = [(str(t["max_num_seqs"]), _tier_reason(t)) for t in others]
    tokens_rejected = [(str(t["max_num_batched_tokens"]), _tier_reason(t)) for t in others]
    why = _join(basis, assumption)
    rejected = {"seqs": seqs_rejected, "tokens": tokens_rejected}
    return int(chosen["max_num_seqs"]), int(chosen["max_num_batched_tokens"]), why, rejected


def _memory_vllm_reads(ctx: ResolveContext, device: Device | None) -> tuple[int | None, str]:
    if device is None:
        ctx.note_unknown("the GPU memory vLLM sizes its defaults from")
        return None, "GPU memory unknown (vLLM then uses its smallest tier)"
    if device.mig is not None:
        parent = mig_parent_memory(ctx, device)
        if parent is not None:
            return parent, f"the parent GPU's {parent / GIB:.0f} GiB (vLLM reads a MIG slice's parent, PR #41776)"
        return device.memory_total_bytes, "the slice's memory (the parent's, which vLLM reads, is unknown)"
    total = device.memory_total_bytes
    return total, "GPU memory unknown" if total is None else f"{device.name}, {total / GIB:.0f} GiB"


def _tier_matches(tier: Mapping[str, Any], memory: int | None, device: Device | None) -> bool:
    if memory is None:
        return int(tier.get("min_memory_gib", 0)) == 0
    name = (device.name if device is not None else "").lower()
    excluded = any(word in name for word in tier.get("exclude_names", ()))
    return memory >= int(tier.get("min_memory_gib", 0)) * GIB and not excluded


def _tier_reason(tier: Mapping[str, Any]) -> str:
    reason = f"vLLM's tier for >= {tier.get('min_memory_gib', 0)} GiB"
    excluded = tier.get("exclude_names") or []
    return reason + (f" (not {', '.join(excluded)})" if excluded else "")


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _check_mig_memory(ctx: ResolveContext, seqs: int | None) -> None:
    if not ctx.on_cuda:
        return
    for device in ctx.devices:
        if device.mig is None:
            continue
        parent = mig_parent_memory(ctx, device)
        fields: dict[str, Any] = {
            "device": device.name,
            "slice_gib": (device.memory_total_bytes or 0) / GIB,
            "parent": "" if parent is None else f" ({parent / GIB:.0f} GiB)",
            "max_num_seqs": _slice_tier_seqs(ctx, device),
        }
        if ctx.args.has("max-num-seqs") or fields["max_num_seqs"] is None or fields["max_num_seqs"] == seqs:
            fields[NO_FIX] = True
        _warn_mig(ctx, fields)
        return  # one warning for all slices: the cause is the same


def _warn_mig(ctx: ResolveContext, fields: dict[str, Any]) -> None:
    ctx.check("mig-slice-memory-read-as-parent", lambda _variant: fields)


def _slice_tier_seqs(ctx: ResolveContext, device: Device) -> int | None:
    """max_num_seqs vLLM would pick if it read the slice's own memory."""
    found = _scheduler_data(ctx)
    if found is None or device.memory_total_bytes is None:
        return None
    tiers = list(found[0].get("tiers", ()))
    chosen = next((tier for tier in tiers if _tier_matches(tier, device.memory_total_bytes, device)), None)
    return None if chosen is None else int(chosen["max_num_seqs"])
