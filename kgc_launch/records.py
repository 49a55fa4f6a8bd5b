"""The seed's capability records and decisions (ferrum `auto_config.rs`), as pydantic models.

Field names, field order and JSON spelling are ferrum's: `to_plain()` serializes in declaration order,
which is serde's order, so artifacts match ferrum's bytes. Models defer their schema build: building
fifteen validators costs about 100 ms on a small machine, and the launch path constructs records it
already trusts instead of validating them.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Strict

from kgc_launch.runtime import RuntimeConfigEffect, RuntimeConfigSnapshot, ascii_lower
from kgc_launch.units import GIB

M3_QWEN3_30B_A3B_INT4_PRESET = "m3_qwen3_30b_a3b_int4"

_R = TypeVar("_R", bound="Record")

# serde's view of the Rust field types: no strings for numbers, no "yes" for a bool, no negative sizes.
# (pydantic's lax mode would accept all three and silently convert them.)
Usize = Annotated[int, Strict(), Field(ge=0, le=2**64 - 1)]
U64 = Usize
U32 = Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)]
Text = Annotated[str, Strict()]
Flag = Annotated[bool, Strict()]


def to_plain(value: Any) -> Any:
    """JSON-ready data in declaration order: records become dicts, enums their values."""
    if isinstance(value, BaseModel):
        return {name: to_plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    return value


class Record(BaseModel):
    """Base of the ported records: strict about unknown fields, schema built on first validation."""

    model_config = ConfigDict(extra="forbid", defer_build=True, frozen=False)

    def to_plain(self) -> dict[str, Any]:
        plain: dict[str, Any] = to_plain(self)
        return plain

    def copy_with(self: _R, **changes: Any) -> _R:
        """A shallow copy with some fields replaced (Rust's struct update syntax)."""
        return self.model_copy(update=changes)


class MoeCapabilities(Record):
    num_experts: Usize
    """Routed experts per MoE layer."""
    experts_per_token: Usize
    """Experts each token is routed to (top-k)."""
    moe_intermediate_size: Usize | None = None
    """Hidden size of one expert's MLP."""


class ModelCapabilities(Record):
    architecture: Text
    """`model_type` from config.json (e.g. `qwen3_moe`), or `unknown`."""
    quantization: Text | None = None
    """Quantization as ferrum spells it (`gptq_int4`, `awq_int4`, `fp8`, ...), or None."""
    moe: MoeCapabilities | None = None
    max_context_len: Usize | None = None
    num_hidden_layers: Usize | None = None
    head_dim: Usize | None = None
    kv_heads: Usize | None = None
    estimated_weight_bytes: U64 | None = None
    supported_dtypes: list[Text]
    graph_safe_moe: Flag = False
    """Whether the model's MoE path may be captured in a CUDA graph."""

    @classmethod
    def unknown(cls) -> ModelCapabilities:
        return cls.model_construct(
            architecture="unknown",
            quantization=None,
            moe=None,
            max_context_len=None,
            num_hidden_layers=None,
            head_dim=None,
            kv_heads=None,
            estimated_weight_bytes=None,
            supported_dtypes=["fp16", "fp32"],
            graph_safe_moe=False,
        )

    @classmethod
    def qwen3_30b_a3b_gptq_int4(cls) -> ModelCapabilities:
        return cls.model_construct(
            architecture="qwen3_moe",
            quantization="gptq_int4",
            moe=MoeCapabilities.model_construct(num_experts=128, experts_per_token=8, moe_intermediate_size=768),
            max_context_len=40960,
            num_hidden_layers=48,
            head_dim=128,
            kv_heads=4,
            # Conservative GPTQ int4 footprint including quant scales and loader/runtime overhead (seed).
            estimated_weight_bytes=18 * GIB,
            supported_dtypes=["fp16"],
            graph_safe_moe=False,
        )


class CompiledKernelFeatures(Record):
    """Cargo features a ferrum binary was built with. A launcher cannot see them; operators declare them."""

    cuda: Flag = False
    vllm_paged_attn: Flag = False
    vllm_moe_marlin: Flag = False
    cuda_graph: Flag = False
    greedy_argmax: Flag = False
    fa2_source: Flag = False
    fa2_direct_ffi: Flag = False

    @classmethod
    def default(cls) -> CompiledKernelFeatures:
        return cls.model_construct()  # every feature off: the field defaults

    @classmethod
    def m3_fast_path_without_fa2(cls) -> CompiledKernelFeatures:
        return cls.model_construct(
            cuda=True,
            vllm_paged_attn=True,
            vllm_moe_marlin=True,
            cuda_graph=True,
            greedy_argmax=True,
            fa2_source=False,
            fa2_direct_ffi=False,
        )

    @classmethod
    def m3_fast_path_with_source_fa2(cls) -> CompiledKernelFeatures:
        return cls.m3_fast_path_without_fa2().copy_with(fa2_source=True)


class HardwareCapabilities(Record):
    backend: Text
    """`cuda`, `metal`, `cpu` or `unknown`."""
    cuda_runtime: Text | None = None
    compute_capability: Text | None = None
    """`major.minor`, e.g. `8.9`."""
    vram_bytes: U64 | None = None
    sm_count: U32 | None = None
    supported_dtypes: list[Text]
    supported_kv_dtypes: list[Text]
    graph_support: Flag = False
    compiled_features: CompiledKernelFeatures

    @classmethod
    def unknown(cls) -> HardwareCapabilities:
        return cls.model_construct(
            backend="unknown",
            cuda_runtime=None,
            compute_capability=None,
            vram_bytes=None,
            sm_count=None,
            supported_dtypes=["fp16", "fp32"],
            supported_kv_dtypes=["fp16"],
            graph_support=False,
            compiled_features=CompiledKernelFeatures.default(),
        )

    @classmethod
    def rtx4090_cuda(cls, features: CompiledKernelFeatures) -> HardwareCapabilities:
        return cls.model_construct(
            backend="cuda",
            cuda_runtime=None,
            compute_capability="8.9",
            vram_bytes=24 * GIB,
            sm_count=128,
            supported_dtypes=["fp16", "fp32"],
            supported_kv_dtypes=["fp16", "int8"],
            graph_support=True,
            compiled_features=features,
        )


class WorkloadPriority(str, enum.Enum):
    LATENCY = "latency"
    THROUGHPUT = "throughput"
    BALANCED = "balanced"


def vram_default_max_sequences(vram_bytes: int) -> int:
    """The seed's concurrency tiers by device memory."""
    if vram_bytes >= 20 * GIB:
        return 32
    if vram_bytes >= 12 * GIB:
        return 16
    if vram_bytes >= 8 * GIB:
        return 8
    return 4


class WorkloadProfile(Record):
    preset: Text | None = None
    serving_mode: Text
    target_concurrency: Usize
    prompt_length_class: Text
    output_length_class: Text
    priority: WorkloadPriority

    @classmethod
    def serving_default(cls) -> WorkloadProfile:
        return cls.model_construct(
            preset=None,
            serving_mode="openai_chat",
            target_concurrency=1,
            prompt_length_class="unknown",
            output_length_class="unknown",
            priority=WorkloadPriority.BALANCED,
        )

    @classmethod
    def serving_default_for_hardware(cls, hardware: HardwareCapabilities) -> WorkloadProfile:
        profile = cls.serving_default()
        if ascii_lower(hardware.backend) in ("cuda", "metal"):  # eq_ignore_ascii_case
            budget = 4 if hardware.vram_bytes is None else vram_default_max_sequences(hardware.vram_bytes)
            profile.target_concurrency = max(budget, 1)
        return profile

    @classmethod
    def m3_qwen3_30b_a3b_int4(cls) -> WorkloadProfile:
        return cls.model_construct(
            preset=M3_QWEN3_30B_A3B_INT4_PRESET,
            serving_mode="bench_serve",
            target_concurrency=32,
            prompt_length_class="random_256",
            output_length_class="random_128",
            priority=WorkloadPriority.THROUGHPUT,
        )

    def is_m3_preset(self) -> bool:
        return self.preset == M3_QWEN3_30B_A3B_INT4_PRESET


class AutoConfigSource(str, enum.Enum):
    """Where a decided value came from: the runtime sources plus four of the resolver's own."""

    DEFAULT = "default"
    CLI = "cli"
    CONFIG_FILE = "config_file"
    ENV = "env"
    SCRIPT_CASE = "script_case"
    MODEL_METADATA = "model_metadata"
    HARDWARE_CAPABILITY = "hardware_capability"
    MEMORY_PROFILE = "memory_profile"
    WORKLOAD_PRESET = "workload_preset"
    COMPILED_FEATURE = "compiled_feature"


class RejectedCandidate(Record):
    value: str
    reason: str


class AutoConfigDecision(Record):
    """One choice the resolver made: what was selected, from what, why the rest was rejected."""

    schema_version: int = 1
    selection: str
    selected: str
    source: AutoConfigSource
    source_key: str | None = None
    candidates: list[str]
    rejected: list[RejectedCandidate]
    affects: list[RuntimeConfigEffect]


class ResolvedFerrumConfig(Record):
    schema_version: int = 1
    preset: str | None = None
    runtime_config: RuntimeConfigSnapshot
    model_capabilities: ModelCapabilities
    hardware_capabilities: HardwareCapabilities
    workload_profile: WorkloadProfile
    decisions: list[AutoConfigDecision]
