"""Default sizes ferrum derives when no runtime key sets them: sequences, KV blocks, batched tokens.

Rust computes these in `usize`/`u64` with saturating arithmetic and `checked_mul`; Python integers do not
overflow, so the helpers below clamp or give up exactly where Rust would.
"""

from __future__ import annotations

from kgc_launch.ferrum.decisions import ResolvedValue
from kgc_launch.records import (
    AutoConfigSource,
    HardwareCapabilities,
    ModelCapabilities,
    WorkloadProfile,
    vram_default_max_sequences,
)
from kgc_launch.units import GIB

DEFAULT_KV_BLOCK_SIZE_TOKENS = 16
DEFAULT_KV_BLOCKS = 2048
USIZE_MAX = U64_MAX = 2**64 - 1  # ferrum's targets are 64-bit


def saturating_mul(a: int, b: int, limit: int = USIZE_MAX) -> int:
    return min(a * b, limit)


def saturating_add(a: int, b: int, limit: int = U64_MAX) -> int:
    return min(a + b, limit)


def saturating_sub(a: int, b: int) -> int:
    return max(a - b, 0)


def checked_mul(a: int | None, b: int, limit: int = U64_MAX) -> int | None:
    """`a.checked_mul(b)`: None when the product does not fit (or `a` is already None)."""
    if a is None or a * b > limit:
        return None
    return a * b


def ceil_div(value: int, divisor: int) -> int:
    """`usize::div_ceil`."""
    return -(-value // divisor)


def _source(selected: int, target: int) -> AutoConfigSource:
    # Shrunk below what the workload asked for: the hardware decided, else the workload preset did.
    return AutoConfigSource.HARDWARE_CAPABILITY if selected < target else AutoConfigSource.WORKLOAD_PRESET


def default_max_sequences(workload: WorkloadProfile, hardware: HardwareCapabilities) -> ResolvedValue[int]:
    """The workload's concurrency, capped for the M3 preset by SM count and by VRAM tier."""
    target = max(workload.target_concurrency, 1)
    selected = target
    if workload.is_m3_preset():
        if hardware.sm_count is not None:
            # The M3 throughput preset assumes a large GPU. On smaller known GPUs, avoid auto-selecting a
            # c32-sized admission window before memory profiling has a chance to refine KV (seed).
            selected = min(selected, max(hardware.sm_count // 4, 1))
        if hardware.vram_bytes is not None:
            selected = min(selected, vram_default_max_sequences(hardware.vram_bytes))
    return ResolvedValue(max(selected, 1), _source(selected, target))


def kv_cache_bytes_per_token(model: ModelCapabilities) -> int | None:
    """K and V, fp16, over all layers; None when a dimension is unknown or the product overflows u64."""
    if model.num_hidden_layers is None or model.kv_heads is None or model.head_dim is None:
        return None
    size = checked_mul(model.num_hidden_layers, 2)
    size = checked_mul(size, model.kv_heads)
    size = checked_mul(size, model.head_dim)
    return checked_mul(size, 2)


def default_kv_blocks(
    max_sequences: ResolvedValue[int], hardware: HardwareCapabilities, model: ModelCapabilities
) -> ResolvedValue[int]:
    """2048 blocks, or fewer when VRAM minus weights minus headroom cannot hold them."""
    min_blocks = ceil_div(max(max_sequences.value, 1), DEFAULT_KV_BLOCK_SIZE_TOKENS)
    target = max(DEFAULT_KV_BLOCKS, min_blocks)
    selected = target
    vram_bytes, weight_bytes = hardware.vram_bytes, model.estimated_weight_bytes
    kv_bytes_per_token = kv_cache_bytes_per_token(model)
    if (
        vram_bytes is not None
        and weight_bytes is not None
        and kv_bytes_per_token is not None
        and kv_bytes_per_token > 0
    ):
        headroom = max(vram_bytes // 10, 2 * GIB)
        available = saturating_sub(vram_bytes, saturating_add(weight_bytes, headroom))
        block_budget = (available // kv_bytes_per_token) // DEFAULT_KV_BLOCK_SIZE_TOKENS
        selected = min(target, max(block_budget, min_blocks))
    return ResolvedValue(max(selected, 1), _source(selected, target))


def default_max_batched_tokens(max_sequences: ResolvedValue[int], kv_blocks: ResolvedValue[int]) -> ResolvedValue[int]:
    """64 tokens per sequence, within the KV capacity, never below one token per sequence."""
    floor = max(max_sequences.value, 1)
    kv_token_capacity = max(saturating_mul(kv_blocks.value, DEFAULT_KV_BLOCK_SIZE_TOKENS), floor)
    value = max(min(saturating_mul(floor, 64), kv_token_capacity), floor)
    hardware = AutoConfigSource.HARDWARE_CAPABILITY
    source = hardware if hardware in (max_sequences.source, kv_blocks.source) else AutoConfigSource.WORKLOAD_PRESET
    return ResolvedValue(value, source)
