"""Numeric formats: the compute dtype, the KV cache dtype and the quantization method, against the GPU."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kgc_launch.hardware.capability import parse_capability
from kgc_launch.records import AutoConfigSource
from kgc_launch.vllm.context import CORRECTNESS, MEMORY, ResolveContext, capability_text
from kgc_launch.vllm.problems import Fields
from kgc_launch.vllm.rules import Rule, Variant

if TYPE_CHECKING:
    from kgc_launch.model.facts import ModelFacts

# vLLM's --dtype spellings -> the torch dtype it means.
DTYPE_ALIASES = {
    "half": "float16",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "float": "float32",
    "float32": "float32",
}
QUANT_KEY = "quantization_config.quant_method"
FP8_KV_PREFIX = "fp8"
# vLLM converts these checkpoint formats to their Marlin kernels when the GPU allows it.
MARLIN_UPGRADES = {"gptq": "gptq_marlin", "awq": "awq_marlin"}
MARLIN_MIN = (8, 0)
KV_EFFECTS = [MEMORY, CORRECTNESS]
CHECKPOINT_CONFIG_RULE = "quantization-without-checkpoint-config"


def decide_precision(ctx: ResolveContext) -> None:
    dtype = decide_dtype(ctx)
    decide_kv_cache_dtype(ctx, dtype)
    decide_quantization(ctx)


def _below(ctx: ResolveContext, variant: Variant, key: str) -> Fields | None:
    """Fields for a message when the weakest visible GPU is below the variant's capability `key`."""
    weakest = ctx.weakest_device()
    needed = parse_capability(str(variant.params.get(key)))
    if weakest is None or needed is None or weakest[1] >= needed:
        return None
    device, capability = weakest
    return {"gpu": device.name, "capability": capability_text(capability), key: capability_text(needed)}


def decide_dtype(ctx: ResolveContext) -> str:
    """The dtype vLLM will compute in; returns it (`float16`, `bfloat16`, `float32`) or `auto`."""
    requested = ctx.option_text("dtype")
    if requested is not None and requested.lower() != "auto":
        return _explicit_dtype(ctx, requested)
    checkpoint = (ctx.model.torch_dtype or "").lower() or None
    if checkpoint is None:
        ctx.note_unknown("the checkpoint's dtype")
        ctx.decide("dtype", "auto", AutoConfigSource.DEFAULT, candidates=["float16", "bfloat16"], affects=[CORRECTNESS])
        return "auto"
    if checkpoint == "bfloat16" and ctx.on_cuda and _bf16_unsupported(ctx):
        ctx.check("dtype-bf16-auto-pre-ampere", lambda variant: _below(ctx, variant, "min_capability"))
        weakest = ctx.weakest_device()
        reason = "bfloat16 needs compute capability >= 8.0"
        if weakest is not None:
            reason += f"; {weakest[0].name} has {capability_text(weakest[1])}"
        ctx.decide(
            "dtype",
            "float16",
            AutoConfigSource.HARDWARE_CAPABILITY,
            source_key="config.json torch_dtype",
            candidates=["bfloat16", "float16"],
            rejected=[("bfloat16", reason)],
            affects=[CORRECTNESS],
        )
        return "float16"
    selected = _auto_from_checkpoint(ctx, checkpoint)
    rejected = [] if selected == checkpoint else [(checkpoint, "vLLM downcasts float32 checkpoints to 16 bits")]
    ctx.decide(
        "dtype",
        selected,
        AutoConfigSource.MODEL_METADATA,
        source_key="config.json torch_dtype",
        candidates=[checkpoint],
        rejected=rejected,
        affects=[CORRECTNESS],
    )
    return selected


