"""How `vllm serve` reads its arguments (vLLM's FlexibleArgumentParser), for checking and launching.

Mirrors what vLLM does before argparse sees the tokens:
- `--model M` anywhere is moved to the positional slot;
- `--config FILE.yaml` is spliced in after the model (so command-line flags win over the file);
- `_` and `-` are the same in a flag's name, up to its first `.`; `--k=v` is `--k v`;
- `-O3`, `-O=3` and `-O 3` mean `--optimization-level 3`;
- dotted forms (`--compilation-config.level 3`, `--x.list+ a,b`) are merged into one JSON object per
  flag and, as in vLLM, passed after everything else: they replace an earlier `--x '{...}'`;
- a repeated flag: the last one wins.
The parse is total: it never raises on odd input; what looks wrong is kept in `notes`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from kgc_launch.errors import InputError
from kgc_launch.serve_args import HUMAN_INT, OptionValue, ServeArgs, human_readable_int, plain_name
from kgc_launch.vllm.flags import ALIASES, BOOLEAN, HUMAN_READABLE_INT, MULTI_VALUE

ConfigReader = Callable[[str], list[str]]
"""Reads a `--config` YAML file into flag tokens (see `config_file_tokens`)."""

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def canonical_name(name: str) -> str:
    """`--Tensor_Parallel_Size` -> `tensor-parallel-size`; aliases such as `-tp` resolve too."""
    return ALIASES.get(name) or plain_name(name)


def parse_serve_args(tokens: Iterable[str], *, read_config: ConfigReader | None = None) -> ServeArgs:
    """Parse the arguments that follow `vllm serve` (or those of `python -m vllm...api_server`)."""
    args = ServeArgs(canonical=canonical_name, human_int_options=HUMAN_READABLE_INT)
    raw = _move_model_first(list(tokens), args)
    raw = _splice_config(raw, args, read_config)
    tokens_, dotted = _split_dotted(_normalize(raw))
    _read_options(tokens_, args)
    for name, value in dotted.items():
        if name in args.options and not isinstance(args.options[name], dict):
            args.notes.append(f"--{name}: the dotted --{name}.KEY values replace the earlier --{name} value")
        elif isinstance(args.options.get(name), dict):
            args.notes.append(f"--{name}: the dotted --{name}.KEY values replace the earlier JSON object")
        args.options[name] = value
    model = args.options.pop("model", None)
    if isinstance(model, str) and args.model is None:
        args.model = model
    elif model is not None:
        args.notes.append("--model is given without a model name")
    return args


def _move_model_first(tokens: list[str], args: ServeArgs) -> list[str]:
    for index, token in enumerate(tokens):
        if token == "--model" and index + 1 < len(tokens) and not tokens[index + 1].startswith("-"):
            args.model = tokens[index + 1]
            return tokens[:index] + tokens[index + 2 :]
        if token.startswith("--model="):
            args.model = token.removeprefix("--model=")
            return tokens[:index] + tokens[index + 1 :]
    return tokens


def _splice_config(tokens: list[str], args: ServeArgs, read_config: ConfigReader | None) -> list[str]:
    rest: list[str] = []
    files: list[str] = []
    index = 0
    while index < len(tokens):
        if tokens[index] != "--config":
            rest.append(tokens[index])
        elif index + 1 < len(tokens):
            files.append(tokens[index + 1])
            index += 1
        else:
            args.notes.append("--config is given without a file")
        index += 1
    if not files:
        return rest
    args.config_file = files[0]
    if len(files) > 1:
        args.notes.append("--config is given more than once; vLLM refuses that (only the first is read here)")
    if read_config is None:
        args.notes.append(f"--config {args.config_file}: the file was not read here")
        return rest
    config_tokens = read_config(args.config_file)
    args.from_config_file = _option_names(config_tokens) - _option_names(rest)
    # The model stays first; the file's flags come next so that command-line flags override them.
    if args.model is None and rest and not rest[0].startswith("-"):
        return rest[:1] + config_tokens + rest[1:]
    return config_tokens + rest


def _option_names(tokens: list[str]) -> set[str]:
    """Names the tokens set, dotted forms by their head (`--x.y 1` sets `x`)."""
    names = set()
    for token in _normalize(tokens):
        if token.startswith("--") and token != "--":
            name = token[2:].partition("=")[0].partition(".")[0].rstrip("+")
            names.add(name[3:] if name.startswith("no-") and name[3:] in BOOLEAN else name)
    return names


def _normalize(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for index, token in enumerate(tokens):
        if token.startswith("--"):
            name, eq, value = token.partition("=")
            out.append("--" + canonical_name(name) + eq + value)
        elif token.startswith("-O") and token != "-O":
            out += ["--optimization-level", token[3:] if token[2:3] == "=" else token[2:]]
        elif token == "-O" and index + 1 < len(tokens) and tokens[index + 1] in ("0", "1", "2", "3"):
            out.append("--optimization-level")
        elif token in ALIASES:
            out.append("--" + ALIASES[token])
        else:
            out.append(token)
    return out


def _split_dotted(tokens: list[str]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Take out `--name.key[.key...][+] value` forms and merge each name's into one JSON object."""
    kept: list[str] = []
    merged: dict[str, dict[str, Any]] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        name, eq, value = token.partition("=")
        if not (token.startswith("--") and "." in name):
            kept.append(token)
            index += 1
            continue
        if not eq:
            if index + 1 >= len(tokens):
                kept.append(token)  # vLLM would fail on this; keep it visible as a flag
                index += 1
                continue
            value = tokens[index + 1]
            index += 1
        index += 1
        if name.endswith("+"):
            name = name[:-1]
            parsed: Any = value.split(",")
        else:
            parsed = _json_or_scalar(value)
        head, *keys = name[2:].split(".")
        _merge(merged.setdefault(head, {}), keys, parsed)
    return kept, merged


