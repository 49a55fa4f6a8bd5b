"""Multi-node vLLM: which executor runs the workers, where Ray places them, and the checks of that placement.

vLLM's Ray executor (`vllm/v1/executor/ray_utils.py`, `initialize_ray_cluster`) asks Ray for one bundle
of one GPU per worker (TP x PP of them; each data-parallel rank asks for its own), pins the first bundle to
the driver's node (`node:<vLLM's IP>`), packs the rest (`strategy="PACK"`), waits up to 1800 s for the
placement group, and warns when a node holds fewer bundles than TP. The executor then ranks the workers
driver's node first, then nodes holding fewer workers, then by IP (`sort_by_driver_then_worker_ip`);
ranks `k*TP .. (k+1)*TP-1` are pipeline stage k. `place` repeats that on the probed cluster, so the
checks and the memory plan see the GPUs vLLM will use, in its order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kgc_launch.hardware.cluster import driver_node, is_cluster
from kgc_launch.hardware.inventory import ClusterNode, Device, Inventory
from kgc_launch.records import AutoConfigSource
from kgc_launch.serve_args import ServeArgs
from kgc_launch.units import GIB
from kgc_launch.versions import EngineVersion
from kgc_launch.vllm.context import MEMORY, PERFORMANCE, ResolveContext
from kgc_launch.vllm.rules import RuleSet, applicable_variants, load_rules

MULTI_NODE_OPTIONS = ("nnodes", "headless", "data-parallel-address")
"""Options of vLLM's own (multiprocessing) multi-node mode: the GPU count is then per node, not checked here."""
EXECUTOR_RULE = "parallel-exceeds-visible-gpus"
"""Its variants say what vLLM does by itself when TP x PP exceeds the node's GPUs (`default_backend`)."""


@dataclass(frozen=True)
class NodeShare:
    node: ClusterNode
    count: int
    first_rank: int


@dataclass(frozen=True)
class Placement:
    shares: tuple[NodeShare, ...]
    """Nodes in vLLM's rank order with the bundles each holds."""
    unplaced: int
    """Bundles no node had a GPU for."""

    @property
    def placed(self) -> int:
        return sum(share.count for share in self.shares)


def sizes(args: ServeArgs) -> tuple[int, int, int]:
    """TP, PP and DP as given (1 when unset or not a valid size; the parallel rules report bad values)."""

    def size(option: str) -> int:
        try:
            value = args.int_value(option)
        except Exception:  # a malformed value: `decide_parallel` refuses it
            return 1
        return value if value is not None and value > 0 else 1

    return size("tensor-parallel-size"), size("pipeline-parallel-size"), size("data-parallel-size")


def explicit_backend(args: ServeArgs) -> str | None:
    value = args.get("distributed-executor-backend")
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, str) else None


def multi_node_mp(args: ServeArgs) -> bool:
    """vLLM's multiprocessing multi-node mode (`--nnodes`, `--headless`, a DP address)."""
    return any(args.has(option) for option in MULTI_NODE_OPTIONS)


def default_backends(version: EngineVersion | None, rules: RuleSet | None = None) -> set[str]:
    """What vLLM may pick by itself when TP x PP exceeds the node's GPUs, over the versions that may apply:
    `ray` (before PR #25775) and/or `error` (it refuses)."""
    rule = (rules or load_rules()).get(EXECUTOR_RULE)
    return {str(v.params.get("default_backend", "error")) for v in applicable_variants(rule, version).variants}


def uses_ray(args: ServeArgs, local_gpus: int | None, version: EngineVersion | None) -> bool:
    """Whether the launch's workers may run under Ray: asked for, or vLLM's own fallback when TP x PP exceeds
    this node's GPUs (vLLM < 0.11). Data-parallel ranks over Ray (`--data-parallel-backend ray`) count too."""
    backend = explicit_backend(args)
    if backend is not None:
        return backend == "ray"
    if _text(args, "data-parallel-backend") == "ray":
        return True
    tp, pp, _ = sizes(args)
    if local_gpus is None or tp * pp <= local_gpus or multi_node_mp(args):
        return False
    return "ray" in default_backends(version)


def local_gpu_count(inventory: Inventory) -> int:
    """The GPUs of the node the launch runs on (the driver's node of a cluster inventory)."""
    driver = driver_node(inventory)
    if driver is None:
        return len(inventory.visible)
    return sum(1 for device in inventory.visible if device.node_id == driver.node_id)


