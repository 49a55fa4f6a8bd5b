from __future__ import annotations

from pathlib import Path

import pytest

from kgc_launch.deploy.k8s_container import expand_references
from kgc_launch.deploy.launch import Launch, Unknown
from kgc_launch.deploy.model_source import ModelChoice, choose_model
from kgc_launch.deploy.scan import scan_paths
from kgc_launch.errors import InputError

DATA = Path(__file__).parent / "data" / "deploy"


def launches(*names: str) -> dict[str, Launch]:
    result = scan_paths([str(DATA / name) for name in names])
    assert not result.errors
    return {launch.object: launch for launch in result.launches}


def manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


def test_one_launch_per_engine_container_with_its_own_line_env_and_gpus() -> None:
    found = launches("deployment-multi.yaml")
    assert list(found) == ["Deployment/llama-8b/vllm"]  # not the sidecar, not the init container
    launch = found["Deployment/llama-8b/vllm"]
    assert (launch.container_line, launch.gpus, launch.image) == (30, 2, "vllm/vllm-openai:v0.11.0")
    assert launch.line == 32  # the first item of the `command` list that starts the engine
    assert launch.model == "meta-llama/Llama-3.1-8B-Instruct"
    # $(VAR) from env, $$( ) escaped, a Secret's value left as written and said
    assert launch.args[:5] == [
        "meta-llama/Llama-3.1-8B-Instruct",
        "--tensor-parallel-size",
        "2",
        "--max-model-len",
        "16384",
    ]
    assert launch.args[5:] == ["--served-model-name", "$(literal)", "--api-key", "$(API_KEY)"]
    assert launch.env["API_KEY"] == Unknown("from Secret vllm-keys (key api-key)")
    assert launch.env["VLLM_ATTENTION_BACKEND"] == "FLASHINFER"
    notes = " | ".join(launch.notes)
    assert "$(API_KEY) is left as written: API_KEY is from Secret vllm-keys" in notes
    assert "envFrom ConfigMap vllm-tuning" in notes


@pytest.mark.parametrize(
    ("text", "env", "expected", "missing"),
    [
        ("$(A)-$(B)", {"A": "1", "B": "2"}, "1-2", []),
        ("$$(A)", {"A": "1"}, "$(A)", []),
        ("$$$(A)", {"A": "1"}, "$1", []),
        ("$(NOPE)", {}, "$(NOPE)", ["NOPE"]),
        ("$(S)", {"S": Unknown("from Secret s (key k)")}, "$(S)", ["S"]),
        ("$A $(A", {"A": "1"}, "$A $(A", []),
    ],
)
def test_kubernetes_variable_expansion(
    text: str, env: dict[str, str | Unknown], expected: str, missing: list[str]
) -> None:
    result, unresolved = expand_references(text, env)
    assert result == expected and [name for name, _ in unresolved] == missing


def test_env_values_expand_from_earlier_entries(tmp_path: Path) -> None:
    path = manifest(
        tmp_path,
        """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: c
      image: vllm/vllm-openai:latest
      args: ["$(ARGS)"]
      env:
        - {name: ORG, value: Qwen}
        - {name: ARGS, value: "$(ORG)/Qwen3-8B"}
        - {name: TOKEN, valueFrom: {secretKeyRef: {name: hf, key: t}}}
        - {name: BUILT, value: "Bearer $(TOKEN)"}
""",
    )
    (launch,) = scan_paths([str(path)]).launches
    assert launch.model == "Qwen/Qwen3-8B"
    assert launch.env["BUILT"] == Unknown("built from $(TOKEN) (from Secret hf (key t))")


def test_list_cronjob_shell_script_and_ferrum_statefulset() -> None:
    found = launches("cronjob-and-list.yaml")
    assert list(found) == ["CronJob/nightly-eval/server", "Pod/shell-launch/engine", "StatefulSet/ferrum-qwen/ferrum"]
    cron = found["CronJob/nightly-eval/server"]
    assert (cron.model, cron.gpus, cron.args[-2:]) == ("Qwen/Qwen3-8B", 1, ["--max-num-seqs", "64"])
    shell = found["Pod/shell-launch/engine"]
    assert shell.args == [
        "mistralai/Mistral-7B-Instruct-v0.3", "--gpu-memory-utilization", "0.92", "--enable-prefix-caching",
        "--max-model-len", "16384",
    ]  # fmt: skip
    assert any("line 3 of the script" in note for note in shell.notes)
    ferrum = found["StatefulSet/ferrum-qwen/ferrum"]
    assert (ferrum.engine, ferrum.model, ferrum.gpus) == ("ferrum", "Qwen/Qwen3-30B-A3B", 1)
    assert ferrum.env == {"FERRUM_KV_MAX_BLOCKS": "2048"}


