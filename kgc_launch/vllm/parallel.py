"""The devices vLLM will see and how the model is split across them (tensor and pipeline parallel)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from kgc_launch.hardware.inventory import Device, Inventory
from kgc_launch.records import AutoConfigSource
from kgc_launch.vllm.context import MEMORY, PERFORMANCE, ResolveContext
from kgc_launch.vllm.problems import Fields
from kgc_launch.vllm.rules import Variant

UUID_PREFIXES = ("GPU-", "MIG-")


def decide_devices(ctx: ResolveContext) -> None:
    """Visible devices: none at all, UUIDs vLLM cannot parse, MIG slices, mixed models."""
    if not ctx.on_cuda:
        return
    if not ctx.gpu_info_known:
        ctx.note_unknown("the GPUs (no probe, preset or hardware file)")
        return
    if not ctx.devices:
        ctx.check("no-visible-gpu", lambda _variant: _no_gpu_fields(ctx))
        return
    _check_uuid_entries(ctx)
    _check_mixed_models(ctx)


def _no_gpu_fields(ctx: ResolveContext) -> Fields:
    value = ctx.environ.get("CUDA_VISIBLE_DEVICES")
    if value is not None:
        return {"reason": f" (CUDA_VISIBLE_DEVICES={value!r})", "fix": "unset CUDA_VISIBLE_DEVICES"}
    return {"reason": " on this machine", "fix": "run on a machine with an NVIDIA GPU, or use the vLLM CPU build"}


def _check_uuid_entries(ctx: ResolveContext) -> None:
    value = ctx.environ.get("CUDA_VISIBLE_DEVICES")
    if not value:
        return
    entries = [entry.strip() for entry in value.split(",")]
    uuids = [entry for entry in entries if entry.startswith(UUID_PREFIXES)]
    if uuids:
        fields = {"value": value, "uuid": uuids[0], "suggested": _suggest_indices(ctx, entries)}
        ctx.check("cuda-visible-devices-uuid", lambda _variant: fields)


def _suggest_indices(ctx: ResolveContext, entries: list[str]) -> str:
    """Indices that name the same devices, when the inventory maps every UUID to one."""
    if any(entry.startswith("MIG-") for entry in entries):
        # A MIG slice has no CUDA index of its own; expose only that slice and address it as device 0.
        return f"CUDA_VISIBLE_DEVICES=0 with only the slice exposed (NVIDIA_VISIBLE_DEVICES={entries[0]})"
    indices: list[str] = []
    for entry in entries:
        match = next((d for d in ctx.inventory.devices if d.uuid and d.uuid.startswith(entry)), None)
        if match is None or match.index is None:
            return "CUDA_VISIBLE_DEVICES=<indices> (nvidia-smi -L lists them)"
        indices.append(str(match.index))
    return f"CUDA_VISIBLE_DEVICES={','.join(indices)} CUDA_DEVICE_ORDER=PCI_BUS_ID"


def _check_mixed_models(ctx: ResolveContext) -> None:
    # CUDA orders the GPUs of one node: of a cluster, only the node the launch runs on matters here.
    models = sorted({device.name for device in _this_node(ctx)})
    if len(models) < 2 or ctx.environ.get("CUDA_DEVICE_ORDER"):
        return
    problem = ctx.check("mixed-gpus-device-order", lambda _variant: {"models": ", ".join(models)})
    if problem is None:
        return
    ctx.env_changes["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    ctx.decide(
        "cuda_device_order",
        "PCI_BUS_ID",
        AutoConfigSource.HARDWARE_CAPABILITY,
        source_key="CUDA_DEVICE_ORDER",
        candidates=["FASTEST_FIRST", "PCI_BUS_ID"],
        rejected=[("FASTEST_FIRST", f"different GPU models are visible ({', '.join(models)})")],
    )
    # Judge the devices the engine will really get, in its order, from here on.
    view = visible_under(ctx.inventory, {**ctx.environ, **ctx.env_changes})
    if view is not None:
        ctx.inventory = view


def visible_under(inventory: Inventory, environ: Mapping[str, str]) -> Inventory | None:
    """The inventory as an engine started with `environ` sees it, when that differs from what was probed."""
    from kgc_launch.hardware.visible import visible_devices

    if inventory.source == "preset" or not inventory.devices or inventory.nodes:
        return None
    visible = visible_devices(inventory.devices, environ).devices
    if [device.uuid for device in visible] == [device.uuid for device in inventory.visible]:
        return None
    return replace(inventory, visible=visible)


def _this_node(ctx: ResolveContext) -> list[Device]:
    from kgc_launch.hardware.cluster import driver_node

    driver = driver_node(ctx.inventory)
    if driver is None:
        return ctx.devices
    return [device for device in ctx.devices if device.node_id == driver.node_id]


def mig_parent_memory(ctx: ResolveContext, device: Device) -> int | None:
    """The parent GPU's memory, which vLLM reads for a MIG slice (PR #41776), when the inventory has it."""
    if device.mig is None or device.mig.parent_uuid is None:
        return None
    parent = next((d for d in ctx.inventory.devices if d.uuid == device.mig.parent_uuid), None)
    return None if parent is None else parent.memory_total_bytes


