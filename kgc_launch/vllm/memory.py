"""The vLLM memory plan: will this model fit on this GPU at this context length, and how many tokens of KV
cache will vLLM report at start? Pure: facts and numbers in, a `MemoryPlan` out.

It follows vLLM's own accounting (`vllm/v1/worker/gpu_worker.py`, `determine_available_memory`):
the budget is `total x gpu_memory_utilization` per GPU; out of it come the weights, the activation peak of
the profiling run, memory allocated outside torch, and (vLLM >= 0.21) the CUDA graph pool; the rest is KV
cache, cut into blocks as `vllm/v1/core/kv_cache_utils.py` does (`kv_cache.py` here). Which overheads apply
depends on the vLLM version: `profiles.py`. Accuracy against published start-up logs:
`tests/data/kv_reference_points.json` and the ledger in docs/memory-plan.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kgc_launch.model.facts import MemoryPlan, MemoryTerm, ModelFacts, PipelineStage
from kgc_launch.model.kv_cache import BLOCK_SIZE, KvLayout, cdiv, kv_layout, model_dtype_bytes
from kgc_launch.units import GIB, MIB
from kgc_launch.vllm.profiles import (
    VllmMemoryProfile,
    non_torch_bytes,
    profile_for,
)

CUDA_RESERVED_BYTES = 450 * MIB
"""Device memory NVML reports that CUDA does not (`cudaMemGetInfo` total): H100 80GB HBM3 81559 MiB in
nvidia-smi vs 79.19 GiB (81091 MiB) in vLLM's log (llm-d-planner v0.19.0 logs: 468 MiB); RTX 3090 24576
MiB vs 23.58 GiB (24146 MiB) in vllm-project/vllm#10517 (430 MiB). vLLM budgets the CUDA figure."""