def place(nodes: list[ClusterNode], bundles: int) -> Placement:
    """Where Ray puts `bundles` one-GPU bundles for vLLM, in vLLM's rank order (see the module docstring).

    The driver's node takes as many as it has free (the first bundle is pinned there, PACK keeps the rest
    close), then the nodes with the most free GPUs (PACK: as few nodes as possible). Unknown free counts are
    taken as all free.
    """
    alive = [node for node in nodes if node.alive and node.gpus > 0]
    left = bundles
    taken: list[tuple[ClusterNode, int]] = []
    driver = next((node for node in alive if node.driver), None)
    others = sorted((n for n in alive if n is not driver), key=lambda n: (-_free(n), n.address or "", n.node_id))
    for node in ([driver] if driver is not None else []) + others:
        count = min(_free(node), left)
        if count > 0:
            taken.append((node, count))
            left -= count
    # vLLM's order: the driver's node, then nodes with fewer workers, then by IP.
    taken.sort(key=lambda item: (not item[0].driver, item[1], item[0].address or "", item[0].node_id))
    shares, rank = [], 0
    for node, count in taken:
        shares.append(NodeShare(node, count, rank))
        rank += count
    return Placement(tuple(shares), left)


def _free(node: ClusterNode) -> int:
    return node.gpus if node.gpus_free is None else min(node.gpus_free, node.gpus)


def placed_devices(inventory: Inventory, placement: Placement) -> list[Device]:
    """The GPUs of the placement in rank order: each node's first `count` devices."""
    devices: list[Device] = []
    for share in placement.shares:
        own = [device for device in inventory.visible if device.node_id == share.node.node_id]
        devices += own[: share.count]
    return devices


# -- the resolver step ----------------------------------------------------------------------------------


def decide_placement(ctx: ResolveContext) -> None:
    """The executor, and for Ray the placement on the cluster and its checks. Narrows `ctx.inventory` to the
    GPUs vLLM will use, in its rank order, so the later checks and the memory plan judge exactly those."""
    _check_lws_worker(ctx)
    if not ctx.on_cuda or not ctx.gpu_info_known:
        return
    tp, pp, dp = sizes(ctx.args)
    world = tp * pp
    local = local_gpu_count(ctx.inventory)
    backend, implicit = _decide_backend(ctx, world, local)
    if backend != "ray":
        if is_cluster(ctx.inventory) and not multi_node_mp(ctx.args):
            _narrow(ctx, [d for d in ctx.inventory.visible if _on_driver(ctx.inventory, d)])
        return
    bundles = world * dp
    if not is_cluster(ctx.inventory):
        _single_node_ray(ctx, bundles, local, implicit=implicit)
        return
    _check_cluster(ctx, tp, pp, dp, bundles)


def ray_fallback_fails(ctx: ResolveContext, bundles: int) -> bool:
    """Whether vLLM's own fallback to Ray (vLLM < 0.11) is known to fail: the cluster it would join has fewer
    GPUs than the placement asks for (no cluster at all: ray.init() starts one on this node)."""
    if is_cluster(ctx.inventory):
        return sum(node.gpus for node in ctx.inventory.nodes if node.alive) < bundles
    return ctx.cluster is None or ctx.cluster.kind != "unread"


def _check_lws_worker(ctx: ResolveContext) -> None:
    """An LWS worker pod serves nothing: with Ray it runs `ray start --block`, without it `vllm serve --headless`."""
    from kgc_launch.hardware.lws import lws_group

    group = lws_group(ctx.environ)
    if group is None or group.index in (None, 0) or ctx.args.has("headless"):
        return
    fields = {"index": group.index, "size": group.size, "leader": group.leader_address or "$LWS_LEADER_ADDRESS"}
    ctx.check("lws-worker-launch", lambda _variant: fields)


