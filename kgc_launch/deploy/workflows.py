"""Workflow engines on Kubernetes -> the containers their steps run (read as Kubernetes containers).

- Argo Workflows (`argoproj.io`: Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow): a
  template's `container` is a container; its `script` is a container that runs `source` with its `command`
  (Argo writes `source` to a file and passes it as the command's last argument: read as `COMMAND -c
  SOURCE` when the command is a shell, default `sh`); `sidecars` and `containerSet.containers` are
  containers too (the latter already read as any `containers` list).
- Tekton (`tekton.dev`: Task, ClusterTask, TaskRun, Pipeline, PipelineRun, inline `taskSpec`s): each of
  `steps` and `sidecars` is a container; a step's `script` runs with its `#!` interpreter, `sh` without one.

A `script` in another language (`command: [python]`, `#!/usr/bin/env python3`) is not read: a file that
names an engine only there says so (not evaluated).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from kgc_launch.deploy.k8s_container import ContainerSpec, read_container
from kgc_launch.deploy.origin import Origin, SourceText
from kgc_launch.yamlio import line_of

SHELLS = frozenset(["sh", "bash", "dash", "ash", "zsh"])


def is_workflow(document: dict[str, Any]) -> bool:
    """An Argo Workflows or Tekton object, whose steps run containers."""
    return str(document.get("apiVersion", "")).startswith(("argoproj.io/", "tekton.dev/"))


def step_containers(spec: Any, path: str, source: SourceText | None) -> Iterator[tuple[str, ContainerSpec]]:
    """Every container a workflow's steps run, with where it is (`templates[0].container`, `steps[1]`)."""
    yield from _walk(spec, "spec", path, source)


def _walk(node: Any, where: str, path: str, source: SourceText | None) -> Iterator[tuple[str, ContainerSpec]]:
    if isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}[{index}]", path, source)
        return
    if not isinstance(node, dict):
        return
    template = str(node["name"]) if isinstance(node.get("name"), str) else None
    for key, value in node.items():
        here = f"{where}.{key}"
        if key == "container" and _is_container(value):
            yield template or here, read_container(value, path=path, line=line_of(node, key), source=source)
        elif key == "script" and _is_container(value) and isinstance(value.get("source"), str):
            spec = _script(value, "source", value.get("command"), path, line_of(node, key), source)
            if spec is not None:
                yield template or here, spec
        elif key in ("steps", "sidecars") and isinstance(value, list):
            for index, step in enumerate(value):
                if _is_container(step):
                    spec = _step(step, path, line_of(value, index), source)
                    yield (spec.name if spec.name != "?" else f"{here}[{index}]"), spec
                else:
                    yield from _walk(step, f"{here}[{index}]", path, source)
        else:
            yield from _walk(value, here, path, source)


def _is_container(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("image"), str)


def _step(node: dict[str, Any], path: str, line: int | None, source: SourceText | None) -> ContainerSpec:
    script = node.get("script")
    if isinstance(script, str):
        first = script.lstrip().splitlines()[0] if script.strip() else ""
        interpreter = first[2:].split() if first.startswith("#!") else ["sh"]
        spec = _script(node, "script", interpreter, path, line, source)
        if spec is not None:
            return spec
    return read_container(node, path=path, line=line, source=source)


def _script(
    node: dict[str, Any], key: str, command: Any, path: str, line: int | None, source: SourceText | None
) -> ContainerSpec | None:
    """A container that runs the shell script under `key` (None: the script is not a shell's)."""
    words = [str(word) for word in command] if isinstance(command, list) and command else ["sh"]
    if words[0] == "/usr/bin/env" or PurePosixPath(words[0]).name == "env":
        words = words[1:] or ["sh"]
    if PurePosixPath(words[0]).name not in SHELLS:
        return None
    text = str(node[key])
    spec = read_container(node, path=path, line=line, source=source)
    spec.command, spec.args = [words[0], "-c", text], None
    origin: Origin | None = None if source is None else source.value_origin(node, key, text)
    spec.command_origins = [None, None, origin]
    spec.nodes = (None, None, source)
    return spec
