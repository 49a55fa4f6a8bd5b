#!/usr/bin/env python3
"""Re-read the installed vLLM's `vllm serve` parser and compare it with the shipped registry/vllm-options.json.

    $E2E_PY scripts/check_vllm_vocabulary.py [--data registry/vllm-options.json]

Run it with the Python that has vLLM installed (the e2e venv). It runs scripts/gen_vllm_vocabulary.py in this
process, finds the release it reports in the shipped data and compares every option (the fields the merge keeps
per variant) and the parser rules. Exit 0 when they agree; 1 with the differences when they do not, or when the
release is not in the data at all (then regenerate: docs/vllm-vocabulary.md); 2 when vLLM cannot be read.
Needs only the standard library besides vLLM: kgc-launch itself is not installed in that venv.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent / "registry" / "vllm-options.json"
RULE_KEYS = (
    "allow_abbrev",
    "underscores_in_long_names",
    "dotted_json_keys",
    "dotted_json_keys_on_short_aliases",
    "dotted_list_append_plus",
    "O_flag_sets",
)
# Derived by the merge from a probe the generator records.
DERIVED_RULES = {"dotted_json_keys_on_O": lambda facts: bool((facts["probes"].get("dotted_O") or {}).get("ok"))}


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def shipped_view(data: dict[str, Any], release: str, keys: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Each option as the shipped data describes it for `release` (the newest description, then the variant's
    differences from it)."""
    out: dict[str, dict[str, Any]] = {}
    for name, entry in data["options"].items():
        for v in entry["variants"]:
            if release in v["releases"]:
                full = {**entry, **v}
                out[name] = {k: full.get(k) for k in keys}
    return out


def compare(generated: dict[str, Any], data: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    release = generated["vllm_version"]
    if release not in data["releases"]:
        known = ", ".join(data["release_order"])
        return [f"vLLM {release} ({generated['generated_from']}) is not in the shipped data (it has {known})"]
    diffs: list[str] = []
    now = {o["option"]: {k: o.get(k) for k in keys} for o in generated["options"]}
    shipped = shipped_view(data, release, keys)
    for name in sorted(set(now) - set(shipped)):
        diffs.append(f"+ {name}: in the installed vLLM, not in the shipped data")
    for name in sorted(set(shipped) - set(now)):
        diffs.append(f"- {name}: in the shipped data, not in the installed vLLM")
    for name in sorted(set(now) & set(shipped)):
        for k in keys:
            a, b = shipped[name][k], now[name][k]
            if a == b:
                continue
            if isinstance(a, list) and isinstance(b, list):
                gone = [x for x in a if x not in b]
                new = [x for x in b if x not in a]
                if gone or new:
                    diffs.append(
                        f"~ {name} {k}: installed adds {json.dumps(new)[:300]}, drops {json.dumps(gone)[:300]}"
                    )
                    continue
            sa, sb = json.dumps(a, sort_keys=True)[:300], json.dumps(b, sort_keys=True)[:300]
            diffs.append(f"~ {name} {k}: shipped {sa}, installed {sb}")
    facts = generated["parser_facts"]
    meta = data["releases"][release]
    for k in RULE_KEYS:
        if facts.get(k) != meta.get(k):
            diffs.append(f"~ parser rule {k}: shipped {meta.get(k)!r}, installed {facts.get(k)!r}")
    for k, derive in DERIVED_RULES.items():
        if "probes" in facts and derive(facts) != meta.get(k):
            diffs.append(f"~ parser rule {k}: shipped {meta.get(k)!r}, installed {derive(facts)!r}")
    if generated.get("human_int_rules") != meta.get("human_int_rules"):
        diffs.append(
            f"~ human_int_rules: shipped {meta.get('human_int_rules')}, installed {generated['human_int_rules']}"
        )
    return diffs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--generated", type=Path, help="compare this generator output instead of running vLLM")
    args = ap.parse_args(argv)
    merge = _load("merge_vllm_vocabulary")
    if args.generated is not None:
        generated = json.loads(args.generated.read_text(encoding="utf-8"))
    else:
        gen = _load("gen_vllm_vocabulary")
        try:
            generated = gen.run_generator()
        except Exception as e:  # vLLM missing or broken: say so, distinctly from a vocabulary difference
            print(f"check_vllm_vocabulary: cannot read the installed vLLM's parser: {type(e).__name__}: {e}")
            return 2
    data = json.loads(args.data.read_text(encoding="utf-8"))
    diffs = compare(generated, data, tuple(merge.VARIANT_KEYS))
    where = f"vLLM {generated['vllm_version']} ({generated['generated_from']})"
    if diffs:
        print(f"check_vllm_vocabulary: {where} differs from {args.data.name} in {len(diffs)} place(s):")
        for d in diffs:
            print(f"  {d}")
        print("regenerate the data: docs/vllm-vocabulary.md")
        return 1
    print(f"check_vllm_vocabulary: {where} matches {args.data.name} ({len(generated['options'])} options)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