def decide_parallel(ctx: ResolveContext) -> None:
    tp = _size(ctx, "tensor-parallel-size")
    pp = _size(ctx, "pipeline-parallel-size")
    heads = ctx.model.num_attention_heads
    visible = len(ctx.devices) if (ctx.on_cuda and ctx.gpu_info_known) else None
    per_stage = None if visible is None else max(visible // pp, 0)
    valid = _valid_tp_sizes(heads, per_stage)
    rejected = [(str(size), reason) for size, reason in _rejected_tp(heads, per_stage, tp)]
    if heads is None:
        ctx.note_unknown("the model's attention head count")
    source, key = _source(ctx, "tensor-parallel-size")
    candidates = [str(size) for size in valid] or [str(tp)]
    ctx.decide(
        "tensor_parallel_size",
        str(tp),
        source,
        source_key=key,
        candidates=candidates,
        rejected=rejected,
        affects=[PERFORMANCE, MEMORY],
    )
    pp_source, pp_key = _source(ctx, "pipeline-parallel-size")
    ctx.decide("pipeline_parallel_size", str(pp), pp_source, source_key=pp_key, affects=[PERFORMANCE, MEMORY])
    if heads is not None and tp > 0 and heads % tp != 0:
        suggested = f"--tensor-parallel-size {valid[-1]}" if valid else "--tensor-parallel-size 1"
        fields = {"heads": heads, "tp": tp, "valid": ", ".join(map(str, valid)) or "1", "suggested": suggested}
        ctx.check("tensor-parallel-divides-heads", lambda _variant: fields)
    if visible is not None and tp * pp > visible and not _multi_node(ctx):
        suggested = _fit_suggestion(pp, visible, valid)
        fields = {"tp": tp, "pp": pp, "world": tp * pp, "visible": visible, "suggested": suggested}
        if visible > 0:
            ctx.check("parallel-exceeds-visible-gpus", lambda variant: _exceeds(ctx, variant, fields))
    _check_layer_partition(ctx, pp)


def _exceeds(ctx: ResolveContext, variant: Variant, fields: Fields) -> Fields | None:
    """vLLM >= 0.11.2 refuses; before 0.11 it runs the workers under Ray, which fails only when the cluster it
    joins is too small (no cluster at all: a one-node instance of this node's GPUs)."""
    from kgc_launch.vllm.multinode import ray_fallback_fails

    if variant.params.get("default_backend") == "ray" and not ray_fallback_fails(ctx, int(fields["world"])):
        return None
    return fields


def _check_layer_partition(ctx: ResolveContext, pp: int) -> None:
    """`VLLM_PP_LAYER_PARTITION` as vLLM's `get_pp_indices` validates it (vllm/distributed/utils.py)."""
    from kgc_launch.vllm.memory import pp_partition

    text = ctx.environ.get("VLLM_PP_LAYER_PARTITION")
    layers = ctx.model.num_hidden_layers
    if text is None or pp < 2 or layers is None:
        return
    try:
        pp_partition(layers, pp, text)
    except ValueError as error:
        fields = {"value": text, "reason": str(error), "pp": pp, "layers": layers}
        ctx.check("pp-layer-partition-invalid", lambda _variant: fields)


def _source(ctx: ResolveContext, option: str) -> tuple[AutoConfigSource, str | None]:
    if ctx.args.has(option):
        return ctx.source_of(option)
    return AutoConfigSource.DEFAULT, None


def _size(ctx: ResolveContext, option: str) -> int:
    value = ctx.option_int(option, example="1")
    if value is None:
        return 1
    if value < 1:
        fields = {"option": option, "value": str(value), "expected": "at least 1", "example": "1"}
        ctx.check("option-value-invalid", lambda _variant: fields)
        return 1
    return value


def _valid_tp_sizes(heads: int | None, per_stage: int | None) -> list[int]:
    limit = per_stage if per_stage is not None else (heads or 1)
    if heads is None:
        return list(range(1, max(limit, 1) + 1)) if per_stage is not None else []
    return [size for size in range(1, min(heads, max(limit, 1)) + 1) if heads % size == 0]


def _rejected_tp(heads: int | None, per_stage: int | None, tp: int) -> list[tuple[int, str]]:
    rejected: list[tuple[int, str]] = []
    if heads is not None and heads % tp != 0:
        rejected.append((tp, f"{heads} attention heads do not divide by {tp}"))
    elif per_stage is not None and tp > per_stage:
        rejected.append((tp, f"needs {tp} GPUs per pipeline stage; {per_stage} available"))
    return rejected


def _fit_suggestion(pp: int, visible: int, valid: list[int]) -> str:
    if pp > visible:
        return f"--pipeline-parallel-size {visible} --tensor-parallel-size 1"
    return f"--tensor-parallel-size {valid[-1] if valid else 1}"


def _multi_node(ctx: ResolveContext) -> bool:
    """Ray (judged on its cluster by `multinode.py`) or vLLM's own multi-node mode supply GPUs this node does
    not have: the per-node count check does not apply."""
    from kgc_launch.vllm.multinode import multi_node_mp

    return ctx.resolved.get("distributed_executor_backend") == "ray" or multi_node_mp(ctx.args)
