"""Build `registry/model-catalog.json` (the air-gapped fallback of `read_model`) from recorded metadata.

    .venv/bin/python scripts/build_model_catalog.py           # rewrite the catalog, print the report
    .venv/bin/python scripts/build_model_catalog.py --check   # exit 1 if the committed catalog is stale

Input: `registry/model-metadata/*.json`, one record per Hub model id: the model's published `config.json`
(inline, or `config_file` naming a copy in this repository), where that copy was read (`recorded_from`:
repository, path, commit, date; or `url` and `read` for a Hub file page read as the page shows it), when
(`recorded_on`), the safetensors index total where one was recorded (`weights`), and the vLLM
recipe that lists the model with its published parameter count (`recipe`).

Output: one catalog entry per record that passes two checks, with the fields of config.json that
kgc-launch reads (same names and nesting, nothing invented), its source and date:

1. kgc-launch reads it: `facts_from_config` yields the layer count and the KV-cache layers;
2. the architecture count agrees with the published size: parameters counted from the config are within
   15% of the recipe's `parameter_count`. A config that fails describes an architecture the reader does
   not model (a hybrid Mamba layout, a new attention) or is an abridged copy that lost fields; shipping it
   would give wrong plans, so it stays recorded but is left out, and the report says why.

The catalog is JSON read with the standard library: on the launch path, loading it must stay cheap.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kgc_launch.errors import InputError  # noqa: E402
from kgc_launch.model.config_json import CLASS_DEFAULTS, facts_from_config  # noqa: E402
from kgc_launch.model.weights import count_parameters  # noqa: E402

RECORDS = ROOT / "registry" / "model-metadata"
CATALOG = ROOT / "registry" / "model-catalog.json"
TOLERANCE = 0.15

# The config.json fields kgc-launch reads (model/config_json.py, model/weights.py, model/quantization.py),
# plus `architectures` and `rope_theta` for people reading the catalog.
READ_KEYS = {
    "architectures", "model_type", "dtype", "torch_dtype", "vocab_size", "tie_word_embeddings", "rope_theta",
    "hidden_size", "n_embd", "d_model", "num_hidden_layers", "n_layer", "num_layers",
    "num_attention_heads", "n_head", "num_key_value_heads", "head_dim",
    "kv_lora_rank", "q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim",
    "intermediate_size", "ffn_dim", "moe_intermediate_size", "shared_expert_intermediate_size",
    "num_experts", "num_local_experts", "n_routed_experts", "n_shared_experts",
    "num_experts_per_tok", "experts_per_token", "moe_topk", "first_k_dense_replace", "mlp_only_layers",
    "max_position_embeddings", "n_positions", "seq_length", "rope_scaling", "rope_parameters",
    "layer_types", "full_attention_interval", "sliding_window", "use_sliding_window", "sliding_window_pattern",
    "linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim",
    "linear_conv_kernel_dim",
}  # fmt: skip
VISION_KEYS = {"model_type", "hidden_size", "intermediate_size", "num_hidden_layers"}
# Long lists of module names that say which layers stay unquantized: not read, and they dwarf the rest.
QUANT_DROP = {"ignore", "modules_to_not_convert", "ignored_layers", "exclude_modules"}


def load_record(path: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if "config_file" in record:
        record["config"] = json.loads((ROOT / record["config_file"]).read_text(encoding="utf-8"))
    for field in ("id", "published_at", "recorded_from", "recorded_on", "config", "weights"):
        if field not in record:
            raise SystemExit(f"{path}: no {field!r}")
    origin = record["recorded_from"]
    if not (origin.get("repo") and origin.get("path")) and not origin.get("url"):
        raise SystemExit(f"{path}: recorded_from names neither a repository and path nor a page url")
    return record


def read_fields(config: dict[str, Any]) -> dict[str, Any]:
    """The fields kgc-launch reads, with their published names, nesting and values (text_config whole)."""
    out = {key: value for key, value in config.items() if key in READ_KEYS}
    if isinstance(config.get("text_config"), dict):
        out["text_config"] = dict(config["text_config"])  # whole: the language model's own config.json
    if isinstance(config.get("vision_config"), dict):
        out["vision_config"] = {k: v for k, v in config["vision_config"].items() if k in VISION_KEYS}
    if isinstance(config.get("quantization_config"), dict):
        out["quantization_config"] = {k: v for k, v in config["quantization_config"].items() if k not in QUANT_DROP}
    return out


def parse_count(text: str | None) -> float | None:
    """`8.2B`, `30.5B`, `1T`, `1600B` -> parameters."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([BMT])\s*", text or "")
    if match is None:
        return None
    return float(match.group(1)) * {"M": 1e6, "B": 1e9, "T": 1e12}[match.group(2)]


