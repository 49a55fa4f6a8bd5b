"""Kubernetes manifests (also `helm template` output) -> the engine launches of their containers.

Where the pod templates are:
- Pod (`spec`); Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, Argo Rollout
  (`spec.template.spec`); CronJob (`spec.jobTemplate.spec.template.spec`); PodTemplate (`template.spec`);
  Knative Service (`spec.template.spec`);
- LeaderWorkerSet (`spec.leaderWorkerTemplate.leaderTemplate` and `.workerTemplate`; without a
  leaderTemplate the worker template runs the leader too); LWS injects LWS_LEADER_ADDRESS,
  LWS_GROUP_SIZE and LWS_WORKER_INDEX into every container;
- KubeRay RayCluster (`headGroupSpec` and `workerGroupSpecs`), RayService (its `rayClusterConfig`, and a
  Ray Serve LLM application in `serveConfigV2`), AIBrix RayClusterFleet (`spec.template.spec`, a RayCluster
  spec) and StormService (`spec.template.spec.roles[]`, `podGroupSize` pods per instance); KubeRay gives
  the first container of a Ray pod its own `ray start` command unless the file sets `command` (the
  user's command then runs `$KUBERAY_GEN_RAY_START_CMD` itself);
- KServe InferenceService (`spec.predictor` containers, and `predictor.model` joined with its
  ServingRuntime by kserve.py) and ServingRuntime / ClusterServingRuntime (`spec.containers`, and
  `spec.workerSpec` for multi-node);
- operators that start an engine from their own fields (operators.py): KServe LLMInferenceService and
  LLMInferenceServiceConfig, KubeAI Model;
- OpenShift Template (`objects`, with `${PARAM}` filled from `parameters` defaults);
- Argo Workflows and Tekton objects: the containers of their steps (workflows.py);
- `kind: List` (`items`); any other kind: every `containers` list found in it (JobSet, ...).
`containers` are the launches; `initContainers` run to completion before them and are skipped, except
native sidecars (`restartPolicy: Always`), which run beside the main containers. An init container that
downloads a model (`huggingface-cli download ORG/NAME --local-dir DIR`) names the model of a launch that
serves DIR (model_source.py), and so does an annotation `kgc-launch.io/model: ORG/NAME`.

A multi-pod group (LWS, Ray, StormService, KServe workerSpec) gives each of its launches the group's
devices by the rule in groups.py; the devices of each pod are its containers' requests (accelerators.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from kgc_launch.deploy import operators, workflows
from kgc_launch.deploy.accelerators import Accelerator, from_resources
from kgc_launch.deploy.command import shell_script_of
from kgc_launch.deploy.config_maps import ConfigMapData, config_maps_in, with_config_maps
from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.images import mentions_engine_text
from kgc_launch.deploy.k8s_container import ContainerSpec, container_launches, read_container
from kgc_launch.deploy.kserve import read_model_reference, read_serving_runtime
from kgc_launch.deploy.launch import EnvValue, ModelHint, Unknown, mapping, strip_wrappers
from kgc_launch.deploy.model_source import annotation_hint, download_hint
from kgc_launch.deploy.origin import SourceText
from kgc_launch.deploy.shell import split_script
from kgc_launch.errors import InputError
from kgc_launch.hardware.groups import Group, Role
from kgc_launch.yamlio import line_of

_TEMPLATED = frozenset(
    ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "Rollout"]
)
_RUNTIMES = frozenset(["ServingRuntime", "ClusterServingRuntime"])
# Kinds that never hold a pod template nor a command: not walked (an engine word in them is only a name).
PLAIN_KINDS = frozenset(
    ["Service", "Ingress", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
     "PersistentVolumeClaim", "PersistentVolume", "Namespace", "NetworkPolicy", "HorizontalPodAutoscaler",
     "PodDisruptionBudget", "StorageClass", "CustomResourceDefinition", "Secret", "ServiceMonitor",
     "PodMonitor", "HTTPRoute", "Gateway", "InferencePool", "InferenceModel", "ScaledObject"]
)  # fmt: skip
_PARAMETER = re.compile(r"\$\{\{?([A-Za-z_][A-Za-z0-9_]*)\}?\}")


@dataclass
class PodRole:
    """One pod template of an object: its role, spec and the variables its controller injects."""

    role: str
    spec: Any
    injected: dict[str, EnvValue] = field(default_factory=dict)
    pods: int | None = 1
    """Pods of this role in one engine instance (a group); None when unknown."""
    metadata: Any = None
    group: str | None = None
    """The group this role's pods belong to (roles with the same label form one engine instance)."""
    ray: bool = False
    """A KubeRay pod: its first container, given no `command`, runs KubeRay's generated `ray start`."""