def test_leader_worker_set_leader_launches_and_workers_are_said() -> None:
    result = scan_paths([str(DATA / "lws-vllm.yaml")])
    (leader,) = result.launches
    assert leader.object == "LeaderWorkerSet/vllm-405b/leader/vllm-leader"
    assert (leader.nodes, leader.gpus, leader.model) == (2, 8, "meta-llama/Meta-Llama-3.1-405B-Instruct")
    assert leader.serve_args().int_value("pipeline-parallel-size") == 2
    assert leader.env["LWS_GROUP_SIZE"] == "2" and isinstance(leader.env["LWS_LEADER_ADDRESS"], Unknown)
    assert any("vllm-worker" in note and "not a recognised launch" in note for note in map(str, result.notes))


def test_kgc_launch_as_the_entrypoint_is_the_engine_launch() -> None:
    launch = launches("kgc-wrapped.yaml")["Deployment/qwen-wrapped/engine"]
    assert launch.engine == "vllm" and launch.model == "Qwen/Qwen3-235B-A22B-FP8"
    assert launch.wrapper == ["--hardware", "8xH100-SXM", "--require-registered", "--"]
    assert launch.args[-1] == "--enable-expert-parallel"


def test_kserve_runtime_and_inference_services() -> None:
    result = scan_paths([str(DATA / "kserve.yaml")])
    found = {launch.object: launch for launch in result.launches}
    assert list(found) == [
        "InferenceService/granite-8b/kserve-container",
        "InferenceService/custom-vllm/predictor/kserve-container",
    ]
    granite = found["InferenceService/granite-8b/kserve-container"]
    # the runtime's args, its {{.Name}} filled, then the InferenceService's; env entries merged by name
    assert granite.args == [
        "--port=8080", "--model=/mnt/models", "--served-model-name=granite-8b", "--max-model-len=8192",
        "--dtype=bfloat16",
    ]  # fmt: skip
    assert granite.env == {"HF_HOME": "/data/hf"} and granite.gpus == 1
    # the command serves /mnt/models; KServe's hf:// storageUri says which model that is
    assert granite.model == "/mnt/models"
    assert choose_model(granite, None, {}) == ModelChoice(
        "ibm-granite/granite-3.1-8b-instruct", "storageUri hf://ibm-granite/granite-3.1-8b-instruct"
    )
    assert found["InferenceService/custom-vllm/predictor/kserve-container"].model == "microsoft/Phi-4-mini-instruct"
    assert any(
        "vllm-runtime-in-another-repo" in note and "not among the scanned files" in note
        for note in map(str, result.notes)
    )


def test_inference_services_of_other_frameworks_are_not_reported(tmp_path: Path) -> None:
    path = manifest(
        tmp_path,
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: iris}\n"
        "spec:\n  predictor:\n    model:\n      modelFormat: {name: sklearn}\n      storageUri: gs://x/iris\n",
    )
    result = scan_paths([str(path)])
    assert not result.launches and not result.notes and result.files_scanned == 1


def test_an_unused_serving_runtime_is_a_launch_of_its_own(tmp_path: Path) -> None:
    text = (DATA / "kserve.yaml").read_text().split("---")[0]
    (launch,) = scan_paths([str(manifest(tmp_path, text))]).launches
    assert launch.object == "ServingRuntime/vllm-runtime/kserve-container"
    assert launch.args[-1] == "--served-model-name={{.Name}}"
    assert any("runtime template" in note for note in launch.notes)


