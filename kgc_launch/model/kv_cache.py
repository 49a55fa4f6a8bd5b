"""KV cache bytes per token and how vLLM's KV cache manager lays layers out in blocks. Pure arithmetic.

Per layer and token (`vllm/v1/kv_cache_interface.py`, `AttentionSpec.page_size_bytes`):
standard / GQA attention stores K and V, `2 x kv_heads x head_dim x dtype_bytes`, with the KV heads split
over tensor-parallel ranks but never below one per rank (`max(1, total_kv_heads // tp)`, replicated when
there are fewer heads than ranks); MLA stores one latent of `kv_lora_rank + qk_rope_head_dim` values
(`use_mla`: no factor 2) that every rank keeps whole.

Hybrid layouts (`vllm/v1/core/kv_cache_utils.py`, `_get_kv_cache_groups_uniform_page_size`): layers of
one kind form groups of equal size (the smaller kind's count, or the larger one's when it is less than
1.5 times the smaller), padded to full groups; all groups share one pool of blocks. A sliding-window layer
needs `cdiv(min(window - 1 + max_num_batched_tokens, max_model_len), block) + 1` blocks per request
(`SlidingWindowSpec.max_memory_usage_bytes`); a full-attention layer `cdiv(max_model_len, block)`.
Linear-attention layers (Qwen3-Next's gated delta net) keep a fixed state per sequence instead
(`vllm/model_executor/layers/mamba/mamba_utils.py`, `gated_delta_net_state_shape`: a conv state of
`(2 x key_dim + value_dim) / tp x (kernel - 1)` and a recurrent state of `value_heads / tp x
key_head_dim x value_head_dim`).
"""

from __future__ import annotations

from dataclasses import dataclass

from kgc_launch.errors import InputError
from kgc_launch.model.facts import ModelFacts

BLOCK_SIZE = 16
"""vLLM's default `--block-size` on CUDA (`vllm/config/cache.py`)."""

KV_CACHE_DTYPES: dict[str, int | None] = {
    "auto": None,  # the model dtype
    "bfloat16": 2,
    "float16": 2,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
}
"""`--kv-cache-dtype` choices this plan models -> bytes per element (None: the model's dtype)."""


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def model_dtype_bytes(facts: ModelFacts) -> int:
    """Bytes per element vLLM computes and caches in with `--dtype auto`: 2. bf16/fp16 checkpoints run as
    they are; fp32 checkpoints are downcast to 16 bits (`vllm/config/model.py`, `_get_and_verify_dtype`)."""
    del facts  # every checkpoint dtype resolves to 16 bits under `--dtype auto`
    return 2


def kv_element_bytes(facts: ModelFacts, kv_cache_dtype: str) -> int:
    if kv_cache_dtype not in KV_CACHE_DTYPES:
        raise ValueError(f"unknown kv cache dtype {kv_cache_dtype!r}")
    explicit = KV_CACHE_DTYPES[kv_cache_dtype]
    return explicit if explicit is not None else model_dtype_bytes(facts)


@dataclass(frozen=True)
class KvLayout:
    """One GPU's share of the KV cache: bytes per token and layer, and the layer groups that share blocks."""

    token_bytes_per_layer: int
    full_layers: int
    sliding_layers: int
    sliding_window: int | None
    group_size: int
    full_groups: int
    sliding_groups: int
    state_bytes_per_sequence: int
    block_size: int = BLOCK_SIZE

    @property
    def groups(self) -> int:
        return self.full_groups + self.sliding_groups

    @property
    def block_bytes(self) -> int:
        """Memory behind one block id: one page in each of `group_size` layer tensors."""
        return self.token_bytes_per_layer * self.block_size * self.group_size

    def blocks_per_request(self, max_model_len: int, max_num_batched_tokens: int) -> int:
        full = self.full_groups * cdiv(max_model_len, self.block_size)
        if not self.sliding_groups or self.sliding_window is None:
            return full
        span = min(self.sliding_window - 1 + max_num_batched_tokens, max_model_len)
        return full + self.sliding_groups * (cdiv(span, self.block_size) + 1)

    def bytes_per_request(self, max_model_len: int, max_num_batched_tokens: int) -> int:
        blocks = self.blocks_per_request(max_model_len, max_num_batched_tokens)
        return blocks * self.block_bytes + self.state_bytes_per_sequence