@dataclass
class _Context:
    path: str
    findings: Findings
    source: SourceText | None
    config_maps: list[ConfigMapData] = field(default_factory=list)
    namespace: str | None = None
    """The namespace the object being read states (a ConfigMap of another one is not its)."""


def is_kubernetes(document: Any) -> bool:
    return isinstance(document, dict) and "kind" in document and "apiVersion" in document


def kubernetes_findings(
    documents: Sequence[Any],
    path: str,
    source: SourceText | None = None,
    config_maps: Sequence[ConfigMapData] = (),
) -> Findings:
    """Launches (and KServe pieces) of every Kubernetes object in the documents of one file; `config_maps`
    are those of the other scanned files (the file's own are added here)."""
    own = config_maps_in(documents, path)
    context = _Context(path, Findings(), source, [*own, *(m for m in config_maps if m.path != path)])
    for document in documents:
        if is_kubernetes(document):
            _object(document, context)
    return context.findings


def _object(document: dict[str, Any], context: _Context) -> None:
    kind = str(document.get("kind"))
    if isinstance(document.get("items"), list) and kind.endswith("List"):
        for item in document["items"]:
            if is_kubernetes(item):
                _object(item, context)
        return
    if kind == "Template" and isinstance(document.get("objects"), list):
        _template(document, context)
        return
    metadata = mapping(document.get("metadata"))
    name = str(metadata.get("name") or metadata.get("generateName") or "?")
    path, findings = context.path, context.findings
    context.namespace = None if metadata.get("namespace") is None else str(metadata.get("namespace"))
    if kind in _RUNTIMES:
        findings.runtimes.append(read_serving_runtime(document, kind, name, path, context.source))
        return
    if kind == "InferenceService":
        reference = read_model_reference(document, name, path, context.source)
        if reference is not None:
            findings.references.append(reference)
    if operators.read_operator(document, kind, name, path, context.source, findings):
        return
    hints = [hint for hint in [annotation_hint(metadata, f"{kind}/{name}")] if hint is not None]
    if workflows.is_workflow(document):
        for where, spec in workflows.step_containers(document.get("spec"), path, context.source):
            read = container_launches(spec, path=path, obj=f"{kind}/{name}/{where}")
            for launch in read.launches:
                launch.model_hints += hints
            findings.take(read)
    roles = _pod_templates(document, kind)
    groups = _pods(roles, f"{kind}/{name}/", hints, context)
    if kind == "RayService":
        accelerator = next((a for a in (pod_accelerator(r.spec) for r in roles) if a is not None), None)
        ray = operators.ray_serve_llm(document, name, path, context.source, groups.get("RayCluster"), accelerator)
        for launch in ray.launches:
            launch.model_hints += hints
        findings.merge(ray)


