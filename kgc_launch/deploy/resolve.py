"""The engine's own resolver on a launch from a deploy file, on the GPUs the manifest gives it.

`--hardware` names the node type; the manifest says how many of its GPUs the container gets
(`nvidia.com/gpu`, compose device reservations). The launch is judged on that many devices of that type,
so `-tp 4` in a pod that requests 2 GPUs, or `--dtype bfloat16` on a T4 node pool, fails here rather than at
rollout. The plan is the launcher's own (the engine adapter's `plan`): same rules, same refusals, same fixes.

An option whose value the file does not hold (`--max-num-seqs $(FROM_A_SECRET)`) is left out of what the
resolver sees, so it judges vLLM's default instead of rejecting the placeholder as text; a refusal that
names such an option cannot be decided here, and is said so (fail-closed) rather than reported as a fix.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from kgc_launch.deploy.launch import Launch
from kgc_launch.engines import engine_adapter
from kgc_launch.findings import Finding
from kgc_launch.hardware.inventory import Inventory
from kgc_launch.launch_options import LaunchOptions
from kgc_launch.plan import EngineCommand, ModelLookup, PlanContext
from kgc_launch.serve_args import ServeArgs

# A warning about the live node (its free memory), which no deploy file can settle: on every launch of a
# fleet it would only be noise.
NODE_STATE_RULES = frozenset(["free-memory-unknown"])
# What the resolver could not know (the version, the model's facts) is about the check, not the launch: a note.
UNKNOWN_FACTS_RULES = frozenset(["facts-unknown"])


@dataclass
class EngineVerdict:
    findings: list[Finding] = field(default_factory=list)
    """The plan's refusals and warnings, as the engine's rules (or the ferrum resolver) found them."""
    notes: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    """Refusals that rest on a value the file does not hold: the launch cannot be evaluated."""


def hardware_skip(hardware: Inventory | None, launch: Launch) -> str | None:
    """Why the engine's resolver must not judge `launch` on `hardware` (an NVIDIA node type), or None.

    - no `--hardware`: nothing to judge on;
    - the launch asks for another vendor's devices (TPU, AMD, Gaudi, Neuron) or runs on CPUs: an NVIDIA
      resolver's refusals (a TPU group's 16 chips are not "16 GPUs, 8 visible") would be false;
    - a Kubernetes-scheduled launch that requests no device count (`nvidia.com/gpu`) gets none from the
      device plugin, or its count is decided elsewhere (a KServe runtime template): the count is unknown.
    A launch on a host (a shell script, `docker run`, compose, a Dockerfile) sees the node's GPUs.
    """
    if hardware is None:
        return "no --hardware given"
    accelerator = launch.accelerator
    if accelerator is not None and not accelerator.is_nvidia:
        return (
            f"the launch asks for {accelerator.describe()}, and --hardware names NVIDIA GPUs: the engine's "
            "NVIDIA resolver does not judge it"
        )
    count = launch.group.devices if launch.group is not None else launch.gpus
    if count is None and launch.source in ("kubernetes", "helm-values"):
        group = f" ({launch.group.describe()})" if launch.group is not None else ""
        return f"the manifest does not say how many GPUs the launch gets{group}"
    return None


def stated_gpus_finding(launch: Launch, serve_args: ServeArgs, env_names: Collection[str]) -> Finding | None:
    """Without `--hardware`: the NVIDIA GPUs the file itself gives a single-node vLLM launch (`nvidia.com/gpu`,
    `docker run --gpus N`, compose's device count) still bound TP x PP, as vLLM's rule
    `parallel-exceeds-visible-gpus` does on a node: from 0.11.2 vLLM refuses more, and before 0.11 it falls
    back to a one-node Ray instance of the same GPUs, which is as short. Not judged where other nodes' GPUs
    may join (an explicit Ray backend, `RAY_ADDRESS`, vLLM's multi-node mode, a multi-pod group)."""
    from kgc_launch.vllm.multinode import explicit_backend, multi_node_mp, sizes
    from kgc_launch.vllm.rules import load_rules

    accelerator = launch.accelerator
    if launch.engine != "vllm" or not launch.gpus or launch.group is not None or (launch.nodes or 1) > 1:
        return None
    if accelerator is not None and not accelerator.is_nvidia:
        return None
    ray = explicit_backend(serve_args) == "ray" or serve_args.get("data-parallel-backend") == "ray"
    if ray or multi_node_mp(serve_args) or "RAY_ADDRESS" in env_names:
        return None
    tp, pp, _ = sizes(serve_args)
    if tp * pp <= launch.gpus:
        return None
    rule = load_rules().get("parallel-exceeds-visible-gpus")
    given = accelerator.source if accelerator is not None else f"{launch.gpus} GPU(s)"
    return Finding(
        "refuse",
        rule.message.format(tp=tp, pp=pp, world=tp * pp, visible=launch.gpus) + f" (the file gives it {given})",
        fix=f"give it {tp * pp} GPUs, or lower --tensor-parallel-size x --pipeline-parallel-size to {launch.gpus}",
        origin="vllm-rule",
        rule_id=rule.id,
        vllm_says=rule.vllm_says,
        note="judged without --hardware, on the GPU count the file states",
    )


def launch_inventory(inventory: Inventory, launch: Launch) -> Inventory:
    """The GPUs the launch gets: its group's devices (groups.py) or its pod's, of the node's type; the node as
    given when the file does not say (a host sees all its GPUs). Devices of a probed or file inventory are
    taken in order (a mixed node keeps its mix)."""
    visible = inventory.visible
    gpus = launch.group.devices if launch.group is not None else launch.gpus
    if gpus is None or not visible or gpus == len(visible):
        return inventory
    devices = [replace(visible[index % len(visible)], index=index) for index in range(gpus)]
    names = sorted({device.name for device in devices})
    pods = launch.group.pods if launch.group is not None else None
    per_pod = f" over {pods} pods" if pods is not None and pods > 1 else ""
    detail = f"{gpus} GPU{'s' if gpus != 1 else ''}{per_pod} ({', '.join(names) or 'none'}) as the manifest asks, of "
    return replace(inventory, devices=devices, visible=devices, source_detail=detail + inventory.source_detail)


def judge_engine(
    engine: str,
    tokens: list[str],
    inventory: Inventory,
    read_model: ModelLookup,
    options: LaunchOptions,
    *,
    environ: Mapping[str, str],
    engine_version: str | None,
    version_source: str | None = None,
) -> EngineVerdict:
    """The engine adapter's plan, exactly as a launch makes it, judged for a deploy file: files in the container
    (`--config`, `./ferrum.toml`) are not read, and options built from placeholders are left out.
    `version_source` says where `engine_version` comes from (default: given to the deploy check)."""
    command = EngineCommand(engine, [engine, "serve", *tokens], [engine, "serve"], list(tokens))
    context = PlanContext(
        options,
        command,
        inventory,
        engine_version,
        version_source or ("given to the deploy check" if engine_version else "unknown: not given to the deploy check"),
        environ,
        Path("."),
        lambda _phase: None,
        read_model,
        local_files=False,
        placeholders=True,
    )
    _, plan = engine_adapter(engine).plan(context)
    verdict = EngineVerdict()
    for finding in plan.findings:
        if finding.origin == "vllm-args" and finding.rule_id is not None:
            continue  # the parser's verdicts: the deploy check reads them once, as the file's version reads them
        named = [name for name in plan.unknown_options if f"--{name}" in f"{finding.message} {finding.fix or ''}"]
        if finding.severity == "refuse" and named:
            verdict.undecided.append(
                f"vLLM would refuse with --{named[0]}'s default ({finding.message}), and the file sets "
                f"--{named[0]} from a value it does not hold ({plan.unknown_options[named[0]]})"
            )
        elif finding.severity == "refuse":
            verdict.findings.append(finding)
        elif finding.rule_id in UNKNOWN_FACTS_RULES:
            verdict.notes.append(finding.message)
        elif finding.rule_id not in NODE_STATE_RULES:
            verdict.findings.append(finding)
    return verdict