def recorded_from(record: dict[str, Any]) -> str:
    origin = record["recorded_from"]
    if origin.get("url"):  # a Hub file page, read as the page showed it
        where = f"page {origin['url']}"
        if origin.get("read"):
            where += f" (read {origin['read']})"
    else:
        where = f"github {origin['repo']} {origin['path']}"
        if origin.get("commit"):
            where += f"@{origin['commit'][:12]}"
        if origin.get("committed"):
            where += f" ({origin['committed']})"
    for key in ("note", "corroborated_by"):
        if origin.get(key):
            where += f"; {origin[key]}"
    return where


def check(record: dict[str, Any], fields: dict[str, Any]) -> tuple[str | None, str]:
    """(why it is left out, or None; what the parameter check found)."""
    if record.get("catalog_exclude"):
        return f"reviewed: {record['catalog_exclude']}", ""
    try:
        facts = facts_from_config(fields, source="catalog", source_detail=record["published_at"])
    except InputError as error:
        return f"kgc-launch cannot read it: {error.message}", ""
    if not facts.num_hidden_layers or not facts.kv_cache_layers:
        return "kgc-launch reads no layer count from it", ""
    config = record["config"]
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    defaults = CLASS_DEFAULTS.get(str(text.get("model_type") or config.get("model_type")), {})
    counts = count_parameters({**defaults, **text}, config.get("vision_config"))  # as estimate_weight_bytes does
    recipe = record.get("recipe") or {}
    published = parse_count(recipe.get("parameter_count"))
    if counts is None:
        return "kgc-launch counts no parameters from it", ""
    if published is None:
        return None, f"{counts.total / 1e9:.1f}B counted; no published count to compare with"
    ratio = counts.total / published
    found = f"{counts.total / 1e9:.1f}B counted vs {recipe['parameter_count']} published by the recipe ({ratio:.2f}x)"
    if abs(ratio - 1) > TOLERANCE:
        return f"parameters {found}: the reader does not model this architecture, or the copy is abridged", found
    return None, found


def build() -> tuple[dict[str, Any], list[str]]:
    entries, report = [], []
    for path in sorted(RECORDS.glob("*.json")):
        record = load_record(path)
        fields = read_fields(record["config"])
        excluded, found = check(record, fields)
        if excluded is not None:
            report.append(f"left out {record['id']}: {excluded}")
            continue
        weights = record["weights"]
        total = weights.get("total_size")
        entry: dict[str, Any] = {
            "id": record["id"],
            "source": record["published_at"],
            "recorded_from": recorded_from(record),
            "recorded_on": record["recorded_on"],
        }
        if found:
            entry["parameter_check"] = found
        entry["config"] = fields
        entry["weight_bytes"] = total if isinstance(total, int) else None
        entry["weight_bytes_source"] = (
            weights["source"]
            if isinstance(total, int)
            else "not published in the sources read; estimated from the architecture at read time"
        )
        entries.append(entry)
    document = {
        "schema": "kgc_model_catalog_v1",
        "about": "Architecture numbers of served models, keyed by Hub id, for when the model is neither on disk, "
        "in the HF cache, nor reachable on the Hub (air-gapped machines, KGC_NO_HUB=1, HF_HUB_OFFLINE=1). "
        "Built by scripts/build_model_catalog.py from registry/model-metadata/: each `config` holds the fields "
        "of the published config.json (`source`) that kgc-launch reads, with their original names and nesting, "
        "as copied from `recorded_from` on `recorded_on`; `weight_bytes` is the safetensors index's "
        "metadata.total_size where one was recorded. Nothing is fetched at run time.",
        "models": entries,
    }
    return document, report


def coverage(document: dict[str, Any]) -> str:
    shipped = {entry["id"].lower() for entry in document["models"]}
    primary = set()
    for path in RECORDS.glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        recipe = record.get("recipe") or {}
        if recipe.get("model_id", "").lower() == record["id"].lower() and "text" in (recipe.get("tasks") or []):
            primary.add(record["id"].lower())
    return (
        f"{len(document['models'])} catalog entries; {len(primary & shipped)} of them are the main model of a "
        f"text-generation recipe of vllm-project/recipes ({len(primary)} recorded)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed catalog differs")
    args = parser.parse_args()
    document, report = build()
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    for line in report:
        print(line)
    print(coverage(document))
    if args.check:
        if CATALOG.read_text(encoding="utf-8") != text:
            print(f"{CATALOG.relative_to(ROOT)} is stale: run scripts/build_model_catalog.py", file=sys.stderr)
            return 1
        return 0
    CATALOG.write_text(text, encoding="utf-8")
    print(f"wrote {CATALOG.relative_to(ROOT)} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
