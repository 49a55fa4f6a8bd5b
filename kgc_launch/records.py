"""The seed's capability records and decisions (ferrum `auto_config.rs`), as plain dataclasses.

Field names, field order and JSON spelling are ferrum's: `to_plain()` serializes in declaration order,
which is serde's order, so artifacts match ferrum's bytes. Defining and building records imports no
pydantic: the launch path constructs records it already trusts. Where a record is read from a file or a
document, `from_plain` has pydantic validate the same dataclasses (imported then, not before).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from kgc_launch.runtime import RuntimeConfigEffect, RuntimeConfigSnapshot, ascii_lower
from kgc_launch.units import GIB

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

M3_QWEN3_30B_A3B_INT4_PRESET = "m3_qwen3_30b_a3b_int4"

_D = TypeVar("_D")


class _Serde:
    """`Annotated` metadata: serde's view of a Rust scalar type, for pydantic's validators only.

    No strings for numbers, no "yes" for a bool, no negative sizes (pydantic's lax mode would accept all
    three and silently convert them). pydantic asks for the schema only while it builds a validator, so
    `pydantic_core` is imported then, never when the records are defined.
    """

    __slots__ = ("kind", "maximum")

    def __init__(self, kind: str, maximum: int | None = None) -> None:
        self.kind = kind
        self.maximum = maximum

    def __repr__(self) -> str:
        return f"_Serde({self.kind!r}, {self.maximum!r})"

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        if self.kind == "uint":
            return core_schema.int_schema(strict=True, ge=0, le=self.maximum)
        if self.kind == "str":
            return core_schema.str_schema(strict=True)
        return core_schema.bool_schema(strict=True)


class Check:
    """`Annotated` metadata: `check(value)` runs when pydantic validates the field, after its type (or
    before, `before=True`); a ValueError is the field's error. Construction never runs it."""

    __slots__ = ("before", "check")

    def __init__(self, check: Callable[[Any], Any], *, before: bool = False) -> None:
        self.check = check
        self.before = before

    def __repr__(self) -> str:
        return f"Check({self.check.__name__}, before={self.before})"

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        if self.before:
            return core_schema.no_info_before_validator_function(self.check, handler(source))
        return core_schema.no_info_after_validator_function(self.check, handler(source))


Usize = Annotated[int, _Serde("uint", 2**64 - 1)]
U64 = Usize
U32 = Annotated[int, _Serde("uint", 2**32 - 1)]
Text = Annotated[str, _Serde("str")]
Flag = Annotated[bool, _Serde("bool")]


def to_plain(value: Any) -> Any:
    """JSON-ready data in declaration order: records become dicts, enums their values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    return value


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def from_plain(cls: type[_D], data: Any) -> _D:
    """`data` (parsed JSON) as a `cls` dataclass, validated by pydantic: raises `pydantic.ValidationError`.

    Unknown keys are refused where the class says so (`__pydantic_config__`). Errors are reported as they
    were when the records were pydantic models (`extra_forbidden`, `model_type`), so messages stay the same.
    """
    from pydantic import TypeAdapter, ValidationError

    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    try:
        validated: _D = adapter.validate_python(data)
    except ValidationError as error:
        raise _as_model_errors(error) from None
    return validated


# A stdlib dataclass's validator names two problems differently from a model's; the rest are the same.
_MODEL_ERROR_TYPES = {"unexpected_keyword_argument": "extra_forbidden", "dataclass_type": "model_type"}


def _as_model_errors(error: ValidationError) -> ValidationError:
    from pydantic import ValidationError

    problems = error.errors(include_url=False)
    if not any(problem["type"] in _MODEL_ERROR_TYPES for problem in problems):
        return error
    details: list[Any] = []
    for problem in problems:
        detail = {"type": _MODEL_ERROR_TYPES.get(problem["type"], problem["type"]), "loc": problem["loc"]}
        details.append({**detail, "input": problem["input"], **({"ctx": problem["ctx"]} if "ctx" in problem else {})})
    return ValidationError.from_exception_data(error.title, details)


class Record:
    """Base of the ported records: strict about unknown fields when one is read (`from_plain`)."""

    __slots__ = ()
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}
    if TYPE_CHECKING:  # every subclass is a dataclass
        __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def to_plain(self) -> dict[str, Any]:
        plain: dict[str, Any] = to_plain(self)
        return plain


@dataclass(slots=True, frozen=True, kw_only=True)
class MoeCapabilities(Record):
    num_experts: Usize
    """Routed experts per MoE layer."""
    experts_per_token: Usize
    """Experts each token is routed to (top-k)."""
    moe_intermediate_size: Usize | None = None
    """Hidden size of one expert's MLP."""


@dataclass(slots=True, frozen=True, kw_only=True)
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
        return cls(
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
        return cls(
            architecture="qwen3_moe",
            quantization="gptq_int4",
            moe=MoeCapabilities(num_experts=128, experts_per_token=8, moe_intermediate_size=768),
            max_context_len=40960,
            num_hidden_layers=48,
            head_dim=128,
            kv_heads=4,
            # Conservative GPTQ int4 footprint including quant scales and loader/runtime overhead (seed).
            estimated_weight_bytes=18 * GIB,
            supported_dtypes=["fp16"],
            graph_safe_moe=False,
        )


@dataclass(slots=True, frozen=True, kw_only=True)
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
        return cls()  # every feature off: the field defaults

    @classmethod
    def m3_fast_path_without_fa2(cls) -> CompiledKernelFeatures:
        return cls(
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
        return dataclasses.replace(cls.m3_fast_path_without_fa2(), fa2_source=True)


@dataclass(slots=True, frozen=True, kw_only=True)
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
        return cls(
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
        return cls(
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


@dataclass(slots=True, frozen=True, kw_only=True)
class WorkloadProfile(Record):
    preset: Text | None = None
    serving_mode: Text
    target_concurrency: Usize
    prompt_length_class: Text
    output_length_class: Text
    priority: WorkloadPriority

    @classmethod
    def serving_default(cls) -> WorkloadProfile:
        return cls(
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
            profile = dataclasses.replace(profile, target_concurrency=max(budget, 1))
        return profile

    @classmethod
    def m3_qwen3_30b_a3b_int4(cls) -> WorkloadProfile:
        return cls(
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


@dataclass(slots=True, frozen=True, kw_only=True)
class RejectedCandidate(Record):
    value: str
    reason: str


@dataclass(slots=True, frozen=True, kw_only=True)
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


@dataclass(slots=True, frozen=True, kw_only=True)
class ResolvedFerrumConfig(Record):
    schema_version: int = 1
    preset: str | None = None
    runtime_config: RuntimeConfigSnapshot
    model_capabilities: ModelCapabilities
    hardware_capabilities: HardwareCapabilities
    workload_profile: WorkloadProfile
    decisions: list[AutoConfigDecision]
