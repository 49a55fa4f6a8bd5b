"""The GPUs available to one engine that spans several pods or nodes: one rule for every multi-node kind.

An engine started with tensor and pipeline parallelism over several pods uses the GPUs of all of them:
TP x PP is judged against the group's total, never against one pod. The group is made of roles (a leader
and its workers, a Ray head and its worker groups), each with a number of pods and the devices each pod
asks for, and the total is

    sum over roles of  pods x devices per pod

where a role that requests no device gets none, as Kubernetes gives none to a pod that does not ask
(a Ray head with `num-gpus: 0`), as long as some role of the group does ask. When no role says how many
devices it gets, or a role's pod count is unknown, the total is unknown (None), never guessed.

Evidence, per kind (what each pod count means):
- LeaderWorkerSet (kubernetes-sigs/lws, api/leaderworkerset/v1 `LeaderWorkerTemplate.Size`: "the number of
  pods to create in a group, including the leader"): 1 leader pod (`leaderTemplate`, else `workerTemplate`)
  and `size - 1` worker pods (`workerTemplate`); docs/examples/vllm/GPU/lws.yaml runs TP 8 x PP 2 on
  size 2 x 8 GPUs.
- KubeRay RayCluster (ray-project/kuberay, `HeadGroupSpec` and `WorkerGroupSpec.Replicas`,
  `NumOfHosts`: "the number of hosts per replica"): 1 head pod and, per worker group, `replicas x
  numOfHosts` pods (`minReplicas` when `replicas` is not set); a RayService's cluster is its
  `rayClusterConfig`; an AIBrix RayClusterFleet's is `spec.template.spec` (vllm-project/aibrix
  samples/deepseek-r1: TP 16 on a head and one worker of 8 GPUs each).
- KServe ServingRuntime `workerSpec` (kserve docs "multi-node inference"): 1 head pod and
  `pipelineParallelSize - 1` worker pods, each with `tensorParallelSize` GPUs.
- KServe LLMInferenceService with `worker` (serving.kserve.io/v1alpha2 `ParallelismSpec`): `data /
  dataLocal` pods (a leader and its workers), each with its container's devices.
- AIBrix StormService role `podGroupSize` (orchestration.aibrix.ai/v1alpha1): pods of one instance.
- SkyPilot task `num_nodes` x `resources.accelerators` count (SkyPilot sets SKYPILOT_NUM_NODES and
  SKYPILOT_NUM_GPUS_PER_NODE from them).
- production-stack `raySpec` (helm/templates/ray-cluster.yaml): a head with `headNode.requestGPU` and
  `replicaCount` workers with the model's `requestGPU`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """Pods of one kind in a group: `pods` of them, each asking for `devices` (None: the file does not say)."""

    name: str
    pods: int | None
    devices: int | None


@dataclass(frozen=True)
class Group:
    """The pods that form one engine instance, and the rule's answer for them."""

    kind: str
    """What makes the group (`LeaderWorkerSet size 2`, `RayCluster`, ...)."""
    roles: tuple[Role, ...]

    @property
    def pods(self) -> int | None:
        return group_pods(self.roles)

    @property
    def devices(self) -> int | None:
        return group_devices(self.roles)

    def describe(self) -> str:
        parts = []
        for role in self.roles:
            pods = "?" if role.pods is None else str(role.pods)
            devices = "no count" if role.devices is None else str(role.devices)
            parts.append(f"{role.name} {pods} x {devices}")
        total = "unknown" if self.devices is None else str(self.devices)
        return f"{self.kind}: {' + '.join(parts)} = {total} devices"


def group_pods(roles: Sequence[Role]) -> int | None:
    if any(role.pods is None for role in roles):
        return None
    return sum(role.pods or 0 for role in roles)


def group_devices(roles: Sequence[Role]) -> int | None:
    """The devices available to one engine spanning `roles` (the rule in the module docstring)."""
    if not roles or any(role.pods is None and role.devices != 0 for role in roles):
        return None
    if all(role.devices is None for role in roles):
        return None
    return sum((role.pods or 0) * (role.devices or 0) for role in roles)


def single(devices: int | None) -> Group:
    """A launch on one pod or host."""
    return Group("one pod", (Role("pod", 1, devices),))