def plan_vllm_memory(
    facts: ModelFacts,
    device_memory_bytes: int,
    *,
    tensor_parallel_size: int = 1,
    pipeline_parallel_size: int = 1,
    max_model_len: int | None = None,
    gpu_memory_utilization: float,
    kv_cache_dtype: str = "auto",
    max_num_seqs: int,
    max_num_batched_tokens: int,
    vllm_version: str | None = None,
    cuda_reserved_bytes: int | None = None,
    enforce_eager: bool = False,
    block_size: int = BLOCK_SIZE,
    pp_layer_partition: str | None = None,
) -> MemoryPlan:
    """Per-GPU memory plan of `vllm serve` for `facts` on GPUs of `device_memory_bytes` (NVML total).

    With pipeline parallelism every stage is planned on its own (its layers as `get_pp_indices` splits them,
    `pp_layer_partition` being `VLLM_PP_LAYER_PARTITION`; the embedding on the first stage, the lm_head and
    the sampler on the last) and the plan returned is the binding stage's: vLLM gives every worker the
    fewest blocks any of them has room for (`kv_cache_utils.py`), and refuses if one stage cannot hold a
    request. `stages` lists them all.

    Every value is as vLLM will run with it: the resolver decides the defaults (`kgc_launch.vllm.capacity`),
    so the plan and the resolver never disagree about `max_num_seqs` or the utilization.

    `cuda_reserved_bytes`: memory NVML counts and CUDA does not; None estimates it, 0 when
    `device_memory_bytes` already is CUDA's total (as vLLM's log prints it). Raises ValueError for inputs
    that are out of range and InputError when the facts lack what the KV cache size depends on.
    """
    _check_ranges(tensor_parallel_size, pipeline_parallel_size, gpu_memory_utilization, device_memory_bytes)
    profile = profile_for(vllm_version)
    length = max_model_len or facts.max_position_embeddings or facts.capabilities.max_context_len
    if not length:
        raise ValueError("max_model_len is needed: the model's config gives no max_position_embeddings")
    reserved = CUDA_RESERVED_BYTES if cuda_reserved_bytes is None else cuda_reserved_bytes
    inputs = _Inputs(
        device_memory_bytes=device_memory_bytes,
        gpu_memory_utilization=gpu_memory_utilization,
        tensor_parallel_size=tensor_parallel_size,
        pipeline_parallel_size=pipeline_parallel_size,
        max_model_len=length,
        kv_cache_dtype=kv_cache_dtype,
        max_num_seqs=max_num_seqs,
        max_num_batched_tokens=max_num_batched_tokens,
        block_size=block_size,
        enforce_eager=enforce_eager,
        reserved=reserved,
    )
    stages = pipeline_stages(facts, pipeline_parallel_size, tensor_parallel_size, pp_layer_partition)
    if not stages:
        return _plan_stage(facts, profile, inputs, None)
    plans = [_plan_stage(facts, profile, inputs, stage) for stage in stages]
    binding = min(range(len(plans)), key=lambda i: (plans[i].fits, plans[i].num_gpu_blocks, -i))
    plan = plans[binding]
    if plan.fits:  # every worker keeps the fewest blocks of all stages
        plan = replace(plan, num_gpu_blocks=min(p.num_gpu_blocks for p in plans))
    summary = [
        PipelineStage(
            index=stage.index,
            first_layer=stage.first_layer,
            layers=stage.layers,
            weights_bytes=each.terms[1].bytes,
            activation_bytes=each.terms[2].bytes,
            kv_cache_bytes=each.kv_cache_bytes,
            num_gpu_blocks=each.num_gpu_blocks,
            fits=each.fits,
        )
        for stage, each in zip(stages, plans, strict=True)
    ]
    split = ",".join(str(stage.layers) for stage in stages)
    origin = "VLLM_PP_LAYER_PARTITION" if pp_layer_partition else "get_pp_indices"
    note = (
        f"pipeline stage {binding} of {len(stages)} binds (layers per stage {split}, {origin}; the embedding on "
        f"stage 0, the lm_head and the sampler on stage {len(stages) - 1}); every stage keeps its fewest blocks"
    )
    return replace(plan, stages=summary, pipeline_stage=binding, notes=[note, *plan.notes])


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: which decoder layers it holds and what else it loads."""

    index: int
    first_layer: int
    layers: int
    count: int
    weights: int
    """Bytes of weights per GPU of the stage (its TP share)."""
    note: str

    @property
    def last(self) -> bool:
        return self.index == self.count - 1


def pp_partition(num_hidden_layers: int, pp_size: int, override: str | None = None) -> list[int]:
    """Decoder layers per pipeline stage, as vLLM's `get_pp_indices` (vllm/distributed/utils.py) splits them:
    `VLLM_PP_LAYER_PARTITION` when set (its entries must be `pp_size` integers summing to the layers), else
    evenly, the remainder going one layer each to the stages before the last, from the second-to-last back
    (the last stage holds the lm_head; with a remainder <= pp - 2 the first, holding the embedding, is
    spared too). Raises ValueError where vLLM does."""
    if override is not None:
        try:
            partitions = [int(part) for part in override.split(",")]
        except ValueError:
            raise ValueError(f"not a list of integers: {override!r}") from None
        if len(partitions) != pp_size:
            raise ValueError(f"{len(partitions)} entries for --pipeline-parallel-size {pp_size}")
        if sum(partitions) != num_hidden_layers:
            raise ValueError(f"the entries sum to {sum(partitions)}; the model has {num_hidden_layers} layers")
        return partitions
    per_stage = num_hidden_layers // pp_size
    partitions = [per_stage] * pp_size
    for position in range(2, num_hidden_layers % pp_size + 2):
        partitions[-position] += 1
    return partitions


def pipeline_stages(facts: ModelFacts, pp: int, tp: int, override: str | None = None) -> list[Stage]:
    """The stages of a pipeline-parallel plan with each one's weights per GPU; [] for PP = 1, or when the
    model's layers are unknown (the plan then splits the weights evenly)."""
    layers = facts.num_hidden_layers
    if pp < 2 or not layers:
        return []
    try:
        partitions = pp_partition(layers, pp, override)
    except ValueError:
        partitions = pp_partition(layers, pp)  # vLLM refuses the override: `pp-layer-partition-invalid`
    total = loaded_weight_bytes(facts)
    embedding = (facts.vocab_size or 0) * (facts.hidden_size or 0) * model_dtype_bytes(facts)
    tied = bool(facts.tie_word_embeddings)
    # The checkpoint holds the embedding once, and an lm_head of the same size unless the two are tied.
    outside = embedding * (1 if tied else 2)
    per_layer = max(total - outside, 0) / layers if outside < total else total / layers
    if outside >= total:
        embedding = 0
    stages, first = [], 0
    for index, count in enumerate(partitions):
        weights = per_layer * count
        extra = []
        if index == 0:
            weights += embedding
            extra.append("embedding")
        if index == pp - 1:
            weights += embedding  # the lm_head, or with tied embeddings the last stage's own embedding copy
            extra.append("lm_head" + (" (tied: its own embedding copy)" if tied else ""))
        note = f"{count} layer(s)" + (" + " + " + ".join(extra) if extra else "")
        stages.append(Stage(index, first, count, pp, cdiv(round(weights), tp), note))
        first += count
    return stages


