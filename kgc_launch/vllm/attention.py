"""The attention backend: one forced through VLLM_ATTENTION_BACKEND or a flag, else vLLM's own choice;
and the head sizes the CPU build's attention supports."""

from __future__ import annotations

from kgc_launch.hardware.capability import parse_capability
from kgc_launch.records import AutoConfigSource
from kgc_launch.vllm.context import PERFORMANCE, ResolveContext, capability_text
from kgc_launch.vllm.problems import Fields
from kgc_launch.vllm.rules import Variant

ENV_KEY = "VLLM_ATTENTION_BACKEND"
CUDA_BACKENDS = ["FLASH_ATTN", "FLASHINFER", "TRITON_ATTN"]


def decide_attention(ctx: ResolveContext) -> None:
    if ctx.platform == "cpu":
        _decide_cpu(ctx)
        return
    forced = _forced_backend(ctx)
    if forced is None:
        _record_vllm_choice(ctx)
        return
    backend, source, key = forced
    ctx.decide("attention_backend", backend, source, source_key=key)
    known = [str(name) for name in ctx.rules.defaults.get("attention_backends", ())]
    where = f"{key}={backend}" if source is AutoConfigSource.ENV else key
    if known and backend not in known:
        fields = {"backend": backend, "source": where, "source_key": key, "known": ", ".join(known)}
        ctx.check("attention-backend-unknown", lambda _variant: fields)
    for rule in ctx.rules.of_kind("attention_backend_capability"):
        if rule.params.get("backend") == backend and ctx.on_cuda:
            ctx.check(rule.id, lambda variant: _below(ctx, variant, backend, where, key))


def _forced_backend(ctx: ResolveContext) -> tuple[str, AutoConfigSource, str] | None:
    """A backend named on the command line wins over the (older) environment variable."""
    flag = ctx.option_text("attention-backend")
    if flag:
        source, key = ctx.source_of("attention-backend")
        return flag.upper(), source, key
    config = ctx.args.get("attention-config")
    if isinstance(config, dict) and isinstance(config.get("backend"), str):
        source, key = ctx.source_of("attention-config")
        return str(config["backend"]).upper(), source, f"{key}.backend"
    value = ctx.environ.get(ENV_KEY, "").strip()
    if value:
        return value.upper(), AutoConfigSource.ENV, ENV_KEY
    return None


def _below(ctx: ResolveContext, variant: Variant, backend: str, where: str, key: str) -> Fields | None:
    weakest = ctx.weakest_device()
    needed = parse_capability(str(variant.params.get("min_capability")))
    if weakest is None or needed is None or weakest[1] >= needed:
        return None
    device, capability = weakest
    return {
        "backend": backend,
        "source": where,
        "source_key": key,
        "gpu": device.name,
        "capability": capability_text(capability),
        "min_capability": capability_text(needed),
    }


def _record_vllm_choice(ctx: ResolveContext) -> None:
    """What vLLM picks by itself on this GPU (recorded, not passed): FlashInfer on 10.x, FlashAttention
    from 8.0, Triton below."""
    weakest = ctx.weakest_device()
    if weakest is None:
        ctx.decide("attention_backend", "auto", AutoConfigSource.DEFAULT, candidates=CUDA_BACKENDS)
        return
    capability = weakest[1]
    if ctx.model.attention == "mla":
        ctx.decide("attention_backend", "auto (an MLA backend)", AutoConfigSource.DEFAULT)
        return
    if capability[0] == 10:
        selected, rejected = "FLASHINFER", [("FLASH_ATTN", "on 10.x vLLM prefers FlashInfer")]
    elif capability >= (8, 0):
        selected, rejected = "FLASH_ATTN", [("FLASHINFER", "vLLM prefers FlashAttention below 10.x")]
    else:
        reason = f"needs compute capability >= 8.0; {weakest[0].name} has {capability_text(capability)}"
        selected, rejected = "TRITON_ATTN", [("FLASH_ATTN", reason)]
    ctx.decide(
        "attention_backend",
        selected,
        AutoConfigSource.DEFAULT,
        candidates=CUDA_BACKENDS,
        rejected=rejected,
        affects=[PERFORMANCE],
    )


def _decide_cpu(ctx: ResolveContext) -> None:
    ctx.decide("attention_backend", "CPU_ATTN", AutoConfigSource.DEFAULT, candidates=["CPU_ATTN", "TORCH_SDPA"])
    head_dim = _head_dim(ctx)
    if head_dim is None:
        ctx.note_unknown("the model's head size")
        return
    ctx.check("cpu-attention-head-size", lambda variant: _head_size_unsupported(variant, head_dim))


def _head_size_unsupported(variant: Variant, head_dim: int) -> Fields | None:
    supported = [int(size) for size in variant.params.get("head_sizes", ())]
    if head_dim in supported:
        return None
    return {"head_dim": head_dim, "supported": ", ".join(map(str, supported))}


def _head_dim(ctx: ResolveContext) -> int | None:
    model = ctx.model
    if model.head_dim:
        return model.head_dim
    if model.capabilities.head_dim:
        return model.capabilities.head_dim
    if model.hidden_size and model.num_attention_heads:
        return model.hidden_size // model.num_attention_heads
    return None