def _pods(roles: list[PodRole], prefix: str, hints: list[ModelHint], context: _Context) -> dict[str, Group]:
    """The launches of an object's pod templates; a multi-pod group gives them its devices. Returns the
    groups by label."""
    groups: dict[str, Group] = {}
    for label in dict.fromkeys(role.group for role in roles if role.group is not None):
        members = tuple(Role(r.role, r.pods, _pod_devices(r.spec)) for r in roles if r.group == label)
        groups[label] = Group(label, members)
    for role in roles:
        group = None if role.group is None else groups[role.group]
        nodes = group.pods if group is not None else None
        own = [hint for hint in [annotation_hint(mapping(role.metadata), "pod template")] if hint is not None]
        _pod(role, prefix + (f"{role.role}/" if role.role else ""), nodes, group, [*hints, *own], context)
    return groups


def _pod_templates(document: dict[str, Any], kind: str) -> list[PodRole]:
    """The pod templates of an object, each with the group its pods belong to (None: each pod on its own)."""
    spec = document.get("spec")
    if not isinstance(spec, dict):
        if kind == "PodTemplate":
            template = mapping(document.get("template"))
            return [PodRole("", template.get("spec"), metadata=template.get("metadata"))]
        return []
    if kind == "Pod":
        return [PodRole("", spec, metadata=document.get("metadata"))]
    if kind in _TEMPLATED or (kind == "Service" and str(document.get("apiVersion", "")).startswith("serving.knative")):
        template = mapping(spec.get("template"))
        return [PodRole("", template.get("spec"), metadata=template.get("metadata"))]
    if kind == "CronJob":
        template = mapping(_at(spec, "jobTemplate", "spec", "template"))
        return [PodRole("", template.get("spec"), metadata=template.get("metadata"))]
    if kind == "LeaderWorkerSet":
        return _leader_worker(spec)
    if kind == "InferenceService":
        return [PodRole("predictor", spec.get("predictor"))]
    if kind == "RayCluster":
        return _ray_cluster(spec)
    if kind == "RayService":
        return _ray_cluster(mapping(spec.get("rayClusterConfig")))
    if kind == "RayClusterFleet":
        return _ray_cluster(mapping(_at(spec, "template", "spec")))
    if kind == "StormService":
        return _storm_roles(spec)
    if kind in PLAIN_KINDS:
        return []
    return [PodRole(where, node) for where, node in _containers_anywhere(spec, "spec")]


def _leader_worker(spec: dict[str, Any]) -> list[PodRole]:
    template = spec.get("leaderWorkerTemplate")
    if not isinstance(template, dict):
        return []
    size = template.get("size", 1)
    size = size if _is_int(size) else None
    leader_env: dict[str, EnvValue] = {
        "LWS_LEADER_ADDRESS": Unknown("set by LeaderWorkerSet: the leader pod's address"),
        "LWS_GROUP_SIZE": str(size) if size is not None else Unknown("set by LeaderWorkerSet: the group size"),
    }
    worker_env = {**leader_env, "LWS_WORKER_INDEX": Unknown("set by LeaderWorkerSet: this worker's index")}
    leader, worker = mapping(template.get("leaderTemplate")), mapping(template.get("workerTemplate"))
    label = f"LeaderWorkerSet size {size if size is not None else '?'}"
    workers = None if size is None else size - 1
    if leader:
        leader_role = PodRole(
            "leader", leader.get("spec"), {**leader_env, "LWS_WORKER_INDEX": "0"}, 1, leader.get("metadata"), label
        )
        return [leader_role, PodRole("worker", worker.get("spec"), worker_env, workers, worker.get("metadata"), label)]
    # no leaderTemplate: every pod of the group, the leader included, uses the worker template
    return [PodRole("worker", worker.get("spec"), worker_env, size, worker.get("metadata"), label)]


