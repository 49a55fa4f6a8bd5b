"""SkyPilot task YAML (`sky launch`, `sky serve up`) -> the engine launches of its `run:` script.

SkyPilot runs `run` as a bash script on every node of the task (inside `resources.image_id`'s container
when that is `docker:IMAGE`: the image's ENTRYPOINT is not used), with the task's `envs` and `secrets`
and the variables SkyPilot sets (SkyPilot docs, "Environment variables"): SKYPILOT_NUM_NODES (`num_nodes`,
default 1), SKYPILOT_NUM_GPUS_PER_NODE (the count of `resources.accelerators`), SKYPILOT_NODE_RANK and
SKYPILOT_NODE_IPS (known only at run time). `resources.accelerators` is `NAME:COUNT`, a list or a set of
alternatives (`{L4:1, A10G:1}`: one of them), per node; an engine spans `num_nodes x COUNT` devices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kgc_launch.deploy.accelerators import Accelerator, from_profile_name
from kgc_launch.deploy.command import ContainerArgv, read_launches
from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.launch import EnvValue, Unknown, mapping
from kgc_launch.deploy.origin import SourceText
from kgc_launch.hardware.groups import Group, Role
from kgc_launch.yamlio import line_of

_TASK_KEYS = frozenset(["resources", "setup", "num_nodes", "envs", "secrets", "workdir", "file_mounts", "service"])


def is_skypilot_task(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("run"), str)
        and "apiVersion" not in document
        and "services" not in document
        and any(key in document for key in _TASK_KEYS)
    )


def skypilot_findings(documents: Sequence[Any], path: str, source: SourceText | None = None) -> Findings:
    findings = Findings()
    for document in documents:
        if is_skypilot_task(document):
            findings.merge(_task(document, path, source))
    return findings


def _task(task: dict[str, Any], path: str, source: SourceText | None) -> Findings:
    findings = Findings()
    notes: list[str] = []
    resources = mapping(task.get("resources"))
    accelerator = _accelerators(resources.get("accelerators"), notes)
    nodes = task.get("num_nodes", 1)
    nodes = nodes if isinstance(nodes, int) and not isinstance(nodes, bool) else None
    env: dict[str, EnvValue] = {}
    for key, value in mapping(task.get("envs")).items():
        env[str(key)] = Unknown(f"{key} is given at launch (`--env {key}=...`)") if value is None else _text(value)
    for key in mapping(task.get("secrets")):
        env[str(key)] = Unknown(f"a SkyPilot secret (`--secret {key}`)")
    env["SKYPILOT_NUM_NODES"] = str(nodes) if nodes is not None else Unknown("num_nodes is not a number")
    if accelerator is not None and accelerator.count is not None:
        env["SKYPILOT_NUM_GPUS_PER_NODE"] = str(accelerator.count)
    env["SKYPILOT_NODE_RANK"] = Unknown("set by SkyPilot on each node")
    env["SKYPILOT_NODE_IPS"] = Unknown("set by SkyPilot at run time")
    image_id = str(resources.get("image_id") or "")
    image = image_id.removeprefix("docker:") if image_id.startswith("docker:") else None
    script = task["run"]
    origin = None if source is None else source.value_origin(task, "run", script)
    process = ContainerArgv(["bash", "-c", script], [None, None, origin])
    read = read_launches(
        process,
        env,
        file=path,
        line=line_of(task, "run"),
        object="SkyPilot task run",
        source="shell",
        image=image,
        gpus=accelerator.count if accelerator is not None and accelerator.is_nvidia else None,
        notes=notes,
        env_is_complete=False,
    )
    group = None
    if nodes is not None and nodes > 1:
        count = None if accelerator is None else accelerator.count
        group = Group(f"SkyPilot num_nodes {nodes}", (Role("node", nodes, count),))
    for launch in read.launches:
        launch.accelerator = accelerator
        launch.group = group
        launch.nodes = nodes if nodes and nodes > 1 else None
        if image is not None:
            launch.notes.append(
                f"runs inside {image} (SkyPilot runs `run` in the container; its ENTRYPOINT is not used)"
            )
    findings.take(read)
    return findings


def _accelerators(value: Any, notes: list[str]) -> Accelerator | None:
    """`H100:8`, `[A100:8, H100:8]`, `{L4: 1, A10G: 1}`: the devices of one node (the first alternative's kind;
    the count when every alternative agrees)."""
    choices: list[tuple[str, int | None]] = []
    if isinstance(value, str):
        name, _, count = value.partition(":")
        choices.append((name, int(count) if count.isdigit() else 1))
    elif isinstance(value, dict):
        choices += [(str(name), count if isinstance(count, int) else 1) for name, count in value.items()]
    elif isinstance(value, list):
        for item in value:
            name, _, count = str(item).partition(":")
            choices.append((name, int(count) if count.isdigit() else 1))
    if not choices:
        return None
    counts = {count for _, count in choices}
    names = ", ".join(name for name, _ in choices)
    found = from_profile_name(
        choices[0][0], counts.pop() if len(counts) == 1 else None, f"SkyPilot accelerators {names}"
    )
    if found is None:
        notes.append(f"SkyPilot accelerators {names}: not a device kind known here")
    return found


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
