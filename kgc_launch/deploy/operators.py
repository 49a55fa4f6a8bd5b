"""Operator resources that start an engine from their own fields, without a command in the file.

Each is read as the launch its controller makes (the command is the controller's, cited per kind; the
launch is marked as implied by the operator in its notes):
- KubeAI `Model` (kubeai.org/v1) with `engine: VLLM`: substratusai/kubeai
  internal/modelcontroller/engine_vllm.go runs `python3 -m vllm.entrypoints.openai.api_server
  --model=REPO --served-model-name=NAME ARGS...` (REPO from `url: hf://REPO`), with `spec.env`; the
  devices come from `resourceProfile: PROFILE:COUNT` (COUNT times the profile's one device: the chart's
  profiles `nvidia-gpu-*`, `google-tpu-*`, `amd-gpu-*`, `cpu`). Other engines (OLlama, FasterWhisper,
  Infinity) are named and not checked.
- KServe `LLMInferenceService` (serving.kserve.io/v1alpha1, v1alpha2): kserve
  config/llmisvcconfig/config-llm-template.yaml runs `vllm serve /mnt/models --served-model-name NAME
  --port 8000 [--tensor-parallel-size T] $VLLM_ADDITIONAL_ARGS ARGS...`; with `spec.worker`,
  config-llm-worker-data-parallel.yaml adds `--api-server-count ${VLLM_API_SERVER_COUNT:-8}
  [--enable-expert-parallel] --data-parallel-size D --data-parallel-size-local L ...` over `D / L` pods.
  The model is `spec.model.uri` (`hf://ORG/NAME`), else `spec.model.name` when it is a Hub id. The main
  pool (`spec.template`) and the prefill pool (`spec.prefill.template`) are one launch each. Flags the
  template adds only for some vLLM versions (access logs, shutdown timeout, KV offloading) are left out.
- KServe `LLMInferenceServiceConfig`: its command is a Go template the controller fills per
  LLMInferenceService; it is not a launch by itself (not evaluated, said).
- Ray Serve LLM (a RayService whose `serveConfigV2` application imports `ray.serve.llm:build_openai_app`
  or `build_llm_deployment`): each `llm_configs` entry runs vLLM with `engine_kwargs` as its engine
  arguments, read as the equivalent `vllm serve MODEL_SOURCE` flags, on the RayCluster's devices.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from kgc_launch.deploy.accelerators import Accelerator, from_profile_name, from_resources
from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.images import known_image
from kgc_launch.deploy.k8s_container import read_env
from kgc_launch.deploy.launch import EnvValue, Launch, ModelHint, Unknown, mapping
from kgc_launch.deploy.model_source import annotation_hint, is_hub_id
from kgc_launch.deploy.origin import SourceText
from kgc_launch.errors import InputError
from kgc_launch.hardware.groups import Group, Role
from kgc_launch.yamlio import line_of

IMPLIED = "implied by the operator: the command is the one its controller builds"
KUBEAI_SOURCE = "substratusai/kubeai internal/modelcontroller/engine_vllm.go"
LLMISVC_SOURCE = "kserve config/llmisvcconfig/config-llm-template.yaml"
LLMISVC_DP_SOURCE = "kserve config/llmisvcconfig/config-llm-worker-data-parallel.yaml"
_RAY_LLM_BUILDERS = frozenset(["ray.serve.llm:build_openai_app", "ray.serve.llm:build_llm_deployment"])


def read_operator(
    document: dict[str, Any], kind: str, name: str, path: str, source: SourceText | None, findings: Findings
) -> bool:
    """Read an operator resource into `findings`; False when `document` is not one (other readers go on)."""
    api = str(document.get("apiVersion", ""))
    if kind == "Model" and api.startswith("kubeai.org/"):
        findings.merge(kubeai_model(document, name, path, source))
        return True
    if kind == "LLMInferenceService" and api.startswith("serving.kserve.io/"):
        findings.merge(llm_inference_service(document, name, path, source))
        return True
    if kind == "LLMInferenceServiceConfig" and api.startswith("serving.kserve.io/"):
        findings.unevaluated.append(
            f"LLMInferenceServiceConfig/{name}: its command is a Go template that the KServe controller fills per "
            "LLMInferenceService (not a launch by itself; each LLMInferenceService is checked as it renders)"
        )
        return True
    return False


# --- KubeAI ------------------------------------------------------------------------------------------------


def kubeai_model(document: dict[str, Any], name: str, path: str, source: SourceText | None) -> Findings:
    findings = Findings()
    spec = mapping(document.get("spec"))
    engine = str(spec.get("engine", ""))
    url = str(spec.get("url", ""))
    url_line = line_of(spec, "url") or line_of(document, "spec")
    if engine.upper() != "VLLM":
        findings.notes.append(f"Model/{name}: KubeAI engine {engine or '?'} ({url}): engine {engine} is not checked")
        return findings
    notes = [f"{IMPLIED} ({KUBEAI_SOURCE})"]
    args_node = spec.get("args")
    args = [_text(item) for item in args_node] if isinstance(args_node, list) else []
    model_flag = url.removeprefix("hf://") if url.startswith("hf://") else url
    if not url.startswith("hf://"):
        notes.append(f"KubeAI loads the model from {url or '(no url)'}; vLLM gets the loaded copy's path")
    argv = [f"--model={model_flag}", f"--served-model-name={name}", *args]
    env: dict[str, EnvValue] = {
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
        "HF_TOKEN": Unknown("from the Secret KubeAI's chart names (key token)"),
    }
    for key, value in sorted(mapping(spec.get("env")).items()):
        env[str(key)] = _text(value)
    accelerator = _kubeai_profile(spec, notes)
    line = _first_item_line(args_node, url_line)
    launch = Launch(
        file=path,
        line=line,
        object=f"Model/{name}",
        source="kubernetes",
        engine="vllm",
        args=argv,
        env=env,
        gpus=accelerator.count if accelerator is not None and accelerator.is_nvidia else None,
        image=None if spec.get("image") is None else str(spec["image"]),
        notes=notes,
        container_line=line_of(document, "spec"),
        accelerator=accelerator,
    )
    launch.model_source = f"Model.spec.url {url}" if url.startswith("hf://") else None
    if launch.model is not None and not url.startswith("hf://"):
        launch.model, launch.model_why = None, f"KubeAI loads the model from {url}, not a Hub id"
    launch.model_hints += [h for h in [annotation_hint(mapping(document.get("metadata")), f"Model/{name}")] if h]
    findings.launches.append(launch)
    return findings


def _kubeai_profile(spec: dict[str, Any], notes: list[str]) -> Accelerator | None:
    profile = spec.get("resourceProfile")
    if not isinstance(profile, str) or not profile:
        return None
    name, _, count_text = profile.partition(":")
    count = int(count_text) if count_text.isdigit() else 1
    accelerator = from_profile_name(name, count, f"KubeAI resourceProfile {profile}")
    if accelerator is None:
        notes.append(f"KubeAI resourceProfile {profile}: a profile of the cluster's KubeAI chart, not known here")
    return accelerator


# --- KServe LLMInferenceService ----------------------------------------------------------------------------


def llm_inference_service(document: dict[str, Any], name: str, path: str, source: SourceText | None) -> Findings:
    findings = Findings()
    spec = mapping(document.get("spec"))
    model = mapping(spec.get("model"))
    uri = None if model.get("uri") is None else str(model["uri"])
    served = str(model.get("name") or name)
    parallelism = mapping(spec.get("parallelism"))
    metadata = mapping(document.get("metadata"))
    hints = [h for h in [annotation_hint(metadata, f"LLMInferenceService/{name}")] if h]
    if uri is not None and uri.startswith("hf://") and is_hub_id(uri.removeprefix("hf://")):
        hints.append(ModelHint(uri.removeprefix("hf://"), "/mnt/models", f"spec.model.uri {uri}", "operator"))
    elif is_hub_id(served):
        hints.append(ModelHint(served, "/mnt/models", f"spec.model.name {served} (uri {uri})", "operator"))
    pools = [("", spec, line_of(spec, "model") or line_of(document, "spec"))]
    if isinstance(spec.get("prefill"), dict):
        pools.append(("prefill", spec["prefill"], line_of(spec, "prefill")))
    for role, pool, line in pools:
        launch = _llmisvc_pool(pool, role, name, served, parallelism, path, line)
        if launch is None:
            continue
        launch.model_hints += hints
        if uri is not None:
            launch.notes.append(f"the model files come from spec.model.uri {uri} (mounted at /mnt/models)")
        findings.launches.append(launch)
    return findings


def _llmisvc_pool(
    pool: dict[str, Any],
    role: str,
    name: str,
    served: str,
    parallelism: dict[str, Any],
    path: str,
    line: int | None,
) -> Launch | None:
    template = mapping(pool.get("template"))
    containers = [c for c in template.get("containers") or [] if isinstance(c, dict)]
    main = next((c for c in containers if c.get("name") == "main"), containers[0] if containers else {})
    if main.get("command") is not None:
        return None  # the resource gives its own command: read as a container elsewhere (not the template's)
    notes: list[str] = []
    env = read_env(main.get("env"), path=path, line=line, notes=notes)
    tensor, data, local = parallelism.get("tensor"), parallelism.get("data"), parallelism.get("dataLocal")
    worker = isinstance(pool.get("worker"), dict)
    argv = ["/mnt/models", "--served-model-name", served, "--port", "8000"]
    if worker:
        count = env.get("VLLM_API_SERVER_COUNT")
        argv += ["--api-server-count", count if isinstance(count, str) and count else "8"]
        if parallelism.get("expert"):
            argv.append("--enable-expert-parallel")
    if tensor:
        argv += ["--tensor-parallel-size", _text(tensor)]
    if worker:
        argv += ["--data-parallel-size", _text(data or 1), "--data-parallel-size-local", _text(local or 1)]
        notes.append(f"{IMPLIED} ({LLMISVC_DP_SOURCE})")
    else:
        notes.append(f"{IMPLIED} ({LLMISVC_SOURCE})")
    additional = env.get("VLLM_ADDITIONAL_ARGS")
    if isinstance(additional, str) and additional.strip():
        try:
            argv += shlex.split(additional)
        except ValueError as error:
            raise InputError(f"VLLM_ADDITIONAL_ARGS: {error}", path=path, line=line) from None
    elif isinstance(additional, Unknown):
        argv.append("$VLLM_ADDITIONAL_ARGS")
    args_node = main.get("args")
    argv += [_text(item) for item in args_node] if isinstance(args_node, list) else []
    notes.append("flags the template adds only for some vLLM versions (access log, shutdown timeout) are left out")
    accelerator = from_resources(main.get("resources"), notes)
    image = None if main.get("image") is None else str(main["image"])
    if accelerator is None and known_image(image) is not None:
        known = known_image(image)
        if known is not None and known.accelerator == "cpu":
            accelerator = Accelerator("cpu", None, f"image {image}")
    group = None
    if worker:
        pods = data // local if isinstance(data, int) and isinstance(local, int) and local else None
        devices = None if accelerator is None else accelerator.count
        worker_devices = from_resources(mapping(_container(pool["worker"])).get("resources"), [])
        group = Group(
            f"LLMInferenceService parallelism data {data} / dataLocal {local}",
            (
                Role("leader", 1, devices),
                Role(
                    "worker",
                    None if pods is None else pods - 1,
                    None if worker_devices is None else worker_devices.count,
                ),
            ),
        )
    obj = f"LLMInferenceService/{name}" + (f"/{role}" if role else "")
    return Launch(
        file=path,
        line=line,
        object=obj,
        source="kubernetes",
        engine="vllm",
        args=argv,
        env=env,
        gpus=accelerator.count if accelerator is not None and accelerator.is_nvidia else None,
        image=image,
        nodes=None if group is None else group.pods,
        notes=notes,
        accelerator=accelerator,
        group=group,
    )


def _container(pod_spec: Any) -> Any:
    containers = [c for c in mapping(pod_spec).get("containers") or [] if isinstance(c, dict)]
    return next((c for c in containers if c.get("name") == "main"), containers[0] if containers else {})


# --- Ray Serve LLM -----------------------------------------------------------------------------------------


def ray_serve_llm(
    document: dict[str, Any],
    name: str,
    path: str,
    source: SourceText | None,
    group: Group | None,
    accelerator: Accelerator | None,
) -> Findings:
    """The vLLM engines a RayService's Ray Serve LLM applications start (see the module docstring)."""
    from kgc_launch.deploy.fastyaml import read_documents

    findings = Findings()
    spec = mapping(document.get("spec"))
    config = spec.get("serveConfigV2")
    if not isinstance(config, str):
        return findings
    origin = None if source is None else source.value_origin(spec, "serveConfigV2", config)
    try:
        documents = read_documents(path, config)
    except InputError:
        findings.unevaluated.append(f"RayService/{name}: serveConfigV2 is not readable YAML")
        return findings
    starts = _line_starts(config)
    for application in mapping(documents[0] if documents else None).get("applications") or []:
        if not isinstance(application, dict):
            continue
        import_path = str(application.get("import_path", ""))
        if import_path not in _RAY_LLM_BUILDERS:
            words = f"{import_path} {json.dumps(application.get('args'), default=str)}"
            if "vllm" in words.lower():
                findings.unevaluated.append(
                    f"RayService/{name}: the Ray Serve application {import_path} is Python code not in the file"
                )
            continue
        configs = mapping(application.get("args")).get("llm_configs")
        for index, entry in enumerate(configs if isinstance(configs, list) else []):
            inner = line_of(configs, index)
            line = None
            if origin is not None and inner is not None and inner - 1 < len(starts):
                line = origin.line_at(_first_char(config, starts[inner - 1]))
            launch = _ray_llm_launch(entry, name, path, line, group, accelerator)
            if launch is None:
                findings.unevaluated.append(f"RayService/{name}: llm_configs entry {index} is a file not in the YAML")
            else:
                findings.launches.append(launch)
    return findings