def _decide_backend(ctx: ResolveContext, world: int, local: int) -> tuple[str | None, bool]:
    """The executor and whether vLLM picks it by itself; None where vLLM's choice is not Ray for certain."""
    explicit = explicit_backend(ctx.args)
    if explicit is not None:
        source, key = ctx.source_of("distributed-executor-backend")
        if explicit == "ray" or world > local or is_cluster(ctx.inventory):
            ctx.decide("distributed_executor_backend", explicit, source, source_key=key, affects=[PERFORMANCE])
        return explicit, False
    if _text(ctx.args, "data-parallel-backend") == "ray":
        source, key = ctx.source_of("data-parallel-backend")
        ctx.decide("distributed_executor_backend", "ray", source, source_key=key, affects=[PERFORMANCE])
        return "ray", False
    if world <= local or multi_node_mp(ctx.args):
        return None, True
    if default_backends(ctx.version, ctx.rules) != {"ray"}:
        # vLLM >= 0.11.2 refuses; an unknown version may do either: `parallel-exceeds-visible-gpus` judges.
        return None, True
    ctx.decide(
        "distributed_executor_backend",
        "ray",
        AutoConfigSource.DEFAULT,
        source_key=f"vLLM < 0.11 runs TP x PP = {world} > this node's {local} GPUs under Ray by itself",
        candidates=["mp", "ray"],
        rejected=[("mp", f"TP x PP = {world} exceeds this node's {local} GPU(s)")],
        affects=[PERFORMANCE],
    )
    return "ray", True


def _single_node_ray(ctx: ResolveContext, bundles: int, local: int, *, implicit: bool) -> None:
    """Ray without a cluster inventory: no cluster (vLLM's ray.init() starts one on this node), a cluster that
    could not be read, or GPUs named by --hardware / a deploy check."""
    if bundles <= local:
        return  # this node alone holds the placement
    status = ctx.cluster
    if status is not None and status.kind == "absent":
        where = f"no Ray cluster is running ({status.why}): vLLM's ray.init() starts a one-node instance"
        _too_few(ctx, bundles, local, f"{where} with this node's {local} GPU(s)")
        return
    if implicit and (status is None or status.kind == "named"):
        # vLLM fell back to Ray by itself; the hardware given is all there is to plan for.
        _too_few(ctx, bundles, local, f"the hardware given is one node of {local} GPU(s)")
        return
    why = status.why if status is not None else "the GPUs given (--hardware) describe one node, not a Ray cluster"
    ctx.check("ray-cluster-not-evaluated", lambda _variant: {"why": why, "bundles": bundles, "local": local})
    ctx.note_unknown("the Ray cluster (its nodes and GPUs)")


def _check_cluster(ctx: ResolveContext, tp: int, pp: int, dp: int, bundles: int) -> None:
    inventory = ctx.inventory
    nodes = list(inventory.nodes)
    alive = [node for node in nodes if node.alive]
    total = sum(node.gpus for node in alive)
    dead = [node for node in nodes if not node.alive]
    if dead:
        names = ", ".join(_node_name(node) for node in dead)
        ctx.check("ray-node-dead", lambda _variant: {"nodes": names, "count": len(dead)})
    driver = next((node for node in alive if node.driver), None)
    _check_driver_ip(ctx, driver)
    if driver is not None and driver.gpus_free is not None and min(driver.gpus_free, driver.gpus) < 1:
        fields = {"node": _node_name(driver), "gpus": driver.gpus}
        ctx.check("ray-driver-node-no-gpu", lambda _variant: fields)
    if bundles > total:
        _too_few(ctx, bundles, total, f"the Ray cluster has {total} GPU(s) on {len(alive)} alive node(s)")
        return
    placement = place(nodes, bundles)
    if placement.unplaced:
        free = placement.placed
        ctx.check(
            "ray-cluster-gpus-busy",
            lambda _variant: {"bundles": bundles, "free": free, "total": total},
        )
        return
    devices = placed_devices(inventory, placement)
    _narrow(ctx, devices)
    _record_placement(ctx, placement, tp, pp, dp)
    split = [share for share in placement.shares if share.count < tp]
    if split and tp > 1:
        per_node = max(node.gpus for node in alive)
        fields = {
            "tp": tp,
            "nodes": ", ".join(f"{_node_name(s.node)} holds {s.count}" for s in split),
            "suggested": _suggest_tp_pp(ctx, tp * pp, per_node),
        }
        ctx.check("ray-tensor-parallel-across-nodes", lambda _variant: fields)
    _check_mixed(ctx, devices)