def _explicit_dtype(ctx: ResolveContext, requested: str) -> str:
    source, key = ctx.source_of("dtype")
    dtype = DTYPE_ALIASES.get(requested.lower())
    if dtype is None:
        accepted = ", ".join(ctx.rules.get("dtype-unknown-value").params.get("accepted", ()))
        ctx.check("dtype-unknown-value", lambda _variant: {"dtype": requested, "accepted": accepted})
        ctx.decide("dtype", requested, source, source_key=key, affects=[CORRECTNESS])
        return "auto"
    if dtype == "bfloat16" and ctx.on_cuda:
        ctx.check(
            "dtype-bf16-explicit-pre-ampere",
            lambda variant: _with(_below(ctx, variant, "min_capability"), dtype=requested),
        )
    ctx.decide("dtype", dtype, source, source_key=key, candidates=["auto", dtype], affects=[CORRECTNESS])
    return dtype


def _with(fields: Fields | None, **extra: Any) -> Fields | None:
    return None if fields is None else {**fields, **extra}


def _bf16_unsupported(ctx: ResolveContext) -> bool:
    weakest = ctx.weakest_device()
    return weakest is not None and weakest[1] < (8, 0)


def _auto_from_checkpoint(ctx: ResolveContext, checkpoint: str) -> str:
    if checkpoint in ("float16", "bfloat16"):
        return checkpoint
    if checkpoint == "float32":
        # vLLM serves float32 checkpoints in 16 bits: float16 below Ampere (and in releases before 0.9).
        return "float16" if _bf16_unsupported(ctx) or not ctx.on_cuda else "bfloat16"
    return checkpoint


def decide_kv_cache_dtype(ctx: ResolveContext, dtype: str) -> None:
    requested = ctx.option_text("kv-cache-dtype")
    if requested is None or requested == "auto":
        selected = dtype if dtype != "auto" else "auto"
        ctx.decide("kv_cache_dtype", selected, AutoConfigSource.DEFAULT, candidates=["auto"], affects=KV_EFFECTS)
        return
    source, key = ctx.source_of("kv-cache-dtype")
    if requested.startswith(FP8_KV_PREFIX) and ctx.on_cuda:
        ctx.check(
            "fp8-kv-cache-without-native-fp8",
            lambda variant: _with(_below(ctx, variant, "native_capability"), kv_cache_dtype=requested),
        )
    ctx.decide("kv_cache_dtype", requested, source, source_key=key, candidates=["auto", requested], affects=KV_EFFECTS)


def decide_quantization(ctx: ResolveContext) -> None:
    requested = (ctx.option_text("quantization") or "").lower() or None
    checkpoint = (ctx.model.quant_method or "").lower() or None
    if requested is not None and checkpoint is not None:
        _check_mismatch(ctx, requested, checkpoint)
    elif requested is not None:
        rule = ctx.rules.get(CHECKPOINT_CONFIG_RULE)
        missing = ctx.check(rule.id, lambda variant: checkpoint_config_missing(ctx.model, requested, rule, variant))
        if missing is None and checkpoint_files_unknown(ctx.model, requested, rule):
            ctx.note_unknown(f"whether the checkpoint holds a {requested} config file (its files were not listed)")
    if requested is not None:
        source, key = ctx.source_of("quantization")
        method = requested
        ctx.decide("quantization", method, source, source_key=key, candidates=[m for m in (checkpoint, method) if m])
    elif checkpoint is not None:
        method = _checkpoint_method(ctx, checkpoint)
    else:
        if ctx.model.source == "unknown":
            ctx.note_unknown("the checkpoint's quantization")
        ctx.decide("quantization", "none", AutoConfigSource.DEFAULT, affects=[CORRECTNESS, MEMORY])
        return
    if ctx.on_cuda:
        _check_capability(ctx, method)


