"""What is known about a model, where each fact came from, and the memory plan's result type.

`capabilities` is the seed's ferrum-shaped record; the other fields are what the memory plan and the
vLLM rules need beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from kgc_launch.records import ModelCapabilities

FactsSource = Literal["directory", "hf_cache", "hub", "catalog", "unknown"]
AttentionKind = Literal["mha", "gqa", "mla", "hybrid", "unknown"]
WeightBytesSource = Literal[
    "safetensors_index", "safetensors_files", "safetensors_header", "gguf", "catalog", "estimate", "unknown"
]


class _Model:
    """Strict about unknown fields when read from a file (`records.from_plain`)."""

    __slots__ = ()
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}


@dataclass(slots=True, frozen=True, kw_only=True)
class LinearAttentionFacts(_Model):
    """Linear-attention (gated delta net) layers of a hybrid model: a state per sequence, not per token.

    Field names are config.json's (Qwen3-Next `Qwen3NextConfig`).
    """

    num_key_heads: int
    num_value_heads: int
    key_head_dim: int
    value_head_dim: int
    conv_kernel_dim: int


@dataclass(slots=True, frozen=True, kw_only=True)
class ModelFacts(_Model):
    model_id: str | None = None
    """The id the model is known by (a Hub repo id), when one could be determined."""
    source: FactsSource
    source_detail: str = ""
    """The directory, cache snapshot or catalog entry the facts were read from."""
    capabilities: ModelCapabilities
    num_attention_heads: int | None = None
    num_kv_heads: int | None = None
    hidden_size: int | None = None
    num_hidden_layers: int | None = None
    head_dim: int | None = None
    vocab_size: int | None = None
    intermediate_size: int | None = None
    max_position_embeddings: int | None = None
    torch_dtype: str | None = None
    """The checkpoint's dtype as config.json spells it (`bfloat16`, `float16`, ...)."""
    quant_method: str | None = None
    """`quantization_config.quant_method` as written (`gptq`, `awq`, `fp8`, `mxfp4`, ...)."""
    json_files: tuple[str, ...] | None = None
    """The names of the checkpoint directory's `*.json` files (where vLLM looks for a pre-quantized method's
    config file); None when the directory was not listed (the Hub, the catalog)."""
    attention: AttentionKind = "unknown"
    kv_lora_rank: int | None = None
    """MLA only: compressed KV width per layer."""
    qk_rope_head_dim: int | None = None
    """MLA only: the rotary part cached beside the compressed KV."""
    kv_cache_layers: int | None = None

    sliding_window: int | None = None
    sliding_window_layers: int | None = None
    """Layers whose cache stops growing at `sliding_window` tokens."""
    weight_bytes: int | None = None
    weight_bytes_source: WeightBytesSource = "unknown"
    notes: list[str] = field(default_factory=list)
    revision: str | None = None
    """The snapshot revision (commit hash) read from an HF cache, when the facts came from one."""
    model_type: str | None = None
    """`model_type` of the text model (`text_config.model_type` for multimodal configs)."""
    linear_attention_layers: int | None = None
    """Hybrid models: layers with a fixed per-sequence state instead of a KV cache."""
    linear_attention: LinearAttentionFacts | None = None
    tie_word_embeddings: bool | None = None
    """Whether the lm_head shares the embedding's weights (config.json); None when the config does not say."""
    provenance: dict[str, str] = field(default_factory=dict)
    """Fact name -> where it came from (`config.json: head_dim`, `hidden_size / num_attention_heads`, ...)."""


@dataclass(slots=True, frozen=True, kw_only=True)
class MemoryTerm(_Model):
    name: str
    bytes: int
    note: str = ""
    """What the term models and the vLLM code or measurement it comes from."""


@dataclass(slots=True, frozen=True, kw_only=True)
class PipelineStage:
    """One pipeline stage of a PP memory plan (per GPU of the stage)."""

    index: int
    first_layer: int
    layers: int
    weights_bytes: int
    activation_bytes: int
    kv_cache_bytes: int
    num_gpu_blocks: int
    fits: bool


@dataclass(slots=True, frozen=True, kw_only=True)
class MemoryPlan(_Model):
    """Per-GPU memory budget for a vLLM deployment and what it leaves for the KV cache."""

    fits: bool
    reason: str | None = None
    """Why it does not fit, in vLLM's own words where vLLM has words for it."""
    device_memory_bytes: int
    gpu_memory_utilization: float
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    max_model_len: int
    kv_cache_dtype: str = "auto"
    kv_bytes_per_token: int
    """Per GPU, at max_model_len (sliding-window layers capped at their window)."""
    terms: list[MemoryTerm] = field(default_factory=list)
    """Budget, then each subtraction, in order; what remains is the KV cache."""
    kv_cache_bytes: int
    kv_capacity_tokens: int
    max_concurrency: float
    """How many requests of max_model_len tokens fit at once."""
    largest_fitting_max_model_len: int | None = None
    """When one request of max_model_len does not fit: the largest max_model_len that does."""
    vllm_profile: str = ""
    """Which vLLM versions' memory accounting the overhead terms model (see `vllm/profiles.py`)."""
    max_num_seqs: int = 0
    max_num_batched_tokens: int = 0
    block_size: int = 16
    num_gpu_blocks: int = 0
    """KV cache blocks per GPU, as vLLM counts them (`# GPU blocks`)."""
    kv_bytes_per_request: int = 0
    """KV cache one request of max_model_len needs per GPU (vLLM: "X GiB KV cache is needed")."""
    per_sequence_state_bytes: int = 0
    """Hybrid models: the fixed per-sequence state of the linear-attention layers, per GPU."""
    notes: list[str] = field(default_factory=list)
    stages: list[PipelineStage] = field(default_factory=list)
    """With pipeline parallelism: every stage's plan; the plan itself is the binding stage's."""
    pipeline_stage: int | None = None
    """The binding stage (the one with the fewest KV blocks, or the first that does not fit)."""