def _first_char(text: str, start: int) -> int:
    """The offset of the first non-blank character of the line starting at `start` (an origin maps only those)."""
    index = start
    while index < len(text) and text[index] in " \t":
        index += 1
    return index


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _ray_llm_launch(
    entry: Any, name: str, path: str, line: int | None, group: Group | None, accelerator: Accelerator | None
) -> Launch | None:
    if not isinstance(entry, dict):
        return None
    loading = mapping(entry.get("model_loading_config"))
    model_source = str(loading.get("model_source") or loading.get("model_id") or "")
    model_id = str(loading.get("model_id") or model_source)
    argv = [model_source, "--served-model-name", model_id]
    argv += _kwargs_flags(mapping(entry.get("engine_kwargs")))
    env = {str(k): _text(v) for k, v in mapping(mapping(entry.get("runtime_env")).get("env_vars")).items()}
    notes = [
        "Ray Serve LLM (ray.serve.llm) runs vLLM with engine_kwargs as its engine arguments: read as the "
        "equivalent `vllm serve` flags",
    ]
    if entry.get("accelerator_type"):
        notes.append(f"accelerator_type {entry['accelerator_type']}")
    return Launch(
        file=path,
        line=line,
        object=f"RayService/{name}/llm_configs/{model_id}",
        source="kubernetes",
        engine="vllm",
        args=argv,
        env=dict(env),
        gpus=None,
        nodes=None if group is None else group.pods,
        notes=notes,
        accelerator=accelerator,
        group=group,
    )


def _kwargs_flags(kwargs: dict[str, Any]) -> list[str]:
    """vLLM engine keyword arguments as `vllm serve` flags (`tensor_parallel_size: 8` -> `--tensor-parallel-size 8`)."""
    flags: list[str] = []
    for key, value in kwargs.items():
        flag = "--" + str(key).replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + flag.removeprefix("--"))
        elif isinstance(value, dict | list):
            flags += [flag, json.dumps(value)]
        elif value is not None:
            flags += [flag, _text(value)]
    return flags


def _first_item_line(node: Any, fallback: int | None) -> int | None:
    if isinstance(node, list) and node:
        return line_of(node, 0) or fallback
    return fallback


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