def _checkpoint_method(ctx: ResolveContext, checkpoint: str) -> str:
    upgraded = MARLIN_UPGRADES.get(checkpoint)
    weakest = ctx.weakest_device()
    if upgraded is None or not ctx.on_cuda:
        ctx.decide("quantization", checkpoint, AutoConfigSource.MODEL_METADATA, source_key=QUANT_KEY)
        return checkpoint
    if weakest is None:
        ctx.decide(
            "quantization",
            checkpoint,
            AutoConfigSource.MODEL_METADATA,
            source_key=QUANT_KEY,
            candidates=[upgraded, checkpoint],
            rejected=[(upgraded, "compute capability unknown; vLLM picks Marlin on >= 8.0")],
        )
        return checkpoint
    if weakest[1] >= MARLIN_MIN:
        rejected = [(checkpoint, f"vLLM converts {checkpoint} checkpoints to the faster Marlin kernel on >= 8.0")]
        ctx.decide(
            "quantization",
            upgraded,
            AutoConfigSource.HARDWARE_CAPABILITY,
            source_key=QUANT_KEY,
            candidates=[upgraded, checkpoint],
            rejected=rejected,
        )
        return upgraded
    has = f"{weakest[0].name} has {capability_text(weakest[1])}"
    reason = f"Marlin needs compute capability >= 8.0 (7.5 in the newest releases); {has}"
    ctx.decide(
        "quantization",
        checkpoint,
        AutoConfigSource.HARDWARE_CAPABILITY,
        source_key=QUANT_KEY,
        candidates=[upgraded, checkpoint],
        rejected=[(upgraded, reason)],
    )
    return checkpoint


def checkpoint_config_missing(facts: ModelFacts, method: str, rule: Rule, variant: Variant) -> Fields | None:
    """Rule `quantization-without-checkpoint-config`: a pre-quantized method on a checkpoint whose config.json
    declares no quantization and whose directory holds none of the method's config files. The catalog's
    entries are originals or declare their method in config.json, so they count as listed without one."""
    names = _config_files(method, {**rule.params, **variant.params})
    if not names or facts.quant_method is not None or facts.source == "unknown":
        return None
    files = facts.json_files if facts.json_files is not None else () if facts.source == "catalog" else None
    if files is None or any(file.endswith(name) for file in files for name in names):
        return None
    model = facts.model_id or facts.source_detail or "the model"
    return {"method": method, "files": " or ".join(names), "model": f"{model} ({facts.source})"}


def checkpoint_files_unknown(facts: ModelFacts, method: str, rule: Rule) -> bool:
    """The rule above could not be judged: the checkpoint's files were not listed (read from the Hub)."""
    names = _config_files(method, rule.params)
    return bool(names) and facts.quant_method is None and facts.source == "hub" and facts.json_files is None


def _config_files(method: str, params: Mapping[str, Any]) -> list[str]:
    files: Mapping[str, list[str]] = params.get("config_files", {})
    return list(files.get(method.lower(), []))


def _check_mismatch(ctx: ResolveContext, requested: str, checkpoint: str) -> None:
    rule = ctx.rules.get("quantization-mismatch")
    compatible: Mapping[str, Any] = rule.params.get("compatible", {})
    allowed = compatible.get(checkpoint)
    if allowed is None or requested in allowed:
        return  # a checkpoint format the data has no list for is not judged
    ctx.check("quantization-mismatch", lambda _variant: {"requested": requested, "checkpoint": checkpoint})


def _check_capability(ctx: ResolveContext, method: str) -> None:
    for rule in ctx.rules.of_kind("quantization_min_capability"):
        if rule.params.get("method") == method:
            problem = ctx.check(rule.id, lambda variant: _with(_below(ctx, variant, "min_capability"), method=method))
            if problem is not None and problem.severity == "refuse":
                return  # "no native FP8" would only repeat a refusal
    for rule_id in ("fp8-weights-without-native-fp8", "nvfp4-without-native-fp4"):
        ctx.check(rule_id, lambda variant: _native(ctx, variant, method))


def _native(ctx: ResolveContext, variant: Variant, method: str) -> Fields | None:
    if method not in variant.params.get("methods", ()):
        return None
    return _with(_below(ctx, variant, "native_capability"), method=method)
