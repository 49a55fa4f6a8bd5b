"""Helm values of charts that render an engine container from their own keys (besides production-stack's).

- vLLM's example chart (vllm-project/vllm examples/online_serving/chart-helm, templates/deployment.yaml):
  one container `vllm` with `image.repository:image.tag`, `command: image.command` (then `image.args` and
  `extraArgs`, where given), `env: image.env` and `resources`. Recognised by `image.command`.
- llm-d modelservice (llm-d-incubation/llm-d-modelservice, templates/_helpers.tpl at 3051935e): the
  `decode` and `prefill` pools (each unless `create: false`), one launch per container with a
  `modelCommand`:
    vllmServe:    command [vllm, serve], args MODEL --port PORT [--tensor-parallel-size T]
                  [--data-parallel-size D] [--data-parallel-size-local L] --served-model-name NAME ARGS...
    imageDefault: no command (the image's ENTRYPOINT), args --model MODEL --port PORT ... ARGS...
    custom:       the container's own command and args.
  MODEL from `modelArtifacts.uri` (`hf://ID` -> ID, `pvc://CLAIM/PATH` -> /model-cache/PATH,
  `pvc+hf://CLAIM/.../NS/NAME` -> NS/NAME); PORT is `routing.servicePort` (default 8000) for prefill or
  without the proxy, else `routing.proxy.targetPort` (default 8200). Each pod gets `dataLocal x tensor`
  devices of `accelerator.type` (default nvidia.com/gpu) unless its resources name them; with
  `multinode: true` a pool is a LeaderWorkerSet of `workers` pods (default data / dataLocal).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kgc_launch.deploy.accelerators import Accelerator, from_resource_name, from_resources
from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.k8s_container import ContainerSpec, container_launches, read_container, token_origins
from kgc_launch.deploy.launch import ModelHint, mapping
from kgc_launch.deploy.model_source import is_hub_id
from kgc_launch.deploy.origin import Origin, SourceText
from kgc_launch.hardware.groups import Group, Role
from kgc_launch.yamlio import line_of

LLMD_SOURCE = "llm-d-incubation/llm-d-modelservice templates/_helpers.tpl@3051935e"
VLLM_CHART_SOURCE = "vllm-project/vllm examples/online_serving/chart-helm templates/deployment.yaml"
_ACCELERATOR_RESOURCES = {
    "nvidia": "nvidia.com/gpu",
    "intel-i915": "gpu.intel.com/i915",
    "intel-xe": "gpu.intel.com/xe",
    "intel-gaudi": "habana.ai/gaudi",
    "amd": "amd.com/gpu",
    "google": "google.com/tpu",
}
_TEMPLATE_NAME = re.compile(r"\{\{\s*\.Values\.modelArtifacts\.name\s*\}\}")


def is_vllm_chart_values(document: Any) -> bool:
    image = mapping(document).get("image") if isinstance(document, dict) else None
    return isinstance(image, dict) and isinstance(image.get("command"), list) and "apiVersion" not in document


def is_llmd_values(document: Any) -> bool:
    if not isinstance(document, dict) or "apiVersion" in document:
        return False
    pools = [mapping(document.get(role)) for role in ("decode", "prefill")]
    return isinstance(document.get("modelArtifacts"), dict) and any("containers" in pool for pool in pools)


def chart_values_findings(documents: Sequence[Any], path: str, source: SourceText | None = None) -> Findings:
    findings = Findings()
    for document in documents:
        if is_vllm_chart_values(document):
            findings.merge(_vllm_chart(document, path, source))
        elif is_llmd_values(document):
            findings.merge(_llmd(document, path, source))
    return findings


def _vllm_chart(values: dict[str, Any], path: str, source: SourceText | None) -> Findings:
    findings = Findings()
    image = values["image"]
    command = image["command"]
    args_node = image.get("args")
    extra = values.get("extraArgs")
    node: dict[str, Any] = {
        "name": "vllm",
        "image": f"{image.get('repository', '?')}:{image.get('tag', 'latest')}",
        "command": command,
        "env": image.get("env"),
        "resources": values.get("resources"),
    }
    args = [*(args_node if isinstance(args_node, list) else []), *(extra if isinstance(extra, list) else [])]
    if args:
        node["args"] = args
    spec = read_container(node, path=path, line=line_of(image, "command"), source=None)
    spec.command_origins = _origins(command, spec.command, source)
    read = container_launches(spec, path=path, obj="vLLM chart values image.command")
    for launch in read.launches:
        launch.notes.append(f"rendered as {VLLM_CHART_SOURCE} renders it (a Deployment of `replicaCount` pods)")
    findings.take(read)
    return findings


def _origins(node: Any, tokens: list[str] | None, source: SourceText | None) -> list[Origin | None] | None:
    return token_origins(node, tokens, source)


def _llmd(values: dict[str, Any], path: str, source: SourceText | None) -> Findings:
    findings = Findings()
    artifacts = values["modelArtifacts"]
    name = str(artifacts.get("name") or "")
    uri = str(artifacts.get("uri") or "")
    model, hint = _model_argument(uri, name, str(artifacts.get("mountPath") or "/model-cache"))
    routing = mapping(values.get("routing"))
    proxy = mapping(routing.get("proxy"))
    accelerator_type = str(mapping(values.get("accelerator")).get("type") or "nvidia")
    for role in ("decode", "prefill"):
        pool = values.get(role)
        if not isinstance(pool, dict):
            continue
        if pool.get("create") is False:
            continue
        port = (
            routing.get("servicePort", 8000)
            if role == "prefill" or proxy.get("enabled") is False
            else proxy.get("targetPort", 8200)
        )
        parallelism = mapping(pool.get("parallelism"))
        containers = pool.get("containers")
        for index, container in enumerate(containers if isinstance(containers, list) else []):
            if not isinstance(container, dict):
                continue
            line = line_of(containers, index)
            _llmd_container(container, role, values, model, hint, name, str(port), parallelism,
                            accelerator_type, path, line, source, findings)  # fmt: skip
    return findings


def _model_argument(uri: str, name: str, mount: str) -> tuple[str, ModelHint | None]:
    protocol, _, rest = uri.partition("://")
    rest = _TEMPLATE_NAME.sub(name, rest).strip("\"'")
    if protocol == "hf":
        return rest, None
    if protocol == "pvc":
        path = rest.split("/", 1)[1] if "/" in rest else ""
        model = f"{mount}/{path}"
        hint = (
            ModelHint(name, model, f"modelArtifacts.name {name} (uri {uri})", "operator") if is_hub_id(name) else None
        )
        return model, hint
    if protocol == "pvc+hf":
        parts = rest.split("/")
        return "/".join(parts[-2:]), None
    return name or uri, None


def _llmd_container(
    container: dict[str, Any],
    role: str,
    values: dict[str, Any],
    model: str,
    hint: ModelHint | None,
    served: str,
    port: str,
    parallelism: dict[str, Any],
    accelerator_type: str,
    path: str,
    line: int | None,
    source: SourceText | None,
    findings: Findings,
) -> None:
    mode = str(container.get("modelCommand") or "custom")
    # the chart's helpers: tensorParallelism, dataParallelism, dataLocalParallelism, numWorkers
    tensor = _int(parallelism.get("tensor")) or 1
    given_local = _int(parallelism.get("dataLocal"))
    workers = _int(parallelism.get("workers"))
    data = _int(parallelism.get("data")) or (given_local * workers if given_local and workers else given_local) or 1
    local = given_local or (data // workers if workers else data) or 1
    node = dict(container)
    args_node = container.get("args")
    own_args = [str(a) for a in args_node] if isinstance(args_node, list) else []
    if mode in ("vllmServe", "imageDefault"):
        rendered = [model] if mode == "vllmServe" else ["--model", model]
        rendered += ["--port", port]
        if tensor > 1:
            rendered += ["--tensor-parallel-size", str(tensor)]
        if data > 1:
            rendered += ["--data-parallel-size", str(data)]
        if local > 1:
            rendered += ["--data-parallel-size-local", str(local)]
        rendered += ["--served-model-name", served]
        node["args"] = [*rendered, *own_args]
        if mode == "vllmServe":
            node["command"] = ["vllm", "serve"]
        else:
            node.pop("command", None)
    spec: ContainerSpec = read_container(node, path=path, line=line, source=None)
    first = line_of(args_node, 0) if isinstance(args_node, list) and args_node else line_of(container, "modelCommand")
    if mode in ("vllmServe", "imageDefault"):
        spec.command_origins = None if spec.command is None else [Origin(first or line or 1)] * len(spec.command)
        spec.args_origins = [Origin(first or line or 1)] * len(spec.args or [])
    else:
        spec.command_origins = _origins(container.get("command"), spec.command, source)
        spec.args_origins = _origins(args_node, spec.args, source)
    per_pod = local * tensor
    resource = _ACCELERATOR_RESOURCES.get(accelerator_type, "nvidia.com/gpu")
    own = from_resources(container.get("resources"), [])
    accelerator: Accelerator | None = own if own is not None and own.count is not None else None
    if accelerator is None and accelerator_type != "cpu":
        accelerator = from_resource_name(resource, per_pod, f"{resource}: {per_pod} (the chart's dataLocal x tensor)")
    spec.accelerator = accelerator
    spec.gpus = accelerator.count if accelerator is not None and accelerator.is_nvidia else None
    group = None
    if values.get("multinode") is True:
        pods = workers or (data // local if data and local else 1)
        group = Group(
            f"llm-d modelservice {role} LeaderWorkerSet",
            (Role("pod", pods, spec.accelerator.count if spec.accelerator else None),),
        )
    obj = f"llm-d modelservice {role}/{spec.name}"
    read = container_launches(spec, path=path, obj=obj, nodes=None if group is None else group.pods)
    for launch in read.launches:
        launch.group = group
        launch.accelerator = spec.accelerator
        if hint is not None:
            launch.model_hints.append(hint)
        launch.notes.append(f"modelCommand {mode}: rendered as {LLMD_SOURCE} renders it")
        if mode != "custom":
            launch.notes.append("implied by the chart: the command is the one its template builds")
    findings.take(read)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
