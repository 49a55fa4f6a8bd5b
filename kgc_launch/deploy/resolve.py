"""The engine's own resolver on a launch from a deploy file, on the GPUs the manifest gives it.

`--hardware` names the node type; the manifest says how many of its GPUs the container gets
(`nvidia.com/gpu`, compose device reservations). The launch is judged on that many devices of that type,
so `-tp 4` in a pod that requests 2 GPUs, or `--dtype bfloat16` on a T4 node pool, fails here rather than at
rollout. The resolvers are the launcher's (`resolve_serve_args`, `resolve_ferrum_args`): same rules, same
refusals, same fixes.

An option whose value the file does not hold (`--max-num-seqs $(FROM_A_SECRET)`) is left out of what the
resolver sees, so it judges vLLM's default instead of rejecting the placeholder as text; a refusal that
names such an option cannot be decided here, and is said so (fail-closed) rather than reported as a fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from kgc_launch.deploy.launch import has_unexpanded
from kgc_launch.deploy.report import Refusal
from kgc_launch.hardware.inventory import Inventory
from kgc_launch.launch_options import LaunchOptions
from kgc_launch.model.facts import ModelFacts
from kgc_launch.vllm.args import OptionValue, ServeArgs

# A warning about the live node (its free memory), which no deploy file can settle: on every launch of a
# fleet it would only be noise.
NODE_STATE_RULES = frozenset(["free-memory-unknown"])
# What the resolver could not know (the version, the model's facts) is about the check, not the launch: a note.
UNKNOWN_FACTS_RULES = frozenset(["facts-unknown"])


@dataclass
class EngineVerdict:
    refusals: list[Refusal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    """Refusals that rest on a value the file does not hold: the launch cannot be evaluated."""


def launch_inventory(inventory: Inventory, gpus: int | None, nodes: int | None = None) -> Inventory:
    """The GPUs the launch gets: `gpus` per pod (the manifest's request) times the pods of a multi-node group
    (`nodes`: tensor and pipeline parallel span the group), of the node's type; the node as given when the
    manifest does not say. Devices of a probed or file inventory are taken in order (a mixed node keeps its
    mix)."""
    visible = inventory.visible
    if gpus is not None and nodes is not None:
        gpus *= nodes
    if gpus is None or not visible or gpus == len(visible):
        return inventory
    devices = [replace(visible[index % len(visible)], index=index) for index in range(gpus)]
    names = sorted({device.name for device in devices})
    per_pod = f" over {nodes} pods" if nodes is not None else ""
    detail = f"{gpus} GPU{'s' if gpus != 1 else ''}{per_pod} ({', '.join(names) or 'none'}) as the manifest asks, of "
    return replace(inventory, devices=devices, visible=devices, source_detail=detail + inventory.source_detail)


def resolve_vllm_launch(
    serve_args: ServeArgs,
    inventory: Inventory,
    facts: ModelFacts | None,
    *,
    environ: Mapping[str, str],
    engine_version: str | None,
) -> EngineVerdict:
    from kgc_launch.vllm.launch import resolve_serve_args

    unknown = {name: value for name, value in serve_args.options.items() if _unexpanded(value)}
    known = replace(serve_args, options={k: v for k, v in serve_args.options.items() if k not in unknown})
    _, resolution = resolve_serve_args(
        known, inventory, facts, environ=environ, engine_version=engine_version, platform="cuda"
    )
    verdict = EngineVerdict()
    for problem in resolution.problems:
        named = [name for name in unknown if f"--{name}" in f"{problem.message} {problem.fix or ''}"]
        if problem.severity == "refuse" and named:
            verdict.undecided.append(
                f"vLLM would refuse with --{named[0]}'s default ({problem.message}), and the file sets "
                f"--{named[0]} from a value it does not hold ({_text(unknown[named[0]])})"
            )
        elif problem.severity == "refuse":
            verdict.refusals.append(Refusal(problem.message, problem.fix, f"vLLM rule {problem.rule_id}"))
        elif problem.rule_id in UNKNOWN_FACTS_RULES:
            verdict.notes.append(problem.message)
        elif problem.rule_id not in NODE_STATE_RULES:
            verdict.warnings.append(problem.message + (f" (fix: {problem.fix})" if problem.fix else ""))
    return verdict


def _unexpanded(value: OptionValue) -> bool:
    return has_unexpanded(value if isinstance(value, str) else json.dumps(value))


def _text(value: OptionValue) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def resolve_ferrum_launch(
    tokens: list[str],
    inventory: Inventory,
    facts: ModelFacts | None,
    options: LaunchOptions,
    *,
    environ: Mapping[str, str],
) -> EngineVerdict:
    """ferrum's resolver as the launcher runs it; the container's `./ferrum.toml` is not in the deploy file."""
    from kgc_launch.ferrum.args import parse_ferrum_serve_args
    from kgc_launch.ferrum.launch import resolve_ferrum_args

    args = parse_ferrum_serve_args(tokens)
    resolution = resolve_ferrum_args(args, facts, inventory, options, environ, toml_entries={}, toml_preset=None)
    verdict = EngineVerdict()
    if resolution.refusal is not None:
        verdict.refusals.append(Refusal(resolution.refusal.message, resolution.refusal.fix, "ferrum resolver"))
    return verdict
