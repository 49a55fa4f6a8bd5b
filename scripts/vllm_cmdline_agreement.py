"""How well kgc-launch's vLLM argument reader agrees with vLLM's own parser on real `vllm serve` command lines.

Run with a Python that has vLLM installed (the e2e venv):
`.e2e-cache/venv/bin/python scripts/vllm_cmdline_agreement.py`.
For every line of tests/data/vllm_cmdlines/corpus.jsonl it parses the arguments with

- vLLM's parser: the real `vllm serve` parser, built as scripts/gen_vllm_vocabulary.py builds it; a SystemExit
  (argparse's error) or an exception from FlexibleArgumentParser is a rejection. Then vLLM's cheap config-time
  checks: each option whose value a pydantic config class constrains is validated by that class's own validator
  (`validate_assignment` on a default instance), and `--additional-config` must not end up a plain string;
- ours: `kgc_launch.vllm.args.parse_serve_args(..., version=<installed release>)`, rejected when it has a refusal;

and compares accept/reject and every value a launch decides. Prints a table per corpus half and each
disagreement. Exit 1 when accept/reject agreement is below 100%, 2 when vLLM cannot be read.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

# Parsing must not reach the network (some releases' parsers or validators look a model up on the Hub).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
KNOWN = ROOT / "tests" / "data" / "vllm_cmdlines" / "known_disagreements.json"
CORPUS = ROOT / "tests" / "data" / "vllm_cmdlines" / "corpus.jsonl"

VALUES = {
    "model": None,
    "tensor_parallel_size": "int",
    "pipeline_parallel_size": "int",
    "data_parallel_size": "int",
    "max_model_len": "int",
    "dtype": "str",
    "quantization": "str",
    "kv_cache_dtype": "str",
    "gpu_memory_utilization": "float",
    "max_num_seqs": "int",
    "max_num_batched_tokens": "int",
    "enforce_eager": "bool",
    "enable_prefix_caching": "bool",
    "compilation_config": "json",
    "speculative_config": "json",
    "additional_config": "json",
    "hf_overrides": "json",
    "kv_transfer_config": "json",
    "limit_mm_per_prompt": "json",
}


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def vllm_parse(top: argparse.ArgumentParser, serve_args: list[str]) -> tuple[argparse.Namespace | None, str]:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            ns = top.parse_args(["serve", *serve_args])
    except SystemExit:
        return None, (err.getvalue().strip().splitlines() or ["argparse error"])[-1]
    except Exception as error:  # FlexibleArgumentParser raises ValueError/AssertionError/IndexError itself
        return None, f"{type(error).__name__}: {error}"
    return ns, ""


def config_time_problem(ns: argparse.Namespace, release: str, serve: argparse.ArgumentParser) -> str | None:
    """vLLM's own validators for values its pydantic config classes constrain (the classes the vocabulary names)."""
    from kgc_launch.vllm import vocabulary

    for action in serve._actions:
        if not action.option_strings or action.dest in ("help",):
            continue
        value = getattr(ns, action.dest, None)
        if value is None or value == action.default:
            continue
        spec = vocabulary.option_spec(
            action.option_strings[-1] if action.option_strings[-1].startswith("--") else action.option_strings[0],
            release,
        )
        if spec is None or spec.range is None or spec.range.enforced != "config":
            continue
        where = spec.range.where.split(" ", 1)[0]
        module_name, _, rest = where.rpartition(".")
        mod_name, _, cls_name = module_name.rpartition(".")
        try:
            from typing import Annotated

            import pydantic

            info = importlib.import_module(mod_name).__dict__[cls_name].__pydantic_fields__[rest]
            # The field alone, with its declared constraints (not the class's cross-field validators).
            pydantic.TypeAdapter(Annotated[info.annotation, info]).validate_python(value)
        except (ImportError, KeyError, AttributeError):
            continue
        except Exception as error:
            if type(error).__name__ == "ValidationError":
                return f"{cls_name}.{rest}={value!r}: " + " ".join(str(error).split())[:160]
            continue
    if isinstance(getattr(ns, "additional_config", None), str):
        return "additional_config is a plain string: VllmConfig.compute_hash fails on it at start-up"
    return None


def ours_values(args: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"model": args.model}
    for key, kind in VALUES.items():
        if key == "model":
            continue
        name = key.replace("_", "-")
        value = args.get(name)
        if value is None:
            out[key] = defaults.get(key)
            continue
        try:
            if kind == "int":
                out[key] = args.int_value(name)
            elif kind == "float":
                out[key] = args.float_value(name)
            else:
                out[key] = value
        except Exception as error:
            out[key] = f"<{type(error).__name__}>"
    return out


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        with contextlib.suppress(Exception):
            return value.model_dump()
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def same(key: str, ours: Any, theirs: Any) -> bool:
    if VALUES.get(key) == "json" and isinstance(ours, dict):
        plain = _plain(theirs)
        if not isinstance(plain, dict):
            return False
        return all(k in plain and (_plain(plain[k]) == v or str(_plain(plain[k])) == str(v)) for k, v in ours.items())
    if key == "max_model_len" and ours == -1 and theirs in (-1, None):
        return True
    return ours == theirs or (isinstance(ours, str) and str(theirs) == ours)