def test_args_only_with_an_unknown_image_is_said_not_guessed(tmp_path: Path) -> None:
    path = manifest(
        tmp_path,
        """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - name: c
          image: example.com/our-vllm:1
          args: ["--model", "m", "--tensor-parallel-size", "2"]
        - name: repeated
          image: vllm/vllm-openai:latest
          args: ["vllm", "serve", "m"]
""",
    )
    result = scan_paths([str(path)])
    unknown, repeated = result.launches
    # An engine image whose ENTRYPOINT is not known: a launch that is not evaluated, never guessed nor dropped.
    assert unknown.object == "Deployment/d/c" and unknown.model is None
    assert (
        unknown.unevaluated
        == "the entrypoint of example.com/our-vllm:1 is unknown: its args cannot be read as a launch"
    )
    assert unknown.line == 10 and unknown.container_line == 8  # the args list (a flow list: its line)
    # Args that repeat the image's `vllm serve`: vLLM rejects them; the model is the one meant, never `vllm`.
    assert repeated.object == "Deployment/d/repeated" and repeated.model == "m"
    assert "unrecognized arguments" in repeated.rejections[0]


def test_native_sidecars_and_generic_kinds(tmp_path: Path) -> None:
    path = manifest(
        tmp_path,
        """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - {name: once, image: vllm/vllm-openai:latest, args: ["--model", "never"]}
    - {name: beside, image: vllm/vllm-openai:latest, args: ["--model", "sidecar"], restartPolicy: Always}
  containers:
    - {name: main, image: busybox, command: ["sleep", "infinity"]}
---
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: rc}
spec:
  headGroupSpec:
    template:
      spec:
        containers:
          - {name: head, image: vllm/vllm-openai:latest, command: ["vllm", "serve", "m", "-tp", "8"]}
""",
    )
    objects = [launch.object for launch in scan_paths([str(path)]).launches]
    assert objects == ["Pod/p/beside", "RayCluster/rc/head/head"]


def test_wrong_types_are_located_errors(tmp_path: Path) -> None:
    path = manifest(
        tmp_path,
        """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: c
      image: vllm/vllm-openai:latest
      command: vllm serve m
""",
    )
    (error,) = scan_paths([str(path)]).errors
    assert isinstance(error, InputError) and (error.line, error.field) == (8, "command")
    assert error.hint is not None and "sh" in error.hint


def test_helm_template_output_is_plain_manifests(tmp_path: Path) -> None:
    path = manifest(
        tmp_path,
        """\
---
# Source: vllm-stack/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: vllm-router
---
# Source: vllm-stack/templates/deployment-vllm-multi.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: "vllm-llama3-deployment-vllm"
spec:
  template:
    spec:
      containers:
        - name: "vllm"
          image: "vllm/vllm-openai:v0.11.0"
          command:
          - "vllm"
          - "serve"
          - "meta-llama/Llama-3.1-8B-Instruct"
          - "--host"
          - "0.0.0.0"
          - "--gpu_memory_utilization"
          - "0.9"
          resources:
            limits:
              nvidia.com/gpu: "1"
""",
    )
    (launch,) = scan_paths([str(path)]).launches
    assert (launch.object, launch.container_line, launch.gpus) == ("Deployment/vllm-llama3-deployment-vllm/vllm", 17, 1)
    assert launch.line == 20 and launch.template == "vllm-stack/templates/deployment-vllm-multi.yaml"
    assert launch.serve_args().get("gpu-memory-utilization") == "0.9"


