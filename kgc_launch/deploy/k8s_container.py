"""One Kubernetes container spec -> the engine launches it makes (shared by workloads and KServe).

Kubernetes' rules, as the kubelet applies them:
- `command` replaces the image's ENTRYPOINT and `args` its CMD (command.container_argv);
- `$(VAR)` in `command`, `args` and env values is replaced by the container's variable VAR defined earlier
  in `env`; `$$` is a literal `$`; a reference to an undefined variable is left as written;
- `valueFrom` (Secret, ConfigMap, pod field) has no value in the file: it is `Unknown`, and so is anything
  built from it; `envFrom` brings variables whose names the file does not list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kgc_launch.deploy.accelerators import Accelerator, from_resources
from kgc_launch.deploy.command import ReadLaunches, container_argv, read_launches
from kgc_launch.deploy.launch import EnvValue, SourceKind, Unknown, mentions_engine, merged_env
from kgc_launch.deploy.origin import Origin, SourceText
from kgc_launch.errors import InputError
from kgc_launch.yamlio import line_of

GPU_RESOURCE = "nvidia.com/gpu"


@dataclass
class ContainerSpec:
    """The fields of a container that decide its launch, read and checked."""

    name: str
    image: str | None
    command: list[str] | None
    args: list[str] | None
    env: dict[str, EnvValue]
    gpus: int | None
    line: int | None
    notes: list[str] = field(default_factory=list)
    env_from: list[str] = field(default_factory=list)
    """Where `envFrom` takes variables from (`ConfigMap x`, `Secret y`)."""
    accelerator: Accelerator | None = None
    """The devices the container asks for, of any vendor."""
    command_origins: list[Origin | None] | None = None
    """Where each command token is in the file; None: mapped from `nodes` once the tokens are expanded."""
    args_origins: list[Origin | None] | None = None
    nodes: tuple[Any, Any, SourceText | None] = (None, None, None)
    """The loaded `command` and `args` lists and the file's text, to place the expanded tokens."""


def read_container(node: Any, *, path: str, line: int | None, source: SourceText | None = None) -> ContainerSpec:
    """A container mapping as Kubernetes reads it; a wrong type is an InputError at the container's line."""
    if not isinstance(node, dict):
        raise InputError("a container must be a mapping", path=path, line=line)
    name = str(node.get("name") or "?")
    notes: list[str] = []
    env_from = _env_from(node.get("envFrom"), path=path, line=line_of(node, "envFrom") or line)
    if env_from:
        notes.append(f"envFrom {', '.join(env_from)}: variables not listed in this file")
    env = read_env(node.get("env"), path=path, line=line_of(node, "env") or line, notes=notes)
    accelerator = from_resources(node.get("resources"), notes)
    gpus = accelerator.count if accelerator is not None and accelerator.is_nvidia else None
    command = _strings(node, "command", path=path)
    args = _strings(node, "args", path=path)
    return ContainerSpec(
        name=name,
        image=None if node.get("image") is None else str(node.get("image")),
        command=command,
        args=args,
        env=env,
        gpus=gpus,
        line=line,
        notes=notes,
        env_from=env_from,
        accelerator=accelerator,
        nodes=(node.get("command"), node.get("args"), source),
    )


def token_origins(node: Any, tokens: list[str] | None, source: SourceText | None) -> list[Origin | None] | None:
    """Where each token of a loaded YAML list sits in the file (None where it cannot be said). A flow list
    (`args: [`, its items on the lines below) starts where it opens: its one-line first item is placed there."""
    if tokens is None or source is None:
        return None
    origins = [source.item_origin(node, index, token) for index, token in enumerate(tokens)]
    opened = flow_list_line(node)
    first = origins[0] if origins else None
    if opened is not None and first is not None and first.line != opened and len(first.marks) <= 1:
        origins[0] = Origin(opened)
    return origins


