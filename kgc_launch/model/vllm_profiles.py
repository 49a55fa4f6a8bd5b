"""What vLLM takes out of the GPU memory budget before the KV cache, by vLLM version: versioned data.

vLLM sizes the KV cache as (`vllm/v1/worker/gpu_worker.py`, `determine_available_memory`):

    requested_memory (= total x gpu_memory_utilization) - non_kv_cache_memory

with `non_kv_cache_memory = weights + torch_peak_increase + non_torch_increase` measured by
`vllm/utils/mem_utils.py` `memory_profiling` around one `profile_run()`, and since v0.21 an estimate of the
CUDA graph pool on top ("CUDA graph memory profiling is enabled (default since v0.21.0)", env
`VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS`, PR #30515). The terms changed between releases, so each
profile below says which versions it models and which published start-up logs its numbers come from.

The activation peak (`torch_peak_increase`) of the V1 engine is the larger of two phases of `profile_run`:
the forward pass over `max_num_batched_tokens` tokens, and `_dummy_sampler_run` over `max_num_seqs` rows of
full-vocabulary logits (sampled with top-p 0.9 and top-k vocab-1, which v0.8-v0.11 do by sorting the
logits: `vllm/v1/sample/ops/topk_topp_sampler.py` `apply_top_k_top_p`). The sampler's bytes per logit were
fitted on one model per profile and checked on the others (see `docs/memory-plan.md`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kgc_launch.units import GIB, MIB
from kgc_launch.versions import parse_engine_version


@dataclass(frozen=True)
class VllmMemoryProfile:
    name: str
    first: tuple[int, int]
    """First vLLM version (major, minor) the profile applies to."""
    engine: Literal["v0", "v1"]
    sampler_bytes_per_logit: float
    """Peak bytes per (request x vocabulary entry) of the sampler warm-up; 0 where it does not count."""
    non_torch_bytes: int
    """Memory allocated outside torch during profiling (cuBLAS workspaces; with TP, NCCL buffers)."""
    non_torch_tp_bytes: int
    non_torch_pp_bytes: int
    cuda_graph_bytes: int
    """CUDA graph pool charged to the budget (0 where graphs come out of the headroom instead)."""
    evidence: str


PROFILES: tuple[VllmMemoryProfile, ...] = (
    VllmMemoryProfile(
        name="v0-engine (<= 0.7)",
        first=(0, 0),
        engine="v0",
        sampler_bytes_per_logit=0.0,
        non_torch_bytes=round(0.35 * GIB),
        non_torch_tp_bytes=round(0.55 * GIB),
        non_torch_pp_bytes=round(0.35 * GIB),
        cuda_graph_bytes=0,
        evidence=(
            "vllm-project/vllm#10517 (RTX 3090, Llama-3.1-8B, V0): non_torch_memory=0.35GiB and a torch peak "
            "that grows with max_num_batched_tokens only (the V0 profile run samples greedily); "
            "the TP figure is not measured for V0 and is taken from the 0.8-0.11 profile"
        ),
    ),
    VllmMemoryProfile(
        name="v1-engine 0.8-0.11",
        first=(0, 8),
        engine="v1",
        sampler_bytes_per_logit=38.9,
        non_torch_bytes=round(0.13 * GIB),
        non_torch_tp_bytes=round(0.55 * GIB),
        non_torch_pp_bytes=round(0.13 * GIB),
        cuda_graph_bytes=0,
        evidence=(
            "llm-d/llm-d-benchmark config_explorer/empirical-vllm-memory-results.md (vLLM v0.11.0, H100, "
            "max_num_seqs 1024): activation 4.76 GiB Llama-3.1-8B (vocab 128256) = 38.9 B/logit (fit), "
            "checked on Qwen3-32B 5.64 GiB (151936: 38.9) and gpt-oss-20b 7.38 GiB (201088: 38.5); "
            "non-torch 0.13 GiB at TP=1, 0.54-0.55 GiB at TP=2"
        ),
    ),
    VllmMemoryProfile(
        name="v1-engine 0.12-0.20",
        first=(0, 12),
        engine="v1",
        sampler_bytes_per_logit=15.8,
        non_torch_bytes=round(0.25 * GIB),
        non_torch_tp_bytes=round(2.1 * GIB),
        non_torch_pp_bytes=round(0.07 * GIB),
        cuda_graph_bytes=0,
        evidence=(
            "llm-d-incubation/llm-d-planner accuracy/results/v0.19.0 (vLLM v0.19.0, H100, max_num_seqs "
            "1024): torch peak 1.89 GiB Llama-3.1-8B = 15.8 B/logit (fit), checked on Qwen3-8B 2.21, "
            "gemma-3-27b 3.99, "
            "phi-4 1.52 GiB; non-torch 0.25 GiB at TP=1, 2.07-2.21 GiB at TP=2/4, 0.07 GiB at PP=2/4. "
            "Versions 0.12-0.18 are not measured here; the 0.19 figures are assumed"
        ),
    ),
    VllmMemoryProfile(
        name="v1-engine >= 0.21",
        first=(0, 21),
        engine="v1",
        sampler_bytes_per_logit=15.8,
        non_torch_bytes=round(0.25 * GIB),
        non_torch_tp_bytes=round(2.1 * GIB),
        non_torch_pp_bytes=round(0.07 * GIB),
        cuda_graph_bytes=512 * MIB,
        evidence=(
            "as 0.12-0.20, plus the CUDA graph estimate vLLM charges since v0.21.0: logged 'Estimated CUDA "
            "graph memory' 0.52 GiB (Qwen3-8B, v0.21.0, LMCache/LMCache#3430) and 0.36 GiB (TP=2, v0.27.1, "
            "gpustack/runner#251)"
        ),
    ),
)


def parse_version(text: str) -> tuple[int, int] | None:
    """`0.19.0`, `v0.6.4.post1`, `0.15.2rc1.dev93+g11a4c9d30` -> (major, minor)."""
    parsed = parse_engine_version(text)
    if parsed is None or parsed.release is None:
        return None
    major, minor = (*parsed.release, 0)[:2]
    return major, minor


def profile_for(version: str | None) -> VllmMemoryProfile:
    """The profile for a vLLM version; the newest profile when the version is unknown."""
    if version is None:
        return PROFILES[-1]
    parsed = parse_version(version)
    if parsed is None:
        raise ValueError(f"not a vLLM version: {version!r}")
    chosen = PROFILES[0]
    for profile in PROFILES:
        if parsed >= profile.first:
            chosen = profile
    return chosen


def non_torch_bytes(profile: VllmMemoryProfile, tensor_parallel_size: int, pipeline_parallel_size: int) -> int:
    if tensor_parallel_size > 1:
        return profile.non_torch_tp_bytes  # NCCL / custom all-reduce buffers
    if pipeline_parallel_size > 1:
        return profile.non_torch_pp_bytes
    return profile.non_torch_bytes