def main() -> int:
    try:
        gen = _load("gen_vllm_vocabulary")
        top, serve, _ = gen.build_parsers()
        import vllm
    except Exception as error:
        print(f"cannot build vLLM's parser: {error}", file=sys.stderr)
        return 2
    from kgc_launch.vllm import vocabulary
    from kgc_launch.vllm.args import config_file_tokens, parse_serve_args

    version = str(vllm.__version__)
    release = vocabulary.resolve_release(version)
    if release is None:
        print(f"vLLM {version} is not in the vocabulary", file=sys.stderr)
        return 2
    defaults = {a.dest: a.default for a in serve._actions}
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    stats: dict[str, dict[str, int]] = {}
    disagreements: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for row in rows:
            argv = list(row["argv"][2:])
            if row.get("config_file"):
                path = Path(tmp) / (row["id"] + ".yaml")
                path.write_text(row["config_file"]["content"])
                name = Path(row["config_file"]["path"]).name
                argv = [str(path) if a == row["config_file"]["path"] or Path(a).name == name else a for a in argv]
            ns, why = vllm_parse(top, argv)
            if ns is not None:
                problem = config_time_problem(ns, release, serve)
                if problem is not None:
                    ns, why = None, f"config time: {problem}"

            def read(p: str) -> list[str]:
                import yaml

                with open(p) as f:
                    return config_file_tokens(yaml.safe_load(f), path=p, version=version)

            ours = parse_serve_args(argv, read_config=read, version=version)
            refused = [p for p in ours.problems if p.severity == "refuse"]
            s = stats.setdefault(row["split"], {"lines": 0, "accept_agree": 0, "values": 0, "values_agree": 0})
            s["lines"] += 1
            vllm_ok, ours_ok = ns is not None, not refused
            if vllm_ok == ours_ok:
                s["accept_agree"] += 1
            else:
                ours_why = "; ".join(p.message for p in refused) or "accepted"
                disagreements.append(
                    (
                        f"{row['id']}:accept/reject",
                        f"[{row['split']}] {row['id']}: accept/reject: vLLM {'accepts' if vllm_ok else 'rejects'}"
                        f" ({why or 'ok'}); ours {'accepts' if ours_ok else 'rejects'} ({ours_why})",
                    )
                )
            if ns is None or not ours_ok:
                continue
            mine = ours_values(ours, defaults)
            theirs = {k: getattr(ns, k, None) for k in VALUES}
            theirs["model"] = getattr(ns, "model_tag", None) or getattr(ns, "model", None)
            for key in VALUES:
                s["values"] += 1
                if same(key, mine[key], theirs[key]):
                    s["values_agree"] += 1
                else:
                    disagreements.append(
                        (
                            f"{row['id']}:{key}",
                            f"[{row['split']}] {row['id']}: {key}: vLLM {theirs[key]!r}, ours {mine[key]!r}",
                        )
                    )
    print(f"vLLM {version} (vocabulary release {release}), {len(rows)} lines of {CORPUS.relative_to(ROOT)}")
    print("| half | lines | accept/reject agree | values compared | values agree |")
    print("| --- | --- | --- | --- | --- |")
    total = {"lines": 0, "accept_agree": 0, "values": 0, "values_agree": 0}
    for half in ("calibration", "validation"):
        s = stats.get(half, total)
        for k in total:
            total[k] += s[k] if half in stats else 0
    for half, s in [*sorted(stats.items()), ("all", total)]:
        pct = 100 * s["accept_agree"] / max(1, s["lines"])
        vpct = 100 * s["values_agree"] / max(1, s["values"])
        print(
            f"| {half} | {s['lines']} | {s['accept_agree']} ({pct:.1f}%) | {s['values']} | "
            f"{s['values_agree']} ({vpct:.2f}%) |"
        )
    known = json.loads(KNOWN.read_text())["items"]
    unexplained = [key for key, _ in disagreements if key not in known]
    print(f"\n{len(disagreements)} disagreement(s), {len(unexplained)} not explained in {KNOWN.relative_to(ROOT)}")
    for key, line in disagreements:
        print(f"- {line}")
        print(f"  {'known: ' + known[key] if key in known else 'NOT EXPLAINED'}")
    for key in sorted(set(known) - {key for key, _ in disagreements}):
        print(f"- {key}: listed as known, no longer seen (remove it from the list)")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
