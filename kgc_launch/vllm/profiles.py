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

Each profile's `fitted_on` names, per constant, the reference points (`tests/data/kv_reference_points.json`, marked
`used_for_calibration`) whose own logged figures set the value; `scripts/accuracy.py` keeps those points out of
the accuracy figures, and a test checks that the points named here are exactly the ones marked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from kgc_launch.units import GIB, MIB
from kgc_launch.versions import parse_engine_version


@dataclass(frozen=True)
class Fit:
    """Where one constant's value comes from."""

    points: tuple[str, ...]
    """Ids of reference points whose own logged figures set the value (empty: structural or from elsewhere)."""
    how: str


CONSTANTS = (
    "sampler_bytes_per_logit",
    "non_torch_bytes",
    "non_torch_tp_bytes",
    "non_torch_pp_bytes",
    "cuda_graph_bytes",
)
"""The fitted fields of a profile; `fitted_on` has one entry per name."""


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
    fitted_on: Mapping[str, Fit] = field(default_factory=dict, hash=False)
    """Per constant (`CONSTANTS`), the reference points it was fitted on."""


LLAMA_V019 = "llama31-8b-h100-tp1-16k-v0.19"
LLAMA_V011 = "llama31-8b-h100-tp1-16k-v0.11"
RTX3090_V06 = ("llama31-8b-rtx3090-20k-v0.6", "llama31-8b-rtx3090-29k-v0.6")
TP_V011 = ("llama33-70b-fp8-h100-tp2-16k-v0.11", "qwen3-32b-h100-tp2-16k-v0.11")
TP_V019 = ("llama31-8b-h100-tp2-8k-v0.19", "llama31-8b-h100-tp4-8k-v0.19")
PP_V019 = ("llama31-8b-h100-pp2-8k-v0.19",)
NO_GRAPHS = Fit((), "structural: this vLLM captures CUDA graphs after sizing the KV cache, out of the headroom")

FITTED_V0 = {
    "sampler_bytes_per_logit": Fit((), "structural: the V0 profile run samples greedily (no sampler peak)"),
    "non_torch_bytes": Fit(RTX3090_V06, "read off: both runs log non_torch_memory=0.35GiB"),
    "non_torch_tp_bytes": Fit(TP_V011, "not measured for V0: borrowed from the 0.8-0.11 profile"),
    "non_torch_pp_bytes": Fit(RTX3090_V06, "not measured: assumed equal to TP=1"),
    "cuda_graph_bytes": NO_GRAPHS,
}
FITTED_V011 = {
    "sampler_bytes_per_logit": Fit(
        (LLAMA_V011,), "read off: 4.76 GiB activation / (1024 rows x 128256 logits) = 38.9 B"
    ),
    "non_torch_bytes": Fit((LLAMA_V011,), "read off: Non-torch Memory 0.13 GiB"),
    "non_torch_tp_bytes": Fit(TP_V011, "read off: 0.55 GiB (Llama-3.3-70B-FP8, TP=2); Qwen3-32B at TP=2 logs 0.54"),
    "non_torch_pp_bytes": Fit((LLAMA_V011,), "not measured: assumed equal to TP=1"),
    "cuda_graph_bytes": NO_GRAPHS,
}
FITTED_V019 = {
    "sampler_bytes_per_logit": Fit(
        (LLAMA_V019,),
        "fitted on this log (torch peak 1.89 GiB at 1024 rows x 128256 logits); 15.8 B plans 1.93 GiB, "
        "0.04 GiB over the logged peak (1.89 GiB alone gives 15.45 B)",
    ),
    "non_torch_bytes": Fit((LLAMA_V019,), "read off: non-torch forward increase memory 0.25GiB"),
    "non_torch_tp_bytes": Fit(TP_V019, "mean of 2.07 GiB (TP=2) and 2.13 GiB (TP=4)"),
    "non_torch_pp_bytes": Fit(PP_V019, "read off: 0.07GiB on both pipeline stages"),
    "cuda_graph_bytes": NO_GRAPHS,
}


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
        fitted_on=FITTED_V0,
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
            "non-torch 0.13 GiB at TP=1 (Llama-3.1-8B), 0.55 GiB at TP=2 (Llama-3.3-70B-FP8; Qwen3-32B 0.54)"
        ),
        fitted_on=FITTED_V011,
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
            "phi-4 1.52 GiB; non-torch 0.25 GiB at TP=1, 2.1 GiB at TP>1 (Llama-3.1-8B: 2.07 at TP=2, 2.13 at "
            "TP=4; the sweep's other TP>1 logs print 2.07-2.21), 0.07 GiB at PP=2 (PP=4 prints the same). "
            "Versions 0.12-0.18 are not measured here; the 0.19 figures are assumed"
        ),
        fitted_on=FITTED_V019,
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
        fitted_on={
            **FITTED_V019,
            "cuda_graph_bytes": Fit(
                (),
                "from logs outside the reference set: 'Estimated CUDA graph memory' 0.52 GiB (LMCache/LMCache#3430, "
                "v0.21.0) and 0.36 GiB (gpustack/runner#251, v0.27.1); no reference point runs vLLM >= 0.21",
            ),
        },
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