def _json_or_scalar(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        return human_readable_int(value) if HUMAN_INT.fullmatch(value.strip()) else value
    except ValueError:
        return value


def _merge(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = {}
        target = child
    last = keys[-1] if keys else ""
    if isinstance(value, list) and isinstance(target.get(last), list):
        target[last] = target[last] + value
    else:
        target[last] = value


def _read_options(tokens: list[str], args: ServeArgs) -> None:
    index = 0
    seen: set[str] = set()
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith("--") or token == "--":
            if token == "--":
                args.extra_positionals += tokens[index:]
                return
            if args.model is None:
                args.model = token
            else:
                args.extra_positionals.append(token)
            continue
        name, eq, inline = token[2:].partition("=")
        value: OptionValue
        if eq:
            value = _typed(name, inline)
        elif name in BOOLEAN:
            value = True
        elif name.startswith("no-") and name[3:] in BOOLEAN:
            name, value = name[3:], False
        elif name in MULTI_VALUE:
            values: list[str] = []
            while index < len(tokens) and not _is_option(tokens[index]):
                values.append(tokens[index])
                index += 1
            value = values
        elif index < len(tokens) and not _is_option(tokens[index]):
            value = _typed(name, tokens[index])
            index += 1
        else:
            value = True
        if name in seen:
            args.notes.append(f"--{name} is given more than once: the last one wins")
        seen.add(name)
        args.options[name] = value


def _json_object(value: str) -> dict[str, Any] | None:
    stripped = value.strip()
    if not stripped.startswith("{"):
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _typed(name: str, value: str) -> OptionValue:
    parsed = _json_object(value)
    if parsed is not None:
        return parsed
    if name in MULTI_VALUE:
        return [value]
    if name in BOOLEAN and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _is_option(token: str) -> bool:
    return token.startswith("-") and not _NUMBER.match(token)


def config_file_tokens(document: Any, *, path: str) -> list[str]:
    """vLLM's `load_config_file`: a YAML mapping turned into flag tokens."""
    if not isinstance(document, dict):
        raise InputError("a vLLM --config file must hold a mapping of flag names to values", path=path)
    tokens: list[str] = []
    for key, value in document.items():
        name = str(key)
        if isinstance(value, bool):
            if value:
                tokens.append(f"--{name}")
            elif canonical_name(name) in BOOLEAN:
                tokens.append(f"--no-{name}")
        elif isinstance(value, list):
            if value:
                tokens.append(f"--{name}")
                tokens += [str(item) for item in value]
        elif isinstance(value, dict):
            tokens += [f"--{name}", _json_value(value, name, path)]
        else:
            tokens += [f"--{name}", str(value)]
    return tokens


def _json_value(value: dict[Any, Any], name: str, path: str) -> str:
    # vLLM hands a mapping to its flag as JSON: a YAML date or !!binary inside one cannot be written as JSON.
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as error:
        raise InputError(f"this mapping cannot be passed as JSON to --{name}: {error}", path=path, field=name) from None
