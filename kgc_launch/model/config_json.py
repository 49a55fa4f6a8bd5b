"""A Hugging Face `config.json` -> `ModelFacts`: the architecture numbers the memory plan and resolvers need.

Pure: a parsed JSON object in, facts out (`load_config_json` is the one reader of the file). The variations
handled are the real ones: `dtype` (transformers >= 4.56) vs `torch_dtype`, a `text_config` nested in
multimodal configs (gemma-3), a missing `head_dim`, `layer_types` / `full_attention_interval` for hybrids
(Qwen3-Next), `sliding_window` with a layer pattern (gemma-3, gpt-oss), MLA (`kv_lora_rank`, DeepSeek-V3)
and the three spellings of an expert count. Every fact records where it came from in `provenance`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kgc_launch.errors import InputError
from kgc_launch.model.facts import FactsSource, LinearAttentionFacts, ModelFacts
from kgc_launch.model.quantization import quantization_name
from kgc_launch.model.weights import estimate_weight_bytes
from kgc_launch.records import ModelCapabilities, MoeCapabilities

Config = Mapping[str, Any]

# Fields a config.json may leave out because the transformers config class supplies them. Only classes
# whose published configs rely on this are listed; the values are the class defaults
# (transformers `models/gemma3/configuration_gemma3.py`, `Gemma3TextConfig.__init__`).
CLASS_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma3_text": {
        "vocab_size": 262208,
        "max_position_embeddings": 131072,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "sliding_window_pattern": 6,
        "tie_word_embeddings": True,
    },
}
_CLASS_DEFAULTS_SOURCE = "transformers Gemma3TextConfig default"

# `torch_dtype` spellings -> the short names the seed's records use.
DTYPE_SHORT = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp32", "float": "fp32"}


def load_config_json(path: Path) -> dict[str, Any]:
    """Read and parse a config.json; a malformed file is an InputError naming the file and line."""
    from kgc_launch.yamlio import read_text_limited

    text = read_text_limited(path, what="model config")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"not valid JSON: {error.msg}",
            path=path,
            line=error.lineno,
            hint="a config.json must be one JSON object; re-download it or fix the line named",
        ) from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", path=path) from None
    if not isinstance(document, dict):
        raise InputError("a model config.json must be a JSON object", path=path, line=1)
    return document


class _Reader:
    """Looks fields up in the text config, then the top level, then the class defaults; records where."""

    def __init__(self, config: Config, path_label: str) -> None:
        text = config.get("text_config")
        self.top = config
        self.text: Config = text if isinstance(text, Mapping) else config
        self.nested = self.text is not config
        self.label = path_label
        model_type = self.text.get("model_type") or config.get("model_type")
        self.defaults = CLASS_DEFAULTS.get(str(model_type), {})
        self.provenance: dict[str, str] = {}

    def where(self, key: str) -> str:
        prefix = "text_config." if self.nested else ""
        return f"{self.label}: {prefix}{key}"

    def raw(self, *keys: str) -> tuple[Any, str] | None:
        for key in keys:
            if self.text.get(key) is not None:
                return self.text[key], self.where(key)
            if self.nested and self.top.get(key) is not None:
                return self.top[key], f"{self.label}: {key}"
        for key in keys:
            if key in self.defaults:
                return self.defaults[key], f"{_CLASS_DEFAULTS_SOURCE} ({key})"
        return None

    def int(self, fact: str, *keys: str) -> int | None:
        found = self.raw(*keys)
        if found is None:
            return None
        value, where = found
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"expected an integer, found {value!r}", path=self.label, field=keys[0])
        self.provenance[fact] = where
        return value


def facts_from_config(
    config: Config,
    *,
    source: FactsSource,
    source_detail: str,
    config_label: str = "config.json",
    model_id: str | None = None,
    revision: str | None = None,
) -> ModelFacts:
    """Build `ModelFacts` from a parsed config.json; weight bytes are an architecture estimate here
    (callers replace them with the safetensors sizes when the files are on disk)."""
    read = _Reader(config, config_label)
    notes: list[str] = []
    layers = read.int("num_hidden_layers", "num_hidden_layers", "n_layer", "num_layers")
    heads = read.int("num_attention_heads", "num_attention_heads", "n_head")
    hidden = read.int("hidden_size", "hidden_size", "n_embd", "d_model")
    kv_heads = read.int("num_kv_heads", "num_key_value_heads", "num_kv_heads")
    multi_query = read.raw("multi_query")
    if kv_heads is None and multi_query is not None and multi_query[0] is True:
        kv_heads = 1  # Falcon (RW) and GPTBigCode: one K/V head shared by every query head
        read.provenance["num_kv_heads"] = f"{config_label}: multi_query (one KV head)"
    if kv_heads is None and heads is not None:
        kv_heads = heads
        read.provenance["num_kv_heads"] = "num_attention_heads (no num_key_value_heads: every head has its KV)"
    kv_lora_rank = read.int("kv_lora_rank", "kv_lora_rank")
    qk_rope = read.int("qk_rope_head_dim", "qk_rope_head_dim") if kv_lora_rank else None
    head_dim = _head_dim(read, hidden, heads, kv_lora_rank)
    dtype_name, dtype_where = _dtype(read)
    quant_config = _mapping(read.raw("quantization_config"))
    quantization = quantization_name(quant_config) if quant_config is not None else None
    if quant_config is not None:
        read.provenance["quantization"] = "quantization_config"
    moe = _moe(read)
    layer_kinds = _layer_kinds(read, layers, notes)
    max_pos = read.int("max_position_embeddings", "max_position_embeddings", "n_positions", "seq_length")
    _note_rope_scaling(read, notes)
    linear = _linear_attention(read) if layer_kinds.linear else None
    attention = _attention_kind(kv_lora_rank, layer_kinds.linear, heads, kv_heads)
    architecture = str(config.get("model_type") or read.text.get("model_type") or "unknown")
    unmodelled = _not_modelled(config, read.text)
    if unmodelled is None:
        unmodelled = _missing_facts(layers, heads, hidden, head_dim)
    if unmodelled is not None:
        notes.insert(0, f"not evaluated: {unmodelled}")
    weight_bytes = None if unmodelled else estimate_weight_bytes(config, {**read.defaults, **read.text}, quant_config)
    if weight_bytes is not None:
        read.provenance["weight_bytes"] = "parameters counted from the architecture x bytes per parameter"
    capabilities = ModelCapabilities(
        architecture=architecture,
        quantization=quantization,
        moe=moe,
        max_context_len=max_pos,
        num_hidden_layers=layers,
        head_dim=head_dim,
        kv_heads=kv_heads,
        estimated_weight_bytes=weight_bytes,
        supported_dtypes=_supported_dtypes(dtype_name, quantization),
        graph_safe_moe=False,
    )
    read.provenance["architecture"] = f"{config_label}: model_type"
    if quantization in _FP16_ONLY or dtype_name in DTYPE_SHORT:
        read.provenance["supported_dtypes"] = "the checkpoint dtype (+fp32); fp16 only for int4 GPTQ/AWQ kernels"
    # else: no dtype to derive them from; the record keeps the seed's placeholder, with no source (not a fact)
    read.provenance["graph_safe_moe"] = "not derivable from config.json (seed default: false)"
    if dtype_where:
        read.provenance["torch_dtype"] = dtype_where
    return ModelFacts(
        model_id=model_id,
        source=source,
        source_detail=source_detail,
        capabilities=capabilities,
        num_attention_heads=heads,
        num_kv_heads=kv_heads,
        hidden_size=hidden,
        num_hidden_layers=layers,
        head_dim=head_dim,
        vocab_size=read.int("vocab_size", "vocab_size"),
        intermediate_size=read.int("intermediate_size", "intermediate_size", "ffn_dim"),
        max_position_embeddings=max_pos,
        torch_dtype=dtype_name,
        quant_method=str(quant_config.get("quant_method")) if quant_config else None,
        attention=attention,
        kv_lora_rank=kv_lora_rank,
        qk_rope_head_dim=qk_rope,
        kv_cache_layers=layer_kinds.full + layer_kinds.sliding if layers is not None else None,
        sliding_window=layer_kinds.window,
        sliding_window_layers=layer_kinds.sliding if layer_kinds.window else 0,
        weight_bytes=weight_bytes,
        weight_bytes_source="estimate" if weight_bytes is not None else "unknown",
        notes=notes,
        revision=revision,
        model_type=str(read.text.get("model_type") or architecture),
        linear_attention_layers=layer_kinds.linear,
        linear_attention=linear,
        tie_word_embeddings=_tied(read),
        provenance=read.provenance,
    )


# Encoder-only families: vLLM runs them as pooling models, with no KV cache to plan.
_ENCODER_ONLY = {"bert", "roberta", "xlm-roberta", "distilbert", "deberta", "deberta-v2", "electra", "nomic_bert"}
# Keys that only state-space (Mamba) layers have; this reader models gated delta net state, not Mamba's.
_MAMBA_KEYS = ("mamba_d_state", "mamba_d_ssm", "ssm_state_size", "state_size", "mamba_num_heads", "ssm_cfg")


def _not_modelled(config: Config, text: Config) -> str | None:
    """Why the architecture is outside what this reader models, or None when it is a decoder it knows."""
    model_type = str(text.get("model_type") or config.get("model_type") or "")
    if config.get("is_encoder_decoder") is True or text.get("is_encoder_decoder") is True:
        return f"{model_type or 'this model'} is an encoder-decoder; only decoder-only KV caches are planned"
    if model_type in _ENCODER_ONLY:
        return f"{model_type} is an encoder-only model; it keeps no KV cache to plan"
    mamba = [key for key in _MAMBA_KEYS if text.get(key) is not None]
    if mamba or any(str(kind) == "mamba" for kind in text.get("layer_types") or []):
        return (
            f"{model_type or 'this model'} has state-space (Mamba) layers ({', '.join(mamba) or 'layer_types'}); "
            "their per-sequence state and which layers keep a KV cache are not modelled"
        )
    return None


def _missing_facts(layers: int | None, heads: int | None, hidden: int | None, head_dim: int | None) -> str | None:
    missing = [
        name
        for name, value in (
            ("num_hidden_layers", layers),
            ("num_attention_heads", heads),
            ("hidden_size", hidden),
            ("head_dim", head_dim),
        )
        if value is None
    ]
    if not missing:
        return None
    return f"config.json names no {', '.join(missing)} under a key this reader knows"


def _tied(read: _Reader) -> bool | None:
    found = read.raw("tie_word_embeddings")
    if found is None or not isinstance(found[0], bool):
        return None
    read.provenance["tie_word_embeddings"] = found[1]
    return found[0]


def _mapping(found: tuple[Any, str] | None) -> Mapping[str, Any] | None:
    if found is None or not isinstance(found[0], Mapping):
        return None
    return found[0]


def _head_dim(read: _Reader, hidden: int | None, heads: int | None, kv_lora_rank: int | None) -> int | None:
    if kv_lora_rank:
        nope = read.int("qk_nope_head_dim", "qk_nope_head_dim")
        rope = read.int("qk_rope_head_dim", "qk_rope_head_dim")
        if nope is not None and rope is not None:
            read.provenance["head_dim"] = "MLA: qk_nope_head_dim + qk_rope_head_dim (KV holds the latent)"
            return nope + rope
    explicit = read.int("head_dim", "head_dim")
    if explicit is not None:
        return explicit
    if hidden is not None and heads:
        read.provenance["head_dim"] = "hidden_size / num_attention_heads (config.json has no head_dim)"
        return hidden // heads
    return None


def _dtype(read: _Reader) -> tuple[str | None, str | None]:
    # transformers >= 4.56 writes `dtype`; older releases `torch_dtype`. Either may sit at the top level of
    # a multimodal config rather than in text_config.
    found = read.raw("dtype", "torch_dtype")
    if found is None or not isinstance(found[0], str):
        return None, None
    return found[0], found[1]


def _moe(read: _Reader) -> MoeCapabilities | None:
    experts = read.int("num_experts", "num_experts", "num_local_experts", "n_routed_experts")
    per_token = read.int("experts_per_token", "num_experts_per_tok", "experts_per_token", "moe_topk")
    if not experts or experts < 2 or not per_token:
        return None
    size = read.int("moe_intermediate_size", "moe_intermediate_size")
    if size is None:
        # Mixtral and gpt-oss name the expert MLP width `intermediate_size` (every layer is MoE).
        size = read.int("moe_intermediate_size", "intermediate_size")
    return MoeCapabilities(num_experts=experts, experts_per_token=per_token, moe_intermediate_size=size)


class _LayerKinds:
    def __init__(self, full: int, sliding: int, linear: int, window: int | None) -> None:
        self.full, self.sliding, self.linear, self.window = full, sliding, linear, window


_FULL = {"full_attention", "attention", "global", "global_attention"}
_SLIDING = {"sliding_attention", "sliding_window", "local", "local_attention", "sliding_window_attention"}
_LINEAR = {"linear_attention", "mamba", "gated_delta_net"}


def _layer_kinds(read: _Reader, layers: int | None, notes: list[str]) -> _LayerKinds:
    """How many layers keep a full KV cache, a sliding-window one, or a linear-attention state."""
    if layers is None:
        return _LayerKinds(0, 0, 0, None)
    window = _sliding_window(read)
    types = read.raw("layer_types")
    if types is not None and isinstance(types[0], list):
        kinds = [str(kind) for kind in types[0]]
        full = sum(kind in _FULL for kind in kinds)
        sliding = sum(kind in _SLIDING for kind in kinds)
        linear = sum(kind in _LINEAR for kind in kinds)
        other = len(kinds) - full - sliding - linear
        if other:
            notes.append(f"{other} layer type(s) not understood; counted as full attention")
            full += other
        if sliding and not window:
            notes.append("sliding layers listed but no sliding_window size; counted as full attention")
            full, sliding = full + sliding, 0
        read.provenance["kv_cache_layers"] = f"{types[1]} ({full} full, {sliding} sliding, {linear} linear)"
        return _LayerKinds(full, sliding, linear, window if sliding else None)
    interval = read.int("full_attention_interval", "full_attention_interval")
    if interval:
        full = layers // interval
        read.provenance["kv_cache_layers"] = f"every {interval}th layer is full attention, the rest linear"
        return _LayerKinds(full, 0, layers - full, None)
    if window:
        pattern = read.int("sliding_window_pattern", "sliding_window_pattern")
        if pattern:
            full = layers // pattern
            read.provenance["kv_cache_layers"] = f"every {pattern}th layer is global, the rest sliding"
            return _LayerKinds(full, layers - full, 0, window)
        read.provenance["kv_cache_layers"] = "sliding_window with no layer pattern: every layer slides"
        return _LayerKinds(0, layers, 0, window)
    read.provenance["kv_cache_layers"] = "num_hidden_layers (every layer is full attention)"
    return _LayerKinds(layers, 0, 0, None)


def _sliding_window(read: _Reader) -> int | None:
    # Qwen2/Qwen3 configs carry a `sliding_window` that is off unless `use_sliding_window` is true.
    use = read.raw("use_sliding_window")
    if use is not None and use[0] is False:
        return None
    found = read.raw("sliding_window")
    if found is None or isinstance(found[0], bool) or not isinstance(found[0], int) or found[0] <= 0:
        return None
    read.provenance["sliding_window"] = found[1]
    value: int = found[0]
    return value


def _linear_attention(read: _Reader) -> LinearAttentionFacts | None:
    values = [
        read.int("linear_num_key_heads", "linear_num_key_heads"),
        read.int("linear_num_value_heads", "linear_num_value_heads"),
        read.int("linear_key_head_dim", "linear_key_head_dim"),
        read.int("linear_value_head_dim", "linear_value_head_dim"),
        read.int("linear_conv_kernel_dim", "linear_conv_kernel_dim"),
    ]
    if any(value is None for value in values):
        return None
    nk, nv, dk, dv, kernel = (int(value or 0) for value in values)
    return LinearAttentionFacts(
        num_key_heads=nk, num_value_heads=nv, key_head_dim=dk, value_head_dim=dv, conv_kernel_dim=kernel
    )


def _attention_kind(kv_lora_rank: int | None, linear: int, heads: int | None, kv_heads: int | None) -> Any:
    if kv_lora_rank:
        return "mla"
    if linear:
        return "hybrid"
    if heads is None or kv_heads is None:
        return "unknown"
    return "mha" if kv_heads == heads else "gqa"


def _note_rope_scaling(read: _Reader, notes: list[str]) -> None:
    found = read.raw("rope_scaling", "rope_parameters")
    if found is None or not isinstance(found[0], Mapping):
        return
    scaling = found[0]
    kind = scaling.get("rope_type") or scaling.get("type")
    if kind in (None, "default"):
        return
    factor = scaling.get("factor")
    original = scaling.get("original_max_position_embeddings")
    detail = f"rope scaling {kind}" + (f" x{factor}" if factor else "")
    if original:
        detail += f" from {original} trained positions"
    notes.append(f"{detail} ({found[1]}); max context is max_position_embeddings")


_FP16_ONLY = ("gptq_int4", "awq_int4")


def _supported_dtypes(dtype_name: str | None, quantization: str | None) -> list[str]:
    if quantization in _FP16_ONLY:
        return ["fp16"]  # the seed's choice for int4 GPTQ: its Marlin/ferrum kernels compute in fp16
    short = DTYPE_SHORT.get(dtype_name or "")
    if short is None:
        return ["fp16", "fp32"]  # ModelCapabilities.unknown()'s placeholder; no provenance is recorded for it
    if short == "fp32":
        return ["fp32", "bf16", "fp16"]
    return [short, "fp32"]