def _too_few(ctx: ResolveContext, bundles: int, have: int, where: str) -> None:
    tp, pp, dp = sizes(ctx.args)
    shown = f"--tensor-parallel-size {tp} x --pipeline-parallel-size {pp}"
    shown += f" x --data-parallel-size {dp}" if dp > 1 else ""
    fields = {"sizes": shown, "tp": tp, "pp": pp, "dp": dp, "world": bundles, "have": have, "where": where}
    fields["suggested"] = _shrink(ctx, tp, pp, have)
    ctx.check("ray-cluster-too-few-gpus", lambda _variant: fields)


def _shrink(ctx: ResolveContext, tp: int, pp: int, have: int) -> str:
    if have >= tp and have // tp >= 1:
        return f"--pipeline-parallel-size {have // tp}" if have // tp != pp else f"--tensor-parallel-size {tp}"
    heads = ctx.model.num_attention_heads
    size = max((s for s in range(1, max(have, 1) + 1) if heads is None or heads % s == 0), default=1)
    return f"--tensor-parallel-size {size} --pipeline-parallel-size 1"


def _suggest_tp_pp(ctx: ResolveContext, world: int, per_node: int) -> str:
    heads = ctx.model.num_attention_heads
    for tp in range(min(per_node, world), 0, -1):
        if world % tp == 0 and (heads is None or heads % tp == 0):
            return f"--tensor-parallel-size {tp} --pipeline-parallel-size {world // tp}"
    return "--tensor-parallel-size 1"


def _check_driver_ip(ctx: ResolveContext, driver: ClusterNode | None) -> None:
    """vLLM pins the first bundle to `node:<get_ip()>`: that must be the driver node's Ray address."""
    if driver is None or not driver.address:
        return
    ip = ctx.environ.get("VLLM_HOST_IP") or driver.vllm_ip
    if ip is None or ip == driver.address:
        return
    source = "VLLM_HOST_IP" if ctx.environ.get("VLLM_HOST_IP") else "the default route (VLLM_HOST_IP unset)"
    fields = {"ip": ip, "source": source, "address": driver.address}
    ctx.check("ray-driver-ip-mismatch", lambda _variant: fields)


def _check_mixed(ctx: ResolveContext, devices: list[Device]) -> None:
    names = sorted({device.name for device in devices})
    if len(names) < 2:
        return
    sized = [device for device in devices if device.memory_total_bytes]
    unsized = sorted({device.name for device in devices if not device.memory_total_bytes})
    if unsized:
        plan = f"unknown: the memory of {', '.join(unsized)} is unknown, so no memory plan is made"
    else:
        smallest = min(sized, key=lambda d: d.memory_total_bytes or 0)
        plan = f"{smallest.name}, {(smallest.memory_total_bytes or 0) / GIB:.1f} GiB"
    ctx.check("ray-mixed-gpu-types", lambda _variant: {"models": ", ".join(names), "smallest": plan})


def _record_placement(ctx: ResolveContext, placement: Placement, tp: int, pp: int, dp: int) -> None:
    parts = []
    for share in placement.shares:
        last = share.first_rank + share.count - 1
        stages = sorted({rank // tp % pp for rank in range(share.first_rank, last + 1)})
        stage_text = ", ".join(map(str, stages))
        role = " (driver)" if share.node.driver else ""
        parts.append(f"{_node_name(share.node)}{role}: ranks {share.first_rank}-{last}, PP stage(s) {stage_text}")
    ctx.decide(
        "ray_placement",
        "; ".join(parts),
        AutoConfigSource.HARDWARE_CAPABILITY,
        source_key=f"{tp * pp * dp} one-GPU bundles, PACK, driver's node first (ray_utils.initialize_ray_cluster)",
        affects=[PERFORMANCE, MEMORY],
    )


def _narrow(ctx: ResolveContext, devices: list[Device]) -> None:
    ctx.inventory = replace(ctx.inventory, visible=devices)


def _on_driver(inventory: Inventory, device: Device) -> bool:
    driver = driver_node(inventory)
    return driver is None or device.node_id == driver.node_id


def _node_name(node: ClusterNode) -> str:
    kind = node.accelerator_type or "?"
    return f"{node.address or node.node_id[:12]} [{node.node_id[:8]}, {node.gpus}x{kind}]"


def _text(args: ServeArgs, option: str) -> str | None:
    value = args.get(option)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, str) else None