def _plan_stage(facts: ModelFacts, profile: VllmMemoryProfile, inputs: _Inputs, stage: Stage | None) -> MemoryPlan:
    tp, pp = inputs.tensor_parallel_size, inputs.pipeline_parallel_size
    layout = kv_layout(
        facts,
        tensor_parallel_size=tp,
        pipeline_parallel_size=pp,
        kv_cache_dtype=inputs.kv_cache_dtype,
        block_size=inputs.block_size,
        stage_layers=None if stage is None else stage.layers,
    )
    terms = _terms(facts, profile, inputs, stage)
    kv_cache = terms[0].bytes - sum(term.bytes for term in terms[1:])
    return _verdict(facts, profile, layout, terms, kv_cache, inputs)


@dataclass(frozen=True)
class _Inputs:
    device_memory_bytes: int
    gpu_memory_utilization: float
    tensor_parallel_size: int
    pipeline_parallel_size: int
    max_model_len: int
    kv_cache_dtype: str
    max_num_seqs: int
    max_num_batched_tokens: int
    block_size: int = BLOCK_SIZE
    enforce_eager: bool = False
    reserved: int = CUDA_RESERVED_BYTES


def _check_ranges(tp: int, pp: int, utilization: float, device_memory_bytes: int) -> None:
    if tp < 1 or pp < 1:
        raise ValueError("tensor and pipeline parallel sizes must be at least 1")
    if not 0 < utilization <= 1:
        raise ValueError("gpu_memory_utilization must be in (0, 1]")
    if device_memory_bytes <= 0:
        raise ValueError("device memory must be positive")


def _terms(facts: ModelFacts, profile: VllmMemoryProfile, inputs: _Inputs, stage: Stage | None) -> list[MemoryTerm]:
    tp, pp = inputs.tensor_parallel_size, inputs.pipeline_parallel_size
    seqs, batched = inputs.max_num_seqs, inputs.max_num_batched_tokens
    cuda_total = inputs.device_memory_bytes - inputs.reserved
    utilization = inputs.gpu_memory_utilization
    budget = int(cuda_total * utilization)
    if stage is None:
        weights, weights_note = cdiv(loaded_weight_bytes(facts), tp * pp), _weights_note(facts, tp * pp)
    else:
        weights, weights_note = stage.weights, f"stage {stage.index}: {stage.note} of {_weights_note(facts, tp)}"
    forward = forward_activation_bytes(facts, tp, batched)
    # The sampler's warm-up runs on the last pipeline stage only (gpu_model_runner.py profile_run).
    sampler = sampler_bytes(facts, profile, seqs, batched) if stage is None or stage.last else 0
    activation = forward if profile.engine == "v0" else max(forward, sampler)
    graphs = 0 if inputs.enforce_eager else profile.cuda_graph_bytes
    return [
        MemoryTerm(
            name="budget",
            bytes=budget,
            note=f"CUDA total {_gib(cuda_total)} (device less {_gib(inputs.reserved)} CUDA does not report) x "
            f"{utilization} (gpu_worker.py requested_memory)",
        ),
        MemoryTerm(name="weights", bytes=weights, note=weights_note),
        MemoryTerm(
            name="activation peak",
            bytes=activation,
            note=_activation_note(profile, forward, sampler, batched, seqs, stage),
        ),
        MemoryTerm(
            name="non-torch memory",
            bytes=non_torch_bytes(profile, tp, pp),
            note="outside torch: cuBLAS workspaces, with TP>1 NCCL buffers (mem_utils.py non_torch_increase)",
        ),
        MemoryTerm(
            name="CUDA graphs",
            bytes=graphs,
            note=_graphs_note(profile, inputs.enforce_eager),
        ),
    ]


MXFP4_LOADED_RATIO = 1.06
"""vLLM re-lays MXFP4 expert weights out for its MoE kernels, so they take more memory than on disk:
"Model loading took 64.38 GiB" for gpt-oss-120b (vllm-project/vllm#33155, v0.14.1) against a 60.7 GiB
checkpoint (ratio 1.061), 13.47 GiB for gpt-oss-20b (llm-d-benchmark empirical results, v0.11.0) against
12.8 GiB (1.052)."""