def token_bytes_per_layer(facts: ModelFacts, tensor_parallel_size: int, kv_cache_dtype: str) -> int:
    _refuse_unmodelled(facts)
    element = kv_element_bytes(facts, kv_cache_dtype)
    if facts.attention == "mla":
        if facts.kv_lora_rank is None or facts.qk_rope_head_dim is None:
            raise _missing("kv_lora_rank / qk_rope_head_dim", facts)
        return (facts.kv_lora_rank + facts.qk_rope_head_dim) * element
    if facts.num_kv_heads is None or facts.head_dim is None:
        raise _missing("num_key_value_heads / head_dim", facts)
    heads_per_rank = max(1, facts.num_kv_heads // tensor_parallel_size)
    return 2 * heads_per_rank * facts.head_dim * element


def kv_layout(
    facts: ModelFacts,
    *,
    tensor_parallel_size: int = 1,
    pipeline_parallel_size: int = 1,
    kv_cache_dtype: str = "auto",
    block_size: int = BLOCK_SIZE,
    stage_layers: int | None = None,
) -> KvLayout:
    """The per-GPU KV layout; with pipeline parallelism, of the stage of `stage_layers` decoder layers (each
    kind of layer in proportion; exact for uniform models), or without it of the stage holding the most."""
    _refuse_unmodelled(facts)
    if facts.num_hidden_layers is None:
        raise _missing("num_hidden_layers", facts)
    kv_layers = facts.kv_cache_layers if facts.kv_cache_layers is not None else facts.num_hidden_layers
    sliding = facts.sliding_window_layers or 0
    if stage_layers is not None:
        total = facts.num_hidden_layers
        full = cdiv((kv_layers - sliding) * stage_layers, total)
        sliding = cdiv(sliding * stage_layers, total)
        linear_share = (stage_layers, total)
    else:
        full = cdiv(kv_layers - sliding, pipeline_parallel_size)
        sliding = cdiv(sliding, pipeline_parallel_size)
        linear_share = (1, pipeline_parallel_size)
    group_size, full_groups, sliding_groups = _groups(full, sliding)
    layout = KvLayout(
        token_bytes_per_layer=token_bytes_per_layer(facts, tensor_parallel_size, kv_cache_dtype),
        full_layers=full,
        sliding_layers=sliding,
        sliding_window=facts.sliding_window if sliding else None,
        group_size=group_size,
        full_groups=full_groups,
        sliding_groups=sliding_groups,
        state_bytes_per_sequence=linear_state_bytes(facts, tensor_parallel_size, share=linear_share),
        block_size=block_size,
    )
    if layout.block_bytes <= 0:
        raise _missing("a non-zero KV size per token (num_key_value_heads, head_dim and the layers)", facts)
    return layout


def _groups(full: int, sliding: int) -> tuple[int, int, int]:
    if not sliding:
        return max(full, 1), (1 if full else 0), 0
    if not full:
        return sliding, 0, 1
    smaller, larger = min(full, sliding), max(full, sliding)
    size = larger if larger < smaller * 1.5 else smaller
    return size, cdiv(full, size), cdiv(sliding, size)


def linear_state_bytes(
    facts: ModelFacts,
    tensor_parallel_size: int = 1,
    pipeline_parallel_size: int = 1,
    *,
    share: tuple[int, int] | None = None,
) -> int:
    """Bytes of linear-attention state one sequence keeps per GPU (0 for models without such layers); with
    pipeline parallelism of the stage holding `share` = (its layers, all layers) of the model, else 1/PP."""
    linear = facts.linear_attention
    if not facts.linear_attention_layers or linear is None:
        return 0
    element = model_dtype_bytes(facts)
    key_dim = linear.num_key_heads * linear.key_head_dim
    value_dim = linear.num_value_heads * linear.value_head_dim
    conv = (2 * key_dim + value_dim) // tensor_parallel_size * (linear.conv_kernel_dim - 1)
    recurrent = max(1, linear.num_value_heads // tensor_parallel_size) * linear.key_head_dim * linear.value_head_dim
    numerator, denominator = share if share is not None else (1, pipeline_parallel_size)
    layers = cdiv(facts.linear_attention_layers * numerator, denominator)
    return layers * (conv + recurrent) * element


def kv_bytes_per_token(facts: ModelFacts, *, tensor_parallel_size: int = 1, kv_cache_dtype: str = "auto") -> int:
    """KV bytes one token of context costs per GPU, every KV layer counted (sliding layers too: a token
    inside the window costs the same), before block rounding. Linear-attention state is per sequence."""
    _refuse_unmodelled(facts)
    layers = facts.kv_cache_layers if facts.kv_cache_layers is not None else facts.num_hidden_layers
    if layers is None:
        raise _missing("num_hidden_layers", facts)
    return layers * token_bytes_per_layer(facts, tensor_parallel_size, kv_cache_dtype)


def _refuse_unmodelled(facts: ModelFacts) -> None:
    """An architecture the reader marked "not evaluated" (encoder, Mamba hybrid, unknown keys) gets no KV size."""
    for note in facts.notes:
        if note.startswith("not evaluated:"):
            raise InputError(
                f"cannot size the KV cache: {note}",
                path=facts.source_detail or None,
                hint="this architecture's memory is not modelled; plan it by hand or with vLLM's own profile",
            )


def _missing(what: str, facts: ModelFacts) -> InputError:
    return InputError(
        f"cannot size the KV cache: the model's {what} is unknown",
        path=facts.source_detail or None,
        hint="point MODEL at a directory with the model's config.json",
    )