def test_argo_workflow_templates_and_tekton_steps_run_containers(tmp_path: Path) -> None:
    argo = manifest(
        tmp_path,
        """\
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: bench}
spec:
  templates:
    - name: server
      daemon: true
      container:
        image: vllm/vllm-openai:v0.9.2
        args: [Qwen/Qwen3-8B, --tensor-parallel-size, "2"]
        resources: {limits: {nvidia.com/gpu: 2}}
    - name: scripted
      script:
        image: vllm/vllm-openai:v0.9.2
        command: [bash]
        source: |
          set -e
          vllm serve Qwen/Qwen3-4B --max-model-len 4096
    - name: client
      script:
        image: python:3.11
        command: [python]
        source: |
          import subprocess; subprocess.run(["vllm", "serve", "x/y"])
""",
    )
    found = {(launch.object, launch.line, launch.model, launch.gpus) for launch in scan_paths([str(argo)]).launches}
    # a `script` runs its `source` with its shell command; a Python script is not read as a shell's
    assert found == {
        ("WorkflowTemplate/bench/server", 10, "Qwen/Qwen3-8B", 2),
        ("WorkflowTemplate/bench/scripted", 18, "Qwen/Qwen3-4B", None),
    }
    tekton = tmp_path / "task.yaml"
    tekton.write_text(
        "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: serve}\nspec:\n  steps:\n"
        "    - name: engine\n      image: vllm/vllm-openai:v0.9.2\n      script: |\n        #!/bin/bash\n"
        "        exec vllm serve Qwen/Qwen3-8B\n"
        "    - name: py\n      image: python:3.11\n      script: |\n        #!/usr/bin/env python3\n"
        "        print('vllm serve x/y')\n"
    )
    (launch,) = scan_paths([str(tekton)]).launches
    assert (launch.object, launch.line, launch.model) == ("Task/serve/engine", 10, "Qwen/Qwen3-8B")


def test_a_flow_list_spanning_lines_places_its_launch_where_it_opens(tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: vllm
      image: vllm/vllm-openai:v0.9.2
      args: [
        "--model",
        "Qwen/Qwen3-8B",
      ]
"""
    (launch,) = scan_paths([str(manifest(tmp_path, text))]).launches
    assert (launch.line, launch.model) == (8, "Qwen/Qwen3-8B")  # the `args: [` line, as a one-line flow list's
    block = text.replace('      args: [\n        "--model",\n        "Qwen/Qwen3-8B",\n      ]\n', "")
    block += "      args:\n        - --model\n        - Qwen/Qwen3-8B\n"
    (launch,) = scan_paths([str(manifest(tmp_path, block))]).launches
    assert launch.line == 9  # a block list: its first item


CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {{name: engine, namespace: {namespace}}}
data:
  MODEL: {model}
  TP: "2"
"""
USES_CONFIG_MAP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: llm}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.9.2
          envFrom:
            - configMapRef: {name: engine}
          env:
            - name: MODEL_ID
              valueFrom: {configMapKeyRef: {name: engine, key: MODEL}}
          args: ["--model", "$(MODEL_ID)", "--tensor-parallel-size", "$(TP)"]
"""


def test_env_from_a_config_map_among_the_scanned_files_is_known(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "other").mkdir()
    deployment = tmp_path / "app" / "deployment.yaml"
    deployment.write_text(USES_CONFIG_MAP)
    # the ConfigMap of the Deployment's own folder, not a farther one of the same name
    (tmp_path / "app" / "config.yaml").write_text(CONFIG_MAP.format(namespace="llm", model="Qwen/Qwen3-8B"))
    (tmp_path / "other" / "config.yaml").write_text(CONFIG_MAP.format(namespace="llm", model="x/far"))
    (launch,) = scan_paths([str(tmp_path)]).launches
    assert (launch.model, launch.args[-1]) == ("Qwen/Qwen3-8B", "2")  # configMapKeyRef, and envFrom's TP
    assert not launch.unknown_env()
    # a ConfigMap of another namespace is not the Deployment's: the values stay unknown
    (tmp_path / "app" / "config.yaml").write_text(CONFIG_MAP.format(namespace="other", model="Qwen/Qwen3-8B"))
    (tmp_path / "other" / "config.yaml").unlink()
    (launch,) = scan_paths([str(tmp_path)]).launches
    assert launch.model is None and "MODEL_ID" in launch.unknown_env()


def test_a_container_without_image_is_said_to_be_a_patch(tmp_path: Path) -> None:
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - name: vllm
          args: [--model, Qwen/Qwen3-8B, --tensor-parallel-size, "2"]
"""
    path = manifest(tmp_path, text)
    result = scan_paths([str(path)])
    (report,) = result.files
    assert not result.launches and report.status == "not evaluated"
    assert report.why is not None and "no image, so a patch or a fragment" in report.why
    # a patch of a container that names no engine is nothing to say
    (other,) = scan_paths([str(manifest(tmp_path, text.replace("name: vllm", "name: web")))]).files
    assert other.status == "no launch"