def loaded_weight_bytes(facts: ModelFacts) -> int:
    """Bytes the weights take once vLLM has loaded them (all GPUs together)."""
    weights = facts.weight_bytes or 0
    if facts.capabilities.quantization == "mxfp4":
        return round(weights * MXFP4_LOADED_RATIO)
    return weights


def _weights_note(facts: ModelFacts, gpus: int) -> str:
    if not facts.weight_bytes:
        return "weight size unknown"
    note = f"{_gib(facts.weight_bytes)} ({facts.weight_bytes_source}) / {gpus} GPU(s)"
    if facts.capabilities.quantization == "mxfp4":
        note += f"; x{MXFP4_LOADED_RATIO} for vLLM's MXFP4 kernel layout"
    return note


def forward_activation_bytes(facts: ModelFacts, tensor_parallel_size: int, tokens: int) -> int:
    """Transient tensors of one forward pass over `tokens` tokens, per GPU.

    The largest live set is the MLP's: the merged gate/up projection (2 x intermediate) and the activated
    half (1 x intermediate), or for MoE the fused-MoE caches per routed copy of the token (vLLM
    `fused_moe.py`: intermediate_cache1 2 x moe_intermediate, cache2 1 x; cache3 reuses cache1), plus the
    QKV projection and the residual and normalized hidden states. Checked against vLLM#10517's V0 peaks:
    Llama-3.1-8B 110 KiB/token measured (2.07 GiB at 20000 tokens), 112 KiB here.
    """
    hidden = facts.hidden_size or 0
    heads = facts.num_attention_heads or 0
    kv_heads = facts.num_kv_heads or heads
    head_dim = facts.head_dim or 0
    moe = facts.capabilities.moe
    if moe is not None and moe.moe_intermediate_size:
        mlp = moe.experts_per_token * 3 * moe.moe_intermediate_size
    else:
        mlp = 3 * (facts.intermediate_size or 0)
    attention = (heads + 2 * kv_heads) * head_dim
    per_token = (mlp + attention) // tensor_parallel_size + 2 * hidden
    return per_token * model_dtype_bytes(facts) * tokens


def sampler_bytes(facts: ModelFacts, profile: VllmMemoryProfile, max_num_seqs: int, batched: int) -> int:
    """Peak of the sampler warm-up over `min(max_num_seqs, max_num_batched_tokens)` full-vocabulary rows."""
    rows = min(max_num_seqs, batched)
    return round(profile.sampler_bytes_per_logit * rows * (facts.vocab_size or 0))


def _activation_note(
    profile: VllmMemoryProfile, forward: int, sampler: int, batched: int, seqs: int, stage: Stage | None
) -> str:
    if profile.engine == "v0":
        return f"forward pass over max_num_batched_tokens={batched} (V0 profile_run)"
    if stage is not None and not stage.last:
        return f"forward over {batched} tokens (no sampler before the last pipeline stage; profile_run)"
    return (
        f"max of forward over {batched} tokens ({_gib(forward)}) and sampler over {min(seqs, batched)} rows "
        f"({_gib(sampler)}) (gpu_model_runner.py profile_run)"
    )


def _graphs_note(profile: VllmMemoryProfile, enforce_eager: bool) -> str:
    if enforce_eager:
        return "no CUDA graphs (--enforce-eager)"
    if profile.cuda_graph_bytes:
        return "estimated graph pool, charged since vLLM 0.21 (PR #30515)"
    return "captured after the KV cache is sized: taken from the headroom, not the budget"


