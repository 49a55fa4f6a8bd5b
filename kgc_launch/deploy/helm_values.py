"""vLLM production-stack Helm values -> the `vllm serve` launches the chart renders from them.

Faithful to vllm-project/production-stack at commit a6c01db05f65 (2026-08-05):
`helm/templates/deployment-vllm-multi.yaml` renders one Deployment per `servingEngineSpec.modelSpec[]`
entry (unless `enabled: false`, or `enableEngine: false`) whose container runs
    vllm serve MODEL_URL --host 0.0.0.0 --port PORT [--enable-lora] [--enable-auto-tool-choice]
        [--tool-call-parser P] [vllmConfig flags, see _VLLM_CONFIG] [--no-]enable-prefix-caching
        [extraArgs...] [--revision R] [--kv-transfer-config ...] [--chat-template /templates/T]
and `helm/templates/ray-cluster.yaml` renders the same arguments, in a start script, for entries with
`raySpec.enabled` (plus `--distributed-executor-backend ray`; no `--no-enable-prefix-caching`).
GPUs: `resources` when given, else `requestGPU` of `requestGPUType` (default `nvidia.com/gpu`)
(`_helpers.tpl`, `chart.resources`). With `raySpec.enabled`, one engine spans the Ray head
(`raySpec.headNode.requestGPU`) and `replicaCount` workers of `requestGPU` each (groups.py).
An entry with `enabled: false` is said, not rendered.

Helm reads values files into float64 numbers and renders them with Go's `%v`: `maxModelLen: 1000000`
becomes `1e+06` on the command line, which vLLM rejects. `_go_text` reproduces that, and it is noted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from kgc_launch.deploy.accelerators import Accelerator, from_resource_name, from_resources
from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.k8s_container import read_env
from kgc_launch.deploy.launch import EnvValue, Launch, Unknown
from kgc_launch.hardware.groups import Group, Role
from kgc_launch.yamlio import line_of

CHART_REVISION = "vllm-project/production-stack@a6c01db05f65"

# vllmConfig key -> flag, in the template's order (after the enableChunkedPrefill / enablePrefixCaching pair).
# The chart spells two flags with underscores; vLLM reads `_` and `-` alike.
_VLLM_CONFIG = [
    ("maxModelLen", "--max-model-len"),
    ("dtype", "--dtype"),
    ("tensorParallelSize", "--tensor-parallel-size"),
    ("maxNumSeqs", "--max-num-seqs"),
    ("gpuMemoryUtilization", "--gpu_memory_utilization"),
    ("maxLoras", "--max_loras"),
    ("runner", "--runner"),
    ("convert", "--convert"),
]
_RAY_CONFIG = [
    ("maxModelLen", "--max-model-len"),
    ("dtype", "--dtype"),
    ("tensorParallelSize", "--tensor-parallel-size"),
    ("pipelineParallelSize", "--pipeline-parallel-size"),
    ("maxNumSeqs", "--max-num-seqs"),
    ("gpuMemoryUtilization", "--gpu-memory-utilization"),
    ("maxLoras", "--max-loras"),
]


def is_helm_values(document: Any) -> bool:
    spec = document.get("servingEngineSpec") if isinstance(document, dict) else None
    return isinstance(spec, dict) and "apiVersion" not in document


def helm_values_findings(documents: Sequence[Any], path: str) -> Findings:
    findings = Findings()
    for document in documents:
        if not is_helm_values(document):
            continue
        engine_spec = document["servingEngineSpec"]
        if engine_spec.get("enableEngine", True) is False:
            findings.notes.append("servingEngineSpec.enableEngine is false: the chart renders no engine")
            continue
        specs = engine_spec.get("modelSpec")
        for index, model_spec in enumerate(specs if isinstance(specs, list) else []):
            if not isinstance(model_spec, dict):
                continue
            if model_spec.get("enabled") is False:
                findings.notes.append(
                    f"servingEngineSpec.modelSpec/{model_spec.get('name', '?')} (line {line_of(specs, index)}): "
                    "enabled: false, the chart renders no engine for it"
                )
                continue
            findings.launches.append(_launch(engine_spec, model_spec, path, line_of(specs, index)))
    return findings


def _launch(engine_spec: dict[str, Any], spec: dict[str, Any], path: str, line: int | None) -> Launch:
    ray = isinstance(spec.get("raySpec"), dict) and bool(spec["raySpec"].get("enabled"))
    notes: list[str] = [f"rendered as {CHART_REVISION} renders it"]
    args = _serve_args(engine_spec, spec, ray, notes)
    repository, tag = spec.get("repository"), spec.get("tag")
    image = f"{repository}:{tag}" if repository is not None else None
    accelerator = _accelerator(spec, notes)
    group = _ray_group(spec, accelerator) if ray else None
    return Launch(
        file=path,
        line=line,
        object=f"servingEngineSpec.modelSpec/{spec.get('name', '?')}",
        source="helm-values",
        engine="vllm",
        args=args,
        env=_env(engine_spec, spec, path, line, notes),
        gpus=accelerator.count if accelerator is not None and accelerator.is_nvidia else None,
        image=image,
        nodes=None if group is None else group.pods,
        notes=notes,
        accelerator=accelerator,
        group=group,
    )


def _ray_group(spec: dict[str, Any], accelerator: Accelerator | None) -> Group:
    """ray-cluster.yaml: a head with `raySpec.headNode.requestGPU` and `replicaCount` workers like the model."""
    head = spec["raySpec"].get("headNode")
    head_gpus = _number(head.get("requestGPU")) if isinstance(head, dict) else None
    replicas = _number(spec.get("replicaCount", 1))
    devices = None if accelerator is None else accelerator.count
    return Group("production-stack raySpec", (Role("head", 1, head_gpus), Role("worker", replicas, devices)))


def _number(value: Any) -> int | None:
    try:
        return int(float(str(value)))
    except ValueError:
        return None


def _serve_args(engine_spec: dict[str, Any], spec: dict[str, Any], ray: bool, notes: list[str]) -> list[str]:
    def text(value: Any) -> str:
        rendered = _go_text(value)
        if "e" in rendered and isinstance(value, int | float) and not isinstance(value, bool):
            notes.append(f"Helm renders the number {value} as {rendered!r} (float64, Go %v): quote it in values")
        return rendered

    port = text(engine_spec.get("containerPort") or 8000)
    args = [text(spec.get("modelURL")), "--host", "0.0.0.0", "--port", port]
    if ray:
        args += ["--distributed-executor-backend", "ray"]
        notes.append("raySpec.enabled: rendered by ray-cluster.yaml as a start script on the Ray head")
    if spec.get("enableLoRA"):
        args.append("--enable-lora")
    if spec.get("enableTool"):
        args.append("--enable-auto-tool-choice")
    if spec.get("toolCallParser"):
        args += ["--tool-call-parser", text(spec["toolCallParser"])]
    config = spec.get("vllmConfig")
    if isinstance(config, dict) and config:  # `{{- with .vllmConfig }}`: an empty mapping renders nothing
        if "enableChunkedPrefill" in config:
            args.append("--enable-chunked-prefill" if config["enableChunkedPrefill"] else "--no-enable-chunked-prefill")
        if config.get("enablePrefixCaching"):
            args.append("--enable-prefix-caching")
        elif not ray:
            args.append("--no-enable-prefix-caching")
        for key, flag in _RAY_CONFIG if ray else _VLLM_CONFIG:
            if key in config:
                args += [flag, text(config[key])]
        extra = config.get("extraArgs")
        args += [text(item) for item in extra] if isinstance(extra, list) else []
    if spec.get("modelRevision"):
        args += ["--revision", text(spec["modelRevision"])]
    args += _kv_transfer(spec, config if isinstance(config, dict) else {}, ray)
    if spec.get("chatTemplate"):
        template = text(spec["chatTemplate"])
        args += ["--chat-template", template if ray else f"/templates/{template}"]
    return args


def _kv_transfer(spec: dict[str, Any], config: dict[str, Any], ray: bool) -> list[str]:
    lmcache = spec.get("lmcacheConfig")
    if not isinstance(lmcache, dict) or not lmcache.get("enabled"):
        return []
    role = str(lmcache.get("kvRole") or "kv_both")
    if ray:
        connector = "LMCacheConnectorV1" if str(config.get("v1")) == "1" else "LMCacheConnector"
        return ["--kv-transfer-config", f'{{"kv_connector":"{connector}","kv_role":"kv_both"}}']
    if "enablePD" in lmcache:
        rpc = f'"{_go_text(lmcache.get("nixlRole"))}"'
        extra = f'{{"discard_partial_chunks": false, "lmcache_rpc_port": {rpc}}}'
        config_json = f'{{"kv_connector":"LMCacheConnectorV1","kv_role":"{role}","kv_connector_extra_config":{extra}}}'
        return ["--kv-transfer-config", config_json]
    connector = "LMCacheConnector" if str(config.get("v0")) == "1" else "LMCacheConnectorV1"
    return ["--kv-transfer-config", f'{{"kv_connector":"{connector}","kv_role":"{role}"}}']


def _env(
    engine_spec: dict[str, Any], spec: dict[str, Any], path: str, line: int | None, notes: list[str]
) -> dict[str, EnvValue]:
    """The container env the template writes, in its order; later entries of a name win, as in a pod."""
    env: dict[str, EnvValue] = {"PYTHONHASHSEED": "123", "HF_HOME": "/data" if "pvcStorage" in spec else "/tmp"}
    env["POD_IP"] = Unknown("from the pod field status.podIP")
    config = spec.get("vllmConfig")
    if isinstance(config, dict) and config:
        if str(config.get("v0")) == "1":
            env["VLLM_USE_V1"] = "0"
        else:
            env["PROMETHEUS_MULTIPROC_DIR"] = _go_text(config.get("prometheusMultiprocDir") or "/tmp")
    if spec.get("hf_token"):
        env["HF_TOKEN"] = Unknown("from a Secret (hf_token)")
    if engine_spec.get("vllmApiKey"):
        env["VLLM_API_KEY"] = Unknown("from a Secret (vllmApiKey)")
    env.update(read_env(engine_spec.get("env"), path=path, line=line, notes=notes))
    env.update(read_env(spec.get("env"), path=path, line=line, notes=notes))
    lmcache = spec.get("lmcacheConfig")
    if isinstance(lmcache, dict):
        if lmcache.get("enabled"):
            env.update(LMCACHE_USE_EXPERIMENTAL="True", VLLM_RPC_TIMEOUT="1000000")
            env["LMCACHE_LOG_LEVEL"] = _go_text(lmcache.get("logLevel") or "INFO")
        if "cudaVisibleDevices" in lmcache:
            env["CUDA_VISIBLE_DEVICES"] = _go_text(lmcache["cudaVisibleDevices"])
        notes.append("lmcacheConfig: the chart also sets LMCACHE_* variables for offloading and PD (not listed)")
    if engine_spec.get("configs"):
        notes.append("servingEngineSpec.configs: envFrom a ConfigMap (variables not listed here)")
    return env


def _accelerator(spec: dict[str, Any], notes: list[str]) -> Accelerator | None:
    if spec.get("resources"):
        return from_resources(spec["resources"], notes)
    requested = spec.get("requestGPU")
    if requested is None:
        return None
    count = _number(requested)
    if count is None:
        notes.append(f"requestGPU {requested!r} is not a number")
        return None
    gpu_type = str(spec.get("requestGPUType") or "nvidia.com/gpu")
    found = from_resource_name(gpu_type, count, f"requestGPU {count} of {gpu_type}")
    if gpu_type.startswith("nvidia.com/mig-"):
        notes.append(f"requestGPU {count} of {gpu_type} (MIG slices, not counted as whole GPUs)")
    if found is None:
        notes.append(f"requestGPU {count} of {gpu_type} (a device this check does not know)")
    return found if count > 0 or found is None else None


def _go_text(value: Any) -> str:
    """A values-file scalar as Helm prints it: `%v` of what sigs.k8s.io/yaml decoded (numbers are float64)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_float(float(value))
    return str(value)


def _go_float(number: float) -> str:
    """Go's `%v` of a float64 (`strconv` 'g', shortest digits): exponent form when the decimal exponent is
    below -4 or at least 6, so 1000000 prints as `1e+06` and 131072 as `131072`."""
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if math.isnan(number):
        return "NaN"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    shortest = Decimal(repr(abs(number))).normalize()  # repr is the shortest round-tripping form, like Go's
    digits = "".join(str(digit) for digit in shortest.as_tuple().digits)
    exponent = shortest.adjusted()
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole = digits[: exponent + 1].ljust(exponent + 1, "0")
    fraction = digits[exponent + 1 :]
    return sign + whole + (f".{fraction}" if fraction else "")
