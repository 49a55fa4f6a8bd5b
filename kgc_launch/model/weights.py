"""How many bytes a model's weights take: the safetensors files on disk, or an estimate from the architecture.

Order of preference (what `read_model` records in `weight_bytes_source`): the safetensors index's
`metadata.total_size` (exact tensor bytes), else the sum of the `.safetensors` files (tensor bytes plus a
small JSON header each), else parameters counted from config.json times bytes per parameter.

The count follows the layer shapes of the transformers/vLLM implementations: SwiGLU MLPs (three matrices),
GQA projections, MLA's low-rank projections (DeepSeek-V3), gated delta net projections (Qwen3-Next) and
routed + shared experts. It is checked against published sizes in `tests/test_model_weights.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kgc_launch.model.quantization import quantization_name, quantized_weight_bytes

INDEX_FILE = "model.safetensors.index.json"
_DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "half": 2, "float32": 4, "float": 4}


@dataclass(frozen=True)
class DiskWeights:
    bytes: int
    source: Literal["safetensors_index", "safetensors_files"]
    detail: str


def weights_on_disk(directory: Path) -> DiskWeights | None:
    """The weight bytes of a model directory, or None when it holds no safetensors weights.

    Files in an HF cache snapshot are symlinks into `blobs/`; sizes follow them, and a dangling link (a
    download still under way) makes the file sum incomplete, so it is then not used.
    """
    index = directory / INDEX_FILE
    total = _index_total_size(index)
    if total is not None:
        return DiskWeights(total, "safetensors_index", f"{index}: metadata.total_size")
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        return None
    try:
        size = sum(path.stat().st_size for path in files)
    except OSError:
        return None
    return DiskWeights(size, "safetensors_files", f"{len(files)} .safetensors file(s) in {directory}")


def _index_total_size(index: Path) -> int | None:
    try:
        document = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None  # no index, or one we cannot read: fall back to the file sizes
    metadata = document.get("metadata") if isinstance(document, dict) else None
    total = metadata.get("total_size") if isinstance(metadata, dict) else None
    if isinstance(total, bool) or not isinstance(total, (int, float)) or total <= 0:
        return None
    return int(total)


@dataclass(frozen=True)
class ParameterCounts:
    """Parameters by role: which ones a quantization method compresses differs by method."""

    embeddings: int
    lm_head: int
    attention: int
    dense_mlp: int
    experts: int
    other: int
    """Norms, routers, shared-expert gates, a vision tower: kept in the checkpoint dtype."""

    @property
    def total(self) -> int:
        return self.embeddings + self.lm_head + self.attention + self.dense_mlp + self.experts + self.other


def estimate_weight_bytes(
    config: Mapping[str, Any], text: Mapping[str, Any], quant_config: Mapping[str, Any] | None
) -> int | None:
    """Weight bytes estimated from the architecture, or None when config.json lacks the dimensions."""
    counts = count_parameters(text, config.get("vision_config"))
    if counts is None:
        return None
    dtype = text.get("dtype") or text.get("torch_dtype") or config.get("dtype") or config.get("torch_dtype")
    element = _DTYPE_BYTES.get(str(dtype), 2)
    name = quantization_name(quant_config) if quant_config else None
    per_quantized = quantized_weight_bytes(name, quant_config)
    if per_quantized is None:
        return counts.total * element
    if name == "mxfp4":
        # gpt-oss quantizes only the expert MLPs; attention, router and embeddings stay bf16
        # (its quantization_config.modules_to_not_convert).
        return round(counts.experts * per_quantized + (counts.total - counts.experts) * element)
    compressed = counts.attention + counts.dense_mlp + counts.experts
    return round(compressed * per_quantized + (counts.total - compressed) * element)


def count_parameters(text: Mapping[str, Any], vision: Any = None) -> ParameterCounts | None:
    """Parameters of a decoder-only transformer described by a (text) config, by role."""
    hidden = _int(text, "hidden_size")
    layers = _int(text, "num_hidden_layers")
    heads = _int(text, "num_attention_heads")
    vocab = _int(text, "vocab_size")
    if not (hidden and layers and heads and vocab):
        return None
    embeddings = vocab * hidden
    tied = text.get("tie_word_embeddings", True)  # transformers PretrainedConfig default: tied
    lm_head = 0 if tied else vocab * hidden
    full, linear = _full_and_linear_layers(text, layers)
    attention = full * _attention_params(text, hidden, heads) + linear * _linear_attention_params(text, hidden)
    moe_layers, dense_layers = _moe_and_dense_layers(text, layers)
    dense_mlp = dense_layers * _mlp_matrices(text) * hidden * (_int(text, "intermediate_size") or 0)
    experts, routers = _expert_params(text, hidden, moe_layers)
    norms = 2 * hidden * layers + hidden
    if str(text.get("model_type", "")).startswith(("qwen3", "gemma3")):
        norms += full * 2 * (_int(text, "head_dim") or hidden // heads)  # per-head q_norm and k_norm
    other = norms + routers + _vision_params(vision, hidden)
    return ParameterCounts(embeddings, lm_head, attention, dense_mlp, experts, other)


# Families whose dense MLP is up + down projections with a plain activation (GELU), not a gated SwiGLU/GeGLU:
# transformers' GPTNeoXMLP, PhiMLP, GPTBigCodeMLP, GPTJMLP, OPT's fc1/fc2, BloomMLP, FalconMLP, Starcoder2MLP.
_UNGATED_MLP = {"gpt_neox", "phi", "gpt2", "gpt_bigcode", "gptj", "opt", "bloom", "falcon", "starcoder2"}


def _mlp_matrices(text: Mapping[str, Any]) -> int:
    return 2 if str(text.get("model_type", "")) in _UNGATED_MLP else 3


def _int(mapping: Mapping[str, Any], key: str) -> int | None:
    value = mapping.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _full_and_linear_layers(text: Mapping[str, Any], layers: int) -> tuple[int, int]:
    types = text.get("layer_types")
    if isinstance(types, list):
        linear = sum(kind == "linear_attention" for kind in types)
        return layers - linear, linear
    interval = _int(text, "full_attention_interval")
    if interval:
        return layers // interval, layers - layers // interval
    return layers, 0


def _attention_params(text: Mapping[str, Any], hidden: int, heads: int) -> int:
    kv_lora = _int(text, "kv_lora_rank")
    if kv_lora:
        nope = _int(text, "qk_nope_head_dim") or 0
        rope = _int(text, "qk_rope_head_dim") or 0
        value = _int(text, "v_head_dim") or nope
        q_lora = _int(text, "q_lora_rank")
        q = hidden * q_lora + q_lora + q_lora * heads * (nope + rope) if q_lora else hidden * heads * (nope + rope)
        kv = hidden * (kv_lora + rope) + kv_lora + kv_lora * heads * (nope + value)
        return q + kv + heads * value * hidden
    head_dim = _int(text, "head_dim") or hidden // heads
    kv_heads = _int(text, "num_key_value_heads") or heads
    # Qwen3-Next's gated attention projects a gate as wide as the query (q_proj is twice as wide).
    query_width = 2 if text.get("model_type") == "qwen3_next" else 1
    return hidden * heads * head_dim * query_width + 2 * hidden * kv_heads * head_dim + heads * head_dim * hidden


def _linear_attention_params(text: Mapping[str, Any], hidden: int) -> int:
    """Gated delta net (Qwen3-Next): in_proj_qkvz, in_proj_ba, conv1d, out_proj, norm, A_log, dt_bias."""
    key = (_int(text, "linear_num_key_heads") or 0) * (_int(text, "linear_key_head_dim") or 0)
    value_heads = _int(text, "linear_num_value_heads") or 0
    value_dim = _int(text, "linear_value_head_dim") or 0
    value = value_heads * value_dim
    kernel = _int(text, "linear_conv_kernel_dim") or 0
    return (
        hidden * (2 * key + 2 * value)
        + hidden * 2 * value_heads
        + (2 * key + value) * kernel
        + value * hidden
        + value_dim
        + 2 * value_heads
    )


def _moe_and_dense_layers(text: Mapping[str, Any], layers: int) -> tuple[int, int]:
    experts = _int(text, "num_experts") or _int(text, "num_local_experts") or _int(text, "n_routed_experts")
    if not experts or experts < 2:
        return 0, layers
    dense = _int(text, "first_k_dense_replace") or 0  # DeepSeek: the first k layers keep a dense MLP
    only = text.get("mlp_only_layers")
    if isinstance(only, list):
        dense += len(only)
    return layers - dense, dense


def _expert_params(text: Mapping[str, Any], hidden: int, moe_layers: int) -> tuple[int, int]:
    if not moe_layers:
        return 0, 0
    experts = _int(text, "num_experts") or _int(text, "num_local_experts") or _int(text, "n_routed_experts") or 0
    size = _int(text, "moe_intermediate_size") or _int(text, "intermediate_size") or 0
    per_layer = experts * 3 * hidden * size
    shared = _int(text, "n_shared_experts") or 0
    per_layer += shared * 3 * hidden * size
    shared_size = _int(text, "shared_expert_intermediate_size") or 0
    per_layer += 3 * hidden * shared_size
    routers = hidden * experts + (hidden if shared_size else 0)  # router (+ Qwen's shared-expert gate)
    return moe_layers * per_layer, moe_layers * routers


def _vision_params(vision: Any, text_hidden: int) -> int:
    """A ViT tower (SigLIP in gemma-3): 4 h^2 attention + 2 h i MLP per layer, plus the projector."""
    if not isinstance(vision, Mapping):
        return 0
    hidden = _int(vision, "hidden_size") or 0
    inner = _int(vision, "intermediate_size") or 0
    layers = _int(vision, "num_hidden_layers") or 0
    return layers * (4 * hidden * hidden + 2 * hidden * inner) + hidden * text_hidden
