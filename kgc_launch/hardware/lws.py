"""A LeaderWorkerSet group seen from inside one of its pods, and the group arithmetic. Pure.

LWS gives every pod of a group `LWS_GROUP_SIZE` (pods in the group), `LWS_WORKER_INDEX` (0 is the leader)
and `LWS_LEADER_ADDRESS` (the leader pod's DNS name). The leader runs the engine; with Ray the workers run
`ray start --address=$LWS_LEADER_ADDRESS:6379 --block` (vLLM's examples/online_serving/multi-node-serving.sh),
without Ray `vllm serve --headless --node-rank $LWS_WORKER_INDEX`. Pods of a group share one worker template,
so the leader can plan for the group from its own GPUs when the Ray cluster cannot be read.

`group_size_for` and `group_gpus` are the arithmetic a deploy check shares with a launch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from kgc_launch import startup
from kgc_launch.hardware.inventory import ClusterNode, Inventory

GROUP_SIZE = "LWS_GROUP_SIZE"
WORKER_INDEX = "LWS_WORKER_INDEX"
LEADER_ADDRESS = "LWS_LEADER_ADDRESS"


@dataclass(frozen=True)
class LwsGroup:
    size: int
    """Pods in the group, the leader included."""
    index: int | None
    """This pod's index; 0 is the leader. None when LWS_WORKER_INDEX is unset (LWS < 0.6 needs the Downward API)."""
    leader_address: str | None

    @property
    def is_leader(self) -> bool:
        return self.index == 0


def lws_group(environ: Mapping[str, str]) -> LwsGroup | None:
    """The group this pod belongs to, or None outside a LeaderWorkerSet (or with a malformed LWS_GROUP_SIZE)."""
    size = _whole(environ.get(GROUP_SIZE))
    if size is None or size < 1:
        return None
    index = _whole(environ.get(WORKER_INDEX))
    return LwsGroup(size=size, index=index, leader_address=environ.get(LEADER_ADDRESS) or None)


def group_gpus(group_size: int, gpus_per_pod: int) -> int:
    """GPUs a group of `group_size` pods with `gpus_per_pod` each holds: the rule the deploy check applies to
    a LeaderWorkerSet manifest (`kgc_launch.hardware.groups.group_devices`), seen from inside a pod."""
    from kgc_launch.hardware.groups import Role, group_devices

    roles = [Role("leader", 1, max(gpus_per_pod, 0)), Role("worker", max(group_size - 1, 0), max(gpus_per_pod, 0))]
    return group_devices(roles) or 0 if group_size >= 1 else 0


def group_size_for(world_size: int, gpus_per_pod: int) -> int:
    """Pods a group needs so that `world_size` GPUs (TP x PP x DP) fit at `gpus_per_pod` each (ceil)."""
    if world_size < 1 or gpus_per_pod < 1:
        raise ValueError("world_size and gpus_per_pod must be at least 1")
    return -(-world_size // gpus_per_pod)


def group_inventory(local: Inventory, group: LwsGroup) -> Inventory:
    """The group as a cluster inventory: this pod's GPUs, and as many identical ones on each other pod.

    The other pods are assumed to be what this one is (one worker template); their free memory is unknown.
    """
    own = list(local.visible)
    nodes = [
        ClusterNode(
            node_id=f"lws-{index}",
            address=(group.leader_address if index == 0 else None),
            alive=True,
            death_reason=None,
            head=index == 0,
            driver=index == (group.index or 0),
            gpus=len(own),
            gpus_free=None,
            accelerator_type=None,
            labels={},
            gpu_source="this pod's probe" if index == (group.index or 0) else "assumed identical to this pod",
            vllm_ip=None,
        )
        for index in range(group.size)
    ]
    nodes.sort(key=lambda node: not node.driver)
    devices = []
    for node in nodes:
        for device in own:
            update: dict[str, object] = {"node_id": node.node_id}
            if not node.driver:
                unknown = dict(device.unknown_fields)
                unknown["memory_free_bytes"] = "another pod of the group (not probed)"
                update.update(memory_free_bytes=None, memory_used_bytes=None, uuid=None, unknown_fields=unknown)
            devices.append(replace(device, **update))  # type: ignore[arg-type]
    return replace(
        local,
        source="lws",
        source_detail=f"LWS group of {group.size} pod(s) x {len(own)} GPU(s) ({local.source} "
        f"{local.source_detail}; the other pods assumed identical)".replace(" )", ")"),
        devices=devices,
        visible=list(devices),
        nodes=nodes,
    )


def is_ray_node_command(argv: list[str]) -> bool:
    """`ray start ...`: a pod joining (or starting) a Ray cluster, e.g. an LWS worker whose image has
    kgc-launch as its ENTRYPOINT. It is not an engine launch and is not checked."""
    return len(argv) >= 2 and Path(argv[0]).name == "ray" and argv[1] == "start"


def run_ray_node(argv: list[str], environ: Mapping[str, str], *, dry_run: bool, quiet: bool) -> int:
    """Exec `ray start ...` unchanged (no checks, no artifacts); a dry run says it would."""
    import os
    import shutil
    import sys

    from kgc_launch.errors import EngineNotFound

    group = lws_group(environ)
    role = f"LWS worker {group.index} of {group.size}" if group is not None and group.index else "a Ray node"
    note = f"kgc-launch: {' '.join(argv)}: {role}, not an engine launch; passed through unchanged"
    if dry_run:
        print(f"{note} (dry run: not started)")
        return 0
    if not quiet:
        print(note, file=sys.stderr)
    executable = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=environ.get("PATH"))
    if executable is None:
        raise EngineNotFound(f"executable not found: {argv[0]} on PATH", hint="install ray in the image")
    startup.before_exec()
    os.execve(executable, argv, dict(environ))
    return 0  # not reached


def _whole(text: str | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return None
    return int(text.strip())