def flow_list_line(node: Any) -> int | None:
    """The 1-based line where a flow sequence (`[...]`) opens; None for a block sequence or unknown."""
    style = getattr(node, "fa", None)
    lc = getattr(node, "lc", None)
    try:
        flow = bool(style.flow_style()) if style is not None else False
        return int(lc.line) + 1 if flow and lc is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def _strings(node: dict[str, Any], key: str, *, path: str) -> list[str] | None:
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise InputError(
            f"`{key}` must be a list of strings", path=path, line=line_of(node, key), field=key,
            hint=f'write it as {key}: ["..."] (a shell line goes in ["sh", "-c", "..."])',
        )  # fmt: skip
    return ["" if item is None else _scalar_text(item) for item in value]


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_env(entries: Any, *, path: str, line: int | None, notes: list[str]) -> dict[str, EnvValue]:
    """A container's `env` list, values expanded with `$(VAR)` from the entries before them."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise InputError("`env` must be a list of {name, value} entries", path=path, line=line, field="env")
    env: dict[str, EnvValue] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError("each `env` entry needs a `name`", path=path, line=line_of(entry) or line, field="env")
        name = entry["name"]
        if entry.get("valueFrom") is not None:
            env[name] = Unknown(describe_value_from(entry["valueFrom"]))
            continue
        raw = entry.get("value")
        expanded, missing = expand_references("" if raw is None else _scalar_text(raw), env)
        env[name] = Unknown(f"built from {_describe(missing)}") if missing else expanded
    return env


def describe_value_from(source: Any) -> str:
    """`valueFrom: {secretKeyRef: {name: hf, key: token}}` -> `from Secret hf (key token)`."""
    if not isinstance(source, dict):
        return "from valueFrom"
    kinds = {
        "secretKeyRef": "Secret",
        "configMapKeyRef": "ConfigMap",
        "fieldRef": "the pod field",
        "resourceFieldRef": "the container resource",
    }
    for key, what in kinds.items():
        ref = source.get(key)
        if isinstance(ref, dict):
            if key == "fieldRef":
                return f"from {what} {ref.get('fieldPath', '?')}"
            if key == "resourceFieldRef":
                return f"from {what} {ref.get('resource', '?')}"
            return f"from {what} {ref.get('name', '?')} (key {ref.get('key', '?')})"
    return "from valueFrom"


def _env_from(entries: Any, *, path: str, line: int | None) -> list[str]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise InputError("`envFrom` must be a list", path=path, line=line, field="envFrom")
    sources = []
    for entry in entries:
        if isinstance(entry, dict):
            for key, what in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                ref = entry.get(key)
                if isinstance(ref, dict):
                    sources.append(f"{what} {ref.get('name', '?')}")
    return sources


def expand_references(text: str, env: Mapping[str, EnvValue]) -> tuple[str, list[tuple[str, str]]]:
    """Kubernetes' `$(VAR)` expansion; returns the text and the (name, why) of each reference left as
    written because its value is not known here."""
    out: list[str] = []
    missing: list[tuple[str, str]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "$" or index + 1 >= len(text):
            out.append(char)
            index += 1
            continue
        following = text[index + 1]
        if following == "$":
            out.append("$")
            index += 2
            continue
        close = text.find(")", index + 2) if following == "(" else -1
        if close < 0:
            out.append(char)
            index += 1
            continue
        name = text[index + 2 : close]
        value = env.get(name)
        if isinstance(value, str):
            out.append(value)
        else:
            out.append(text[index : close + 1])
            missing.append((name, value.why if value is not None else "not defined in the container's env"))
        index = close + 1
    return "".join(out), missing


def _describe(missing: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"$({name}) ({why})" for name, why in missing)


def gpu_count(resources: Any, notes: list[str]) -> int | None:
    """`nvidia.com/gpu` from limits (what the device plugin allocates), else requests; other devices noted."""
    accelerator = from_resources(resources, notes)
    if accelerator is None:
        return None
    if not accelerator.is_nvidia:
        notes.append(f"{accelerator.source} (not counted as whole NVIDIA GPUs)")
        return None
    return accelerator.count


def container_launches(
    spec: ContainerSpec,
    *,
    path: str,
    obj: str,
    base_env: Mapping[str, EnvValue] | None = None,
    nodes: int | None = None,
    source: SourceKind = "kubernetes",
) -> ReadLaunches:
    """The launches one container makes, and what the file should be told when it mentions an engine but
    makes none (or cannot be read)."""
    env = merged_env(base_env or {}, spec.env)
    notes = list(spec.notes)
    command = _expand_all(spec.command, env, notes, spec.env_from)
    args = _expand_all(spec.args, env, notes, spec.env_from)
    command_node, args_node, text = spec.nodes
    command_origins = spec.command_origins or token_origins(command_node, command, text)
    args_origins = spec.args_origins or token_origins(args_node, args, text)
    process = container_argv(spec.image, command, args, entrypoint_origins=command_origins, cmd_origins=args_origins)
    read = read_launches(
        process,
        env,
        file=path,
        line=spec.line,
        object=obj,
        source=source,
        image=spec.image,
        gpus=spec.gpus,
        nodes=nodes,
        notes=notes,
        env_is_complete=not spec.env_from,
        mentioned=mentions_engine([*(command or []), *(args or [])], spec.image),
    )
    for launch in read.launches:
        launch.accelerator = spec.accelerator
    return read


def _expand_all(
    tokens: Sequence[str] | None, env: Mapping[str, EnvValue], notes: list[str], env_from: Sequence[str]
) -> list[str] | None:
    if tokens is None:
        return None
    out = []
    for token in tokens:
        expanded, missing = expand_references(token, env)
        for name, why in missing:
            maybe = f" (envFrom {', '.join(env_from)} may define it)" if name not in env and env_from else ""
            note = f"$({name}) is left as written: {name} is {why}{maybe}"
            if note not in notes:
                notes.append(note)
        out.append(expanded)
    return out
