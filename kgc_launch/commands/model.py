"""`kgc-launch model inspect MODEL [--revision R] [--hf-config-path P] [--json]`: what is known about a model.

Prints the capabilities (the seed's record), where each fact came from, and what one token of context
costs in KV cache. A model neither on disk nor in the HF cache is asked of the Hub (metadata only, into the
HF cache; `KGC_NO_HUB=1` or `HF_HUB_OFFLINE=1` forbid it), then the shipped catalog. A value without a
source is not a fact and prints as unknown; an unknown model prints so, with why, and exits 3 like `fit`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields
from typing import TYPE_CHECKING

from kgc_launch.records import to_plain
from kgc_launch.units import GIB

if TYPE_CHECKING:
    from kgc_launch.model.facts import ModelFacts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    inspect = actions.add_parser(
        "inspect",
        help="capabilities, where each came from, KV bytes per token",
        description="Read a model's metadata: a directory with config.json, a .gguf file, a repo id in the "
        "Hugging Face cache, else from the Hub (config and safetensors metadata only; KGC_NO_HUB=1 or "
        "HF_HUB_OFFLINE=1 forbid it, KGC_HUB_TIMEOUT limits it, default 5 s), else the shipped catalog. "
        "Exit 3 when the model is unknown.",
    )
    inspect.add_argument("model", metavar="MODEL", help="directory, .gguf file, or Hub repo id (ORG/NAME)")
    inspect.add_argument("--revision", metavar="R", help="branch, tag or commit (main), as vLLM's --revision")
    inspect.add_argument(
        "--hf-config-path", metavar="P", help="read config.json from here instead (as vLLM's --hf-config-path)"
    )
    inspect.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from kgc_launch.errors import InputError
    from kgc_launch.model.kv_cache import kv_bytes_per_token, linear_state_bytes
    from kgc_launch.model.metadata import read_model

    facts = read_model(
        args.model, revision=args.revision, environ=os.environ, hub=True, hf_config_path=args.hf_config_path
    )
    per_token: dict[str, int] | None = None
    if facts.source != "unknown":
        per_token = {dtype: kv_bytes_per_token(facts, kv_cache_dtype=dtype) for dtype in ("auto", "fp8")}
        per_token["state_per_sequence"] = linear_state_bytes(facts)
    if args.json:
        sys.stdout.write(json.dumps(_document(facts, per_token), indent=2) + "\n")
    else:
        print(_table(facts, per_token))
    if facts.source == "unknown":
        sys.stdout.flush()
        raise InputError(f"{args.model}: the model is unknown", hint=facts.notes[0] if facts.notes else None)
    return 0


def _document(facts: ModelFacts, per_token: dict[str, int] | None) -> dict[str, object]:
    return {
        "model": facts.model_id,
        "source": facts.source,
        "source_detail": facts.source_detail,
        "revision": facts.revision,
        "capabilities": _known_capabilities(facts),
        "facts": {
            field.name: to_plain(getattr(facts, field.name))
            for field in fields(facts)
            if field.name not in ("capabilities", "provenance", "notes")
        },
        "provenance": facts.provenance,
        "kv_bytes_per_token": per_token,
        "notes": facts.notes,
    }


def _table(facts: ModelFacts, per_token: dict[str, int] | None) -> str:
    where = facts.source_detail or "-"
    lines = [f"{facts.model_id or '(no repo id)'}  [{facts.source}: {where}]"]
    if facts.revision:
        lines[0] += f" revision {facts.revision}"
    rows = _rows(facts)
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    lines.append("")
    for name, value, source in rows:
        lines.append(f"  {name:<{width}}  {value:<{value_width}}  {source}".rstrip())
    if per_token is not None:
        lines.append("")
        lines.append(
            f"KV cache per token of context (1 GPU): {_kib(per_token['auto'])} at 16 bits, "
            f"{_kib(per_token['fp8'])} with --kv-cache-dtype fp8"
            + (" (sliding-window layers stop growing at their window)" if facts.sliding_window else "")
        )
        if per_token["state_per_sequence"]:
            lines.append(
                f"linear-attention state per sequence (1 GPU): {_kib(per_token['state_per_sequence'])}, "
                "whatever the context length"
            )
    for note in facts.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


# Capability fields that always hold a value in the seed's record, placeholders included: shown only when
# provenance names where they came from (ModelCapabilities.unknown()'s `fp16, fp32` is not a fact).
_PLACEHOLDERS = ("supported_dtypes", "graph_safe_moe")


def _known_capabilities(facts: ModelFacts) -> dict[str, object]:
    """The seed's record, with null for what is not known (placeholders without a source)."""
    plain = facts.capabilities.to_plain()
    for name in _PLACEHOLDERS:
        if name not in facts.provenance:
            plain[name] = None
    return plain


def _rows(facts: ModelFacts) -> list[tuple[str, str, str]]:
    capabilities = facts.capabilities
    source = facts.provenance.get
    known = facts.source != "unknown"
    moe = capabilities.moe
    moe_text = (
        f"{moe.num_experts} experts, {moe.experts_per_token} per token, width {moe.moe_intermediate_size}"
        if moe
        else ("-" if known else "unknown")
    )
    weights = f"{facts.weight_bytes / GIB:.2f} GiB" if facts.weight_bytes else "unknown"
    return [
        ("architecture", capabilities.architecture, source("architecture", "")),
        ("quantization", capabilities.quantization or ("none" if known else "unknown"), source("quantization", "")),
        ("moe", moe_text, source("moe_intermediate_size", "")),
        ("max context", _text(capabilities.max_context_len), source("max_position_embeddings", "")),
        ("layers", _text(capabilities.num_hidden_layers), source("num_hidden_layers", "")),
        ("attention", facts.attention, ""),
        ("kv cache layers", _kv_layers(facts), source("kv_cache_layers", "")),
        ("head dim", _text(capabilities.head_dim), source("head_dim", "")),
        ("kv heads", _text(capabilities.kv_heads), source("num_kv_heads", "")),
        ("weights", weights, f"{facts.weight_bytes_source}: {source('weight_bytes', '')}" if known else ""),
        ("dtype", facts.torch_dtype or "unknown", source("torch_dtype", "")),
        ("supported dtypes", _placeholder(facts, "supported_dtypes"), source("supported_dtypes", "")),
        ("graph-safe MoE", _placeholder(facts, "graph_safe_moe"), source("graph_safe_moe", "")),
    ]


def _placeholder(facts: ModelFacts, name: str) -> str:
    if name not in facts.provenance:
        return "unknown"
    value = getattr(facts.capabilities, name)
    return ", ".join(value) if isinstance(value, list) else str(value).lower()


def _kv_layers(facts: ModelFacts) -> str:
    if facts.kv_cache_layers is None:
        return "unknown"
    parts = [f"{facts.kv_cache_layers}"]
    if facts.sliding_window_layers:
        parts.append(f"({facts.sliding_window_layers} sliding, window {facts.sliding_window})")
    if facts.linear_attention_layers:
        parts.append(f"(+{facts.linear_attention_layers} linear-attention layers: state per sequence)")
    if facts.attention == "mla":
        parts.append(f"(MLA latent {facts.kv_lora_rank} + rope {facts.qk_rope_head_dim})")
    return " ".join(parts)


def _text(value: object) -> str:
    return "unknown" if value is None else str(value)


def _kib(value: int) -> str:
    return f"{value / 1024:,.1f} KiB ({value:,} bytes)"