def _verdict(
    facts: ModelFacts,
    profile: VllmMemoryProfile,
    layout: KvLayout,
    terms: list[MemoryTerm],
    kv_cache: int,
    inputs: _Inputs,
) -> MemoryPlan:
    length, batched = inputs.max_model_len, inputs.max_num_batched_tokens
    needed = layout.bytes_per_request(length, batched)
    blocks = max(kv_cache, 0) // layout.block_bytes
    concurrency = max(kv_cache, 0) / needed if needed else 0.0
    if layout.groups == 1 and not layout.state_bytes_per_sequence:
        capacity = blocks * layout.block_size  # vLLM's "GPU KV cache size": num_blocks x block_size
    else:
        capacity = int(concurrency * length)  # newer vLLM's hybrid figure: concurrency x max_model_len
    reason, largest = _reason(facts, profile, layout, kv_cache, needed, capacity, inputs)
    return MemoryPlan(
        fits=reason is None,
        reason=reason,
        device_memory_bytes=inputs.device_memory_bytes,
        gpu_memory_utilization=inputs.gpu_memory_utilization,
        tensor_parallel_size=inputs.tensor_parallel_size,
        pipeline_parallel_size=inputs.pipeline_parallel_size,
        max_model_len=length,
        kv_cache_dtype=inputs.kv_cache_dtype,
        kv_bytes_per_token=cdiv(needed - layout.state_bytes_per_sequence, length),
        terms=terms,
        kv_cache_bytes=kv_cache,
        kv_capacity_tokens=max(capacity, 0),
        max_concurrency=round(concurrency, 2),
        largest_fitting_max_model_len=largest,
        vllm_profile=profile.name,
        max_num_seqs=inputs.max_num_seqs,
        max_num_batched_tokens=batched,
        block_size=layout.block_size,
        num_gpu_blocks=blocks,
        kv_bytes_per_request=needed,
        per_sequence_state_bytes=layout.state_bytes_per_sequence,
        notes=_notes(facts, layout, inputs.kv_cache_dtype),
    )


def _reason(
    facts: ModelFacts,
    profile: VllmMemoryProfile,
    layout: KvLayout,
    kv_cache: int,
    needed: int,
    capacity: int,
    inputs: _Inputs,
) -> tuple[str | None, int | None]:
    """Why vLLM would refuse to start, in vLLM's words, and the largest max_model_len that would fit."""
    length, tp = inputs.max_model_len, inputs.tensor_parallel_size
    heads = facts.num_attention_heads
    if heads and heads % tp:
        return (
            f"Total number of attention heads ({heads}) must be divisible by tensor parallel size ({tp}).",
            None,
        )
    if kv_cache <= 0:
        return (
            f"No available memory for the cache blocks: weights and overheads exceed the budget by "
            f"{_gib(-kv_cache)}. Try increasing `gpu_memory_utilization` or the tensor parallel size.",
            None,
        )
    if needed <= kv_cache:
        return None, None
    largest = largest_fitting_length(layout, kv_cache, length, inputs.max_num_batched_tokens)
    if profile.engine == "v0":
        return (
            f"The model's max seq len ({length}) is larger than the maximum number of tokens that can be "
            f"stored in KV cache ({capacity}). Try increasing `gpu_memory_utilization` or decreasing "
            "`max_model_len` when initializing the engine.",
            largest,
        )
    return (
        f"To serve at least one request with the model's max seq len ({length}), ({needed / GIB:.2f} GiB KV "
        f"cache is needed, which is larger than the available KV cache memory ({kv_cache / GIB:.2f} GiB). "
        f"Based on the available memory, the estimated maximum model length is {largest}. Try increasing "
        "`gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.",
        largest,
    )


def largest_fitting_length(layout: KvLayout, kv_cache: int, max_model_len: int, batched: int) -> int:
    """The largest max_model_len whose one request fits in `kv_cache` bytes: vLLM's binary search
    (`kv_cache_utils.py`, `estimate_max_model_len`)."""
    low, high = 0, max_model_len
    while low < high:
        middle = (low + high + 1) // 2
        if layout.bytes_per_request(middle, batched) <= kv_cache:
            low = middle
        else:
            high = middle - 1
    return low


def _notes(facts: ModelFacts, layout: KvLayout, kv_cache_dtype: str) -> list[str]:
    notes = []
    if layout.groups > 1:
        notes.append(
            f"hybrid KV layout: {layout.full_layers} full + {layout.sliding_layers} sliding-window layers in "
            f"{layout.groups} groups of {layout.group_size} (padded); capacity is concurrency x max_model_len"
        )
    if layout.state_bytes_per_sequence:
        notes.append(
            f"{facts.linear_attention_layers} linear-attention layers keep "
            f"{_gib(layout.state_bytes_per_sequence)} of state per sequence; vLLM's page alignment of that "
            "state is not modelled"
        )
    if kv_cache_dtype.startswith("fp8"):
        notes.append("fp8 KV cache: 1 byte per element instead of the model's 2")
    if facts.weight_bytes_source == "estimate":
        notes.append("weights are an estimate from the architecture (no safetensors sizes known)")
    return notes


def _gib(value: int) -> str:
    return f"{value / GIB:.2f} GiB"