def _ray_cluster(spec: dict[str, Any]) -> list[PodRole]:
    """A KubeRay RayCluster spec: 1 head pod, and per worker group `replicas x numOfHosts` pods."""
    head = mapping(_at(spec, "headGroupSpec", "template"))
    roles: list[PodRole] = []
    if head:
        roles.append(
            PodRole("head", head.get("spec"), pods=1, metadata=head.get("metadata"), group="RayCluster", ray=True)
        )
    for group in spec.get("workerGroupSpecs") or []:
        if not isinstance(group, dict):
            continue
        replicas = group.get("replicas", group.get("minReplicas", 1))
        hosts = group.get("numOfHosts", 1)
        pods = replicas * hosts if _is_int(replicas) and _is_int(hosts) else None
        template = mapping(group.get("template"))
        name = f"workerGroup {group.get('groupName', '?')}"
        metadata = template.get("metadata")
        roles.append(PodRole(name, template.get("spec"), pods=pods, metadata=metadata, group="RayCluster", ray=True))
    return roles


def _storm_roles(spec: dict[str, Any]) -> list[PodRole]:
    """An AIBrix StormService: each role is its own engine instance of `podGroupSize` pods (default 1)."""
    roles: list[PodRole] = []
    for role in mapping(_at(spec, "template", "spec")).get("roles") or []:
        if not isinstance(role, dict):
            continue
        size = role.get("podGroupSize", 1)
        pods = size if _is_int(size) else None
        template = mapping(role.get("template"))
        name = f"role {role.get('name', '?')}"
        label = None if pods == 1 else f"StormService {name} podGroupSize {size}"
        roles.append(PodRole(name, template.get("spec"), pods=pods, metadata=template.get("metadata"), group=label))
    return roles


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _containers_anywhere(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Pod specs in kinds not modelled here: any mapping with a `containers` list of container mappings."""
    if isinstance(node, dict):
        containers = node.get("containers")
        if isinstance(containers, list) and containers and all(isinstance(c, dict) for c in containers):
            yield path, node
            return
        for key, value in node.items():
            yield from _containers_anywhere(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _containers_anywhere(value, f"{path}[{index}]")


def _at(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def pod_accelerator(pod_spec: Any) -> Accelerator | None:
    """The devices one pod asks for: its containers' requests of one kind, added up (init containers apart)."""
    total: Accelerator | None = None
    for node in mapping(pod_spec).get("containers") or []:
        if not isinstance(node, dict):
            continue
        found = from_resources(node.get("resources"), [])
        if found is None:
            continue
        if total is None:
            total = found
        elif total.kind == found.kind:
            count = None if total.count is None or found.count is None else total.count + found.count
            total = Accelerator(total.kind, count, f"{total.source}; {found.source}")
    return total


def _pod_devices(pod_spec: Any) -> int | None:
    accelerator = pod_accelerator(pod_spec)
    return None if accelerator is None else accelerator.count


def _pod(
    role: PodRole, prefix: str, nodes: int | None, group: Group | None, hints: list[ModelHint], context: _Context
) -> None:
    pod_spec, path, findings = role.spec, context.path, context.findings
    if not isinstance(pod_spec, dict):
        return
    hints = [*hints, *_init_downloads(pod_spec, path, context.source)]
    for key in ("containers", "initContainers"):
        containers = pod_spec.get(key)
        if containers is None:
            continue
        if not isinstance(containers, list):
            raise InputError(f"`{key}` must be a list", path=path, line=line_of(pod_spec, key), field=key)
        for index, node in enumerate(containers):
            sidecar = key == "initContainers" and isinstance(node, dict) and node.get("restartPolicy") == "Always"
            if key == "initContainers" and not sidecar:
                continue  # runs to completion before the pod's containers start: not a serving process
            if role.ray and key == "containers" and index == 0 and isinstance(node, dict) and "command" not in node:
                continue  # KubeRay generates this container's command: `ray start ...` (not the image's)
            filled = with_config_maps(node, context.config_maps, path, context.namespace)
            spec = read_container(filled, path=path, line=line_of(containers, index), source=context.source)
            read = container_launches(spec, path=path, obj=prefix + spec.name, base_env=role.injected, nodes=nodes)
            words = [spec.name, *(spec.command or []), *(spec.args or [])]
            patch = spec.image is None and (spec.command or spec.args) and mentions_engine_text(" ".join(words))
            if patch and not read.launches and not read.unevaluated:
                read.unevaluated.append(
                    f"{prefix}{spec.name}: no image, so a patch or a fragment (a kustomize strategic-merge patch): "
                    "its command and args run in the container it patches, in another file (check the output of "
                    "`kustomize build`)"
                )
            for launch in read.launches:
                launch.group = group
                launch.model_hints += [*hints, *script_downloads(spec, f"container {spec.name}")]
                if sidecar:
                    launch.notes.append("a native sidecar (an init container with restartPolicy: Always)")
                if group is not None:
                    launch.notes.append(f"one engine over a group of pods: {group.describe()}")
            findings.take(read)


def _init_downloads(pod_spec: dict[str, Any], path: str, source: SourceText | None) -> list[ModelHint]:
    """Model downloads made by the pod's init containers (`huggingface-cli download ORG/NAME --local-dir DIR`)."""
    hints: list[ModelHint] = []
    for index, node in enumerate(pod_spec.get("initContainers") or []):
        if not isinstance(node, dict):
            continue
        try:
            spec = read_container(node, path=path, line=line_of(pod_spec["initContainers"], index), source=source)
        except InputError:
            continue
        hints += script_downloads(spec, f"init container {spec.name} (line {spec.line})")
    return hints


def script_downloads(spec: ContainerSpec, where: str) -> list[ModelHint]:
    """The downloads a container's command makes, directly or as commands of its `sh -c` script."""
    argv = [*(spec.command or []), *(spec.args or [])]
    hint = download_hint(strip_wrappers(argv)[0], where)
    if hint is not None:
        return [hint]
    script = shell_script_of(argv)
    if script is None:
        return []
    hints: list[ModelHint] = []
    try:
        commands = split_script(script, spec.env, env_is_complete=not spec.env_from)
    except InputError:
        return []
    for command in commands:
        found = download_hint(strip_wrappers(command.words)[0], where)
        if found is not None:
            hints.append(found)
    return hints


# --- OpenShift Template ------------------------------------------------------------------------------------


def _template(document: dict[str, Any], context: _Context) -> None:
    """An OpenShift Template: its `objects`, each `${PARAM}` (and `${{PARAM}}`) filled from `parameters`
    (a parameter's `value`; one that is generated or has no value stays visible and is said)."""
    values: dict[str, str] = {}
    unset: dict[str, str] = {}
    for parameter in document.get("parameters") or []:
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            continue
        name = parameter["name"]
        if parameter.get("value") is not None:
            values[name] = _text(parameter["value"])
        else:
            generated = " (generated by `oc process`)" if parameter.get("generate") else ""
            unset[name] = f"Template parameter {name} has no value in the file{generated}"
    metadata = mapping(document.get("metadata"))
    where = f"Template/{metadata.get('name', '?')}"
    said: set[str] = set()
    for item in document["objects"]:
        if not is_kubernetes(item):
            continue
        _fill_parameters(item, values, unset, said)
        before = len(context.findings.launches)
        _object(item, context)
        for launch in context.findings.launches[before:]:
            launch.notes.append(f"an object of {where} (parameters filled from its defaults)")
    for name in sorted(said):
        context.findings.notes.append(f"{where}: ${{{name}}} is left as written: {unset[name]}")


def _fill_parameters(node: Any, values: dict[str, str], unset: dict[str, str], said: set[str]) -> None:
    items: Iterator[tuple[Any, Any]]
    if isinstance(node, dict):
        items = iter(list(node.items()))
    elif isinstance(node, list):
        items = iter(list(enumerate(node)))
    else:
        return
    for key, value in items:
        if isinstance(value, str) and "${" in value:
            node[key] = _substitute(value, values, unset, said)
        else:
            _fill_parameters(value, values, unset, said)


def _substitute(text: str, values: dict[str, str], unset: dict[str, str], said: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name in unset:
            said.add(name)
        return match.group(0)

    return _PARAMETER.sub(replace, text)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
