"""The classes of real deploy files the corpus showed (tests/data/deploy_corpus), one general rule each."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kgc_launch import cli
from kgc_launch.deploy.check import CheckSettings, DeployChecker
from kgc_launch.deploy.launch import Launch
from kgc_launch.deploy.model_source import choose_model
from kgc_launch.deploy.report import LaunchResult, format_report, report_exit_code
from kgc_launch.deploy.scan import HELM_TEMPLATE_WHY, STDIN_NAME, ScanResult, file_kind, scan_paths
from kgc_launch.errors import EXIT_INPUT, EXIT_OK, EXIT_VERDICT_NO
from kgc_launch.hardware.groups import Group, Role, group_devices
from kgc_launch.hardware.select import hardware_from_spec
from kgc_launch.knowngood.load import load_registry
from testing.registry_files import DEPLOY_REGISTRY, write_registry
from testing.sarif import validate_sarif

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def scan(*paths: Path) -> ScanResult:
    return scan_paths([str(path) for path in paths])


def checked(result: ScanResult, hardware: str | None = None, **settings: Any) -> list[LaunchResult]:
    registry = load_registry(ROOT / "registry" / "known-good-configs.yaml")
    inventory = None if hardware is None else hardware_from_spec(hardware)
    checker = DeployChecker(CheckSettings(registry=registry, hardware=inventory, engine_version=None, **settings))
    return [checker.check(launch) for launch in result.launches]


def status(result: ScanResult, path: Path) -> tuple[str, str | None]:
    (report,) = [report for report in result.files if report.path == str(path)]
    return report.status, report.why


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: d}}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: {image}
          args: {args}
          resources:
            limits:
              nvidia.com/gpu: 1
"""


# --- An image whose entrypoint is already the engine -----------------------------------------------------


@pytest.mark.parametrize(
    "args", ['["serve", "Qwen/Qwen2.5-7B-Instruct"]', '["vllm", "serve", "Qwen/Qwen2.5-7B-Instruct", "--port", "80"]']
)
def test_args_repeating_the_images_vllm_serve_fail_and_the_model_is_never_serve(tmp_path: Path, args: str) -> None:
    path = write(tmp_path, "d.yaml", DEPLOYMENT.format(image="vllm/vllm-openai:v0.11.0", args=args))
    result = scan(path)
    (launch,) = result.launches
    assert launch.model == "Qwen/Qwen2.5-7B-Instruct" and launch.args[0] == "Qwen/Qwen2.5-7B-Instruct"
    assert "vLLM rejects ('unrecognized arguments')" in launch.rejections[0]
    for hardware in (None, "8xH100-SXM"):
        (verdict,) = checked(result, hardware)
        assert verdict.verdict == "fail" and verdict.refusals[0].origin == "vllm-args"


def test_the_same_rule_for_compose_and_docker_run(tmp_path: Path) -> None:
    compose = write(
        tmp_path,
        "compose.yaml",
        """\
        services:
          llm:
            image: vllm/vllm-openai:latest
            command: serve meta-llama/Llama-3.1-8B-Instruct --port 8000
        """,
    )
    script = write(tmp_path, "run.sh", "docker run --gpus 1 vllm/vllm-openai:latest vllm serve org/m\n")
    launches = scan(compose, script).launches
    assert [launch.model for launch in launches] == ["meta-llama/Llama-3.1-8B-Instruct", "org/m"]
    assert all(launch.rejections for launch in launches)
    assert {result.verdict for result in checked(ScanResult(launches=launches))} == {"fail"}


def test_args_that_do_not_repeat_the_entrypoint_pass(tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", DEPLOYMENT.format(image="vllm/vllm-openai:latest", args='["--model", "org/m"]'))
    (launch,) = scan(path).launches
    assert launch.model == "org/m" and not launch.rejections


# --- Dockerfiles -------------------------------------------------------------------------------------------


def test_quoted_arg_defaults_with_spaces_are_one_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Dockerfile",
        """\
        ARG torch_cuda_arch_list='7.0 7.5 8.0 8.9 9.0+PTX'
        ARG gpu_arches="80-real;90-real" PLAIN=1
        FROM nvidia/cuda:12.4.1-base-ubuntu22.04 AS base
        ARG torch_cuda_arch_list
        ENV TORCH_CUDA_ARCH_LIST=${torch_cuda_arch_list}
        # the model's name isn't known yet, it's set at run time
        ENTRYPOINT ["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "org/m"]
        """,
    )
    result = scan(path)
    assert not result.errors
    (launch,) = result.launches
    assert launch.env["TORCH_CUDA_ARCH_LIST"] == "7.0 7.5 8.0 8.9 9.0+PTX" and launch.line == 7


@pytest.mark.parametrize(
    "name",
    ["Dockerfile", "Dockerfile.cpu", "Dockerfile-cpu", "Dockerfile_rocm", "vllm.Dockerfile", "x.dockerfile",
     "Containerfile", "Containerfile-gpu"],
)  # fmt: skip
def test_dockerfile_names_a_directory_scan_picks_up(tmp_path: Path, name: str) -> None:
    assert file_kind(Path(name)) == "dockerfile"
    write(tmp_path, name, 'FROM vllm/vllm-openai:latest\nCMD ["--model", "org/m"]\n')
    (launch,) = scan_paths([str(tmp_path)]).launches
    assert launch.model == "org/m" and launch.line == 2


# --- Helm ---------------------------------------------------------------------------------------------------


def test_values_with_go_templates_inside_strings_are_still_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "values.yaml",
        """\
        servingEngineSpec:
          modelSpec:
            - name: llama
              repository: vllm/vllm-openai
              tag: latest
              modelURL: meta-llama/Llama-3.1-8B-Instruct
              requestGPU: 1
              # chatTemplate: "{{ .Values.template }}"
        grafana:
          url: "http://{{ .Release.Name }}-grafana:3000"
        """,
    )
    result = scan(path)
    (launch,) = result.launches
    assert launch.model == "meta-llama/Llama-3.1-8B-Instruct" and status(result, path)[0] == "launches"


def test_a_chart_template_is_not_evaluated_never_no_launch(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    write(chart, "Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n")
    engine = write(
        chart,
        "templates/deployment.yaml",
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: "{{ .Release.Name }}"
        spec:
          template:
            spec:
              containers:
                - name: vllm
                  image: "vllm/vllm-openai:{{ .Values.tag }}"
                  args: ["--model", "{{ .Values.model }}"]
        """,
    )
    other = write(chart, "templates/service.yaml", "{{- if .Values.service }}\nkind: Service\n{{- end }}\n")
    loose = tmp_path / "copied-deployment.yaml"  # a template outside its chart that happens to parse
    loose.write_text(engine.read_text())
    assert scan(loose).files[0].status == "not evaluated" and not scan(loose).launches
    result = scan_paths([str(chart)])
    assert not result.launches  # a template is not read, even where it happens to parse as YAML
    assert status(result, engine) == ("not evaluated", HELM_TEMPLATE_WHY)
    assert status(result, other)[0] == "no launch"
    assert report_exit_code([], result) == EXIT_INPUT and report_exit_code([], result, empty_ok=True) == EXIT_OK
    assert f"{engine}: not evaluated: {HELM_TEMPLATE_WHY}" in format_report([], "text", scan=result)


def test_a_rendered_stream_on_stdin_names_each_launchs_template() -> None:
    stream = textwrap.dedent(
        """\
        ---
        # Source: llm/templates/service.yaml
        apiVersion: v1
        kind: Service
        metadata: {name: llm}
        ---
        # Source: llm/templates/deployment.yaml
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: llm}
        spec:
          template:
            spec:
              containers:
                - name: vllm
                  image: vllm/vllm-openai:v0.11.0
                  args: ["--model", "org/m"]
        """
    )
    result = scan_paths(["-"], stdin=io.StringIO(stream))
    (launch,) = result.launches
    assert (launch.file, launch.line, launch.template) == (STDIN_NAME, 17, "llm/templates/deployment.yaml")
    results = checked(result)
    text = format_report(results, "text", scan=result)
    assert f"{STDIN_NAME}:17 (from llm/templates/deployment.yaml): Deployment/llm/vllm" in text
    # annotations go to the template (the stream's line is not one of its lines; the message says it)
    github = format_report(results, "github", scan=result)
    assert "::warning file=llm/templates/deployment.yaml,title=" in github
    sarif = json.loads(format_report(results, "sarif", scan=result))
    (finding,) = sarif["runs"][0]["results"]
    assert finding["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "llm/templates/deployment.yaml"}}
    assert "(line 17 of the rendered stream)" in finding["message"]["text"]


# --- Other accelerators -------------------------------------------------------------------------------------

LWS = """\
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {{name: vllm}}
spec:
  leaderWorkerTemplate:
    size: {size}
    leaderTemplate:
      spec:
        containers:
          - name: leader
            image: vllm/vllm-openai:latest
            command: ["sh", "-c", "ray start --head; vllm serve meta-llama/Llama-3.1-8B-Instruct {parallel}"]
            resources: {{limits: {{{resource}: {leader}}}}}
    workerTemplate:
      spec:
        containers:
          - name: worker
            image: vllm/vllm-openai:latest
            command: ["sh", "-c", "ray start --block --address=$(LWS_LEADER_ADDRESS):6379"]
            resources: {{limits: {{{resource}: {worker}}}}}
"""


@pytest.mark.parametrize(
    ("resource", "name"),
    [("google.com/tpu", "Google TPU chips"), ("amd.com/gpu", "AMD GPUs"), ("habana.ai/gaudi", "Intel Gaudi"),
     ("aws.amazon.com/neuron", "AWS Neuron")],
)  # fmt: skip
def test_another_vendors_devices_are_not_judged_on_nvidia_hardware(tmp_path: Path, resource: str, name: str) -> None:
    text = LWS.format(size=4, parallel="-tp 16", resource=resource, leader=4, worker=4)
    result = scan(write(tmp_path, "lws.yaml", text))
    (launch,) = result.launches
    assert launch.accelerator is not None and launch.accelerator.count == 4 and launch.gpus is None
    (verdict,) = checked(result, "8xH100-SXM")
    assert verdict.verdict == "pass" and not verdict.refusals  # not "needs 16 GPUs; 8 visible"
    assert verdict.hardware is not None and name in verdict.hardware and "NVIDIA" in verdict.hardware


# --- Multi-node groups --------------------------------------------------------------------------------------


def test_the_group_rule() -> None:
    assert group_devices([Role("leader", 1, 8), Role("worker", 1, 8)]) == 16
    assert group_devices([Role("leader", 1, 2), Role("worker", 3, 8)]) == 26  # leader and workers differ
    assert group_devices([Role("head", 1, None), Role("workers", 2, 8)]) == 16  # a head without GPUs gets none
    assert group_devices([Role("head", 1, None), Role("workers", 2, None)]) is None  # nothing says: unknown
    assert group_devices([Role("head", 1, 8), Role("workers", None, 8)]) is None  # pod count unknown
    assert Group("x", (Role("a", 1, 8), Role("b", 1, 8))).describe() == "x: a 1 x 8 + b 1 x 8 = 16 devices"


@pytest.mark.parametrize(
    ("size", "leader", "worker", "parallel", "refused"),
    [(2, 8, 8, "-tp 8 -pp 2", False), (2, 8, 8, "-tp 8 -pp 4", True), (3, 4, 2, "-tp 8", False)],
)
def test_tp_x_pp_is_judged_on_the_lws_group(
    tmp_path: Path, size: int, leader: int, worker: int, parallel: str, refused: bool
) -> None:
    text = LWS.format(size=size, parallel=parallel, resource="nvidia.com/gpu", leader=leader, worker=worker)
    result = scan(write(tmp_path, "lws.yaml", text))
    (launch,) = result.launches
    assert launch.group is not None and launch.group.devices == leader + (size - 1) * worker
    (verdict,) = checked(result, "8xH100-SXM")
    needs = [refusal for refusal in verdict.refusals if "visible" in refusal.message]
    assert bool(needs) is refused


def test_ray_cluster_heads_and_worker_groups_form_one_group(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fleet.yaml",
        """\
        apiVersion: orchestration.aibrix.ai/v1alpha1
        kind: RayClusterFleet
        metadata: {name: ds}
        spec:
          template:
            spec:
              headGroupSpec:
                template:
                  spec:
                    containers:
                      - name: head
                        image: vllm/vllm-openai:latest
                        command: ["/bin/bash", "-lc", "--"]
                        args: ["$KUBERAY_GEN_RAY_START_CMD; vllm serve org/m --tensor-parallel-size 16"]
                        resources: {limits: {nvidia.com/gpu: 8}}
              workerGroupSpecs:
                - groupName: gpus
                  replicas: 1
                  template:
                    spec:
                      containers:
                        - {name: worker, image: vllm/vllm-openai:latest, resources: {limits: {nvidia.com/gpu: 8}}}
        """,
    )
    (launch,) = scan(path).launches
    assert launch.group is not None and (launch.group.pods, launch.group.devices) == (2, 16)
    assert launch.line == 14


# --- More kinds of file -------------------------------------------------------------------------------------


def test_openshift_template_parameters_are_filled_from_their_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "template.yaml",
        """\
        apiVersion: template.openshift.io/v1
        kind: Template
        metadata: {name: vllm}
        parameters:
          - {name: MODEL, value: org/m}
          - {name: TP, value: "2"}
          - {name: API_KEY, generate: expression, from: "[a-z]{16}"}
        objects:
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {name: vllm}
            spec:
              template:
                spec:
                  containers:
                    - name: vllm
                      image: vllm/vllm-openai:latest
                      args: ["--model", "${MODEL}", "-tp", "${TP}", "--api-key", "${API_KEY}"]
                      resources: {limits: {nvidia.com/gpu: "${{TP}}"}}
        """,
    )
    result = scan(path)
    (launch,) = result.launches
    assert launch.model == "org/m" and launch.args[2:4] == ["-tp", "2"] and launch.gpus == 2
    assert launch.args[-1] == "${API_KEY}" and launch.line == 18
    assert any("${API_KEY} is left as written" in note.text for note in result.notes)


def test_kserve_worker_spec_is_a_group_with_its_parallel_sizes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "runtime.yaml",
        """\
        apiVersion: serving.kserve.io/v1alpha1
        kind: ServingRuntime
        metadata: {name: multinode}
        spec:
          supportedModelFormats: [{name: vLLM, autoSelect: true}]
          containers:
            - name: kserve-container
              image: vllm/vllm-openai:latest
              command: ["vllm", "serve"]
              args: ["/mnt/models", "--tensor-parallel-size=$(TENSOR_PARALLEL_SIZE)",
                     "--pipeline-parallel-size=$(PIPELINE_PARALLEL_SIZE)"]
          workerSpec:
            pipelineParallelSize: 2
            tensorParallelSize: 4
            containers:
              - name: worker-container
                image: vllm/vllm-openai:latest
                command: ["bash", "-c", "exec vllm serve \\"$@\\" --headless", "--"]
                args: ["/mnt/models", "--tensor-parallel-size=$(TENSOR_PARALLEL_SIZE)"]
        """,
    )
    head, worker = scan(path).launches
    assert head.args[1:] == ["--tensor-parallel-size=4", "--pipeline-parallel-size=2"] and head.line == 9
    assert worker.args == ["/mnt/models", "--tensor-parallel-size=4", "--headless"] and worker.line == 18
    assert head.group is not None and (head.group.pods, head.group.devices) == (2, 8)


def test_llm_inference_service_is_the_launch_kserves_template_makes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "llmisvc.yaml",
        """\
        apiVersion: serving.kserve.io/v1alpha2
        kind: LLMInferenceService
        metadata: {name: qwen}
        spec:
          model:
            uri: hf://Qwen/Qwen2.5-7B-Instruct
            name: Qwen/Qwen2.5-7B-Instruct
          parallelism: {tensor: 2}
          template:
            containers:
              - name: main
                env:
                  - {name: VLLM_ADDITIONAL_ARGS, value: "--max-model-len 8192"}
                resources: {limits: {nvidia.com/gpu: "2"}}
          prefill:
            template:
              containers:
                - {name: main, resources: {limits: {nvidia.com/gpu: "2"}}}
        """,
    )
    main, prefill = scan(path).launches
    assert main.args == [
        "/mnt/models", "--served-model-name", "Qwen/Qwen2.5-7B-Instruct", "--port", "8000",
        "--tensor-parallel-size", "2", "--max-model-len", "8192",
    ]  # fmt: skip
    assert (main.line, prefill.line, main.gpus) == (5, 15, 2)
    choice = choose_model(main, None, {})
    assert (choice.model, choice.source) == ("Qwen/Qwen2.5-7B-Instruct", "spec.model.uri hf://Qwen/Qwen2.5-7B-Instruct")


def test_kubeai_models_are_vllm_launches_or_named_engines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models.yaml",
        """\
        apiVersion: kubeai.org/v1
        kind: Model
        metadata: {name: llama}
        spec:
          url: hf://meta-llama/Llama-3.1-8B-Instruct
          engine: VLLM
          args:
            - --tensor-parallel-size=8
          resourceProfile: nvidia-gpu-h100:8
        ---
        apiVersion: kubeai.org/v1
        kind: Model
        metadata: {name: gemma}
        spec: {url: "ollama://gemma2:9b", engine: OLlama, resourceProfile: "nvidia-gpu-l4:1"}
        """,
    )
    result = scan(path)
    (launch,) = result.launches
    assert launch.args[:2] == ["--model=meta-llama/Llama-3.1-8B-Instruct", "--served-model-name=llama"]
    assert (launch.line, launch.gpus, launch.model) == (8, 8, "meta-llama/Llama-3.1-8B-Instruct")
    assert any("engine OLlama is not checked" in note.text for note in result.notes)


def test_llm_d_modelservice_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "values.yaml",
        """\
        modelArtifacts:
          name: facebook/opt-125m
          uri: hf://"{{ .Values.modelArtifacts.name }}"
        accelerator: {type: intel-gaudi}
        decode:
          parallelism: {tensor: 2}
          containers:
            - name: vllm
              image: ghcr.io/llm-d/llm-d-cuda:latest
              modelCommand: vllmServe
              args: ["--enforce-eager"]
        prefill:
          create: false
          containers: [{name: vllm, modelCommand: vllmServe}]
        """,
    )
    (launch,) = scan(path).launches
    assert launch.args == [
        "facebook/opt-125m", "--port", "8200", "--tensor-parallel-size", "2", "--served-model-name",
        "facebook/opt-125m", "--enforce-eager",
    ]  # fmt: skip
    assert launch.accelerator is not None and (launch.accelerator.kind, launch.accelerator.count) == ("gaudi", 2)
    assert launch.line == 11


def test_the_vllm_example_chart_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "values.yaml",
        """\
        image:
          repository: "vllm/vllm-openai"
          tag: "latest"
          command: ["vllm", "serve", "/data/", "--served-model-name", "opt-125m"]
        resources:
          limits: {nvidia.com/gpu: 1}
        """,
    )
    (launch,) = scan(path).launches
    assert (launch.model, launch.gpus, launch.line, launch.image) == ("/data/", 1, 4, "vllm/vllm-openai:latest")


def test_a_skypilot_task_runs_its_script_on_num_nodes_x_accelerators(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "serve.sky.yaml",
        """\
        envs:
          MODEL_NAME: meta-llama/Llama-3.1-8B-Instruct
        resources:
          accelerators: H100:8
        num_nodes: 2
        run: |
          if [ "$SKYPILOT_NODE_RANK" == "0" ]; then
            vllm serve $MODEL_NAME \\
              --tensor-parallel-size $SKYPILOT_NUM_GPUS_PER_NODE \\
              --pipeline-parallel-size $SKYPILOT_NUM_NODES
          fi
        """,
    )
    result = scan(path)
    (launch,) = result.launches
    assert launch.args == [
        "meta-llama/Llama-3.1-8B-Instruct", "--tensor-parallel-size", "8", "--pipeline-parallel-size", "2"
    ]  # fmt: skip
    assert launch.line == 8 and launch.group is not None and launch.group.devices == 16
    (verdict,) = checked(result, "8xH100-SXM")
    assert not verdict.refusals


def test_github_actions_steps_run_their_scripts_and_actions_are_not_read(tmp_path: Path) -> None:
    # muhac/llm-action action.yml (composite) and a workflow's job steps; `${{ }}` stays as written
    path = write(
        tmp_path,
        ".github/workflows/smoke.yml",
        """\
        on: push
        env:
          MODEL: Qwen/Qwen3-1.7B
        jobs:
          smoke:
            runs-on: [self-hosted, gpu]
            steps:
              - uses: actions/checkout@v4
              - name: Serve
                run: |
                  pip install vllm
                  vllm serve $MODEL --max-model-len ${{ inputs.len }} &
              - name: Windows
                shell: pwsh
                run: vllm serve other/model
              - uses: muhac/llm-actions@v1
                with:
                  model: a/b
        """,
    )
    action = write(
        tmp_path,
        "action.yml",
        """\
        name: x
        runs:
          using: composite
          steps:
            - shell: bash
              run: vllm serve "${{ inputs.model }}" &> vllm.log &
        """,
    )
    result = scan(path, action)
    first, second = result.launches
    assert first.args == ["Qwen/Qwen3-1.7B", "--max-model-len", "${{ inputs.len }}"] and first.line == 12
    assert second.line == 6 and second.model is None
    assert any("`shell: pwsh` is not read" in note.text for note in result.notes)


# --- Unknown entrypoints, other engines, silence ------------------------------------------------------------


def test_an_unknown_entrypoint_is_said_in_every_format(tmp_path: Path) -> None:
    script = write(
        tmp_path,
        "start.sh",
        """\
        IMAGE=lmcache/vllm-openai:2025-05-27-v1
        docker run --runtime nvidia --gpus all \\
            $IMAGE meta-llama/Llama-3.1-8B-Instruct --port 8100
        """,
    )
    result = scan(script)
    (launch,) = result.launches
    assert launch.line == 2 and launch.model is None
    results = checked(result)
    why = "the entrypoint of lmcache/vllm-openai:2025-05-27-v1 is unknown"
    assert results[0].verdict == "error" and why in (results[0].error or "")
    assert f"not evaluated: {why}" in format_report(results, "text", scan=result)
    assert why in json.loads(format_report(results, "json", scan=result))["results"][0]["error"]
    sarif = json.loads(format_report(results, "sarif", scan=result))
    validate_sarif(sarif)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["KGC003"]
    assert f"::error file={script},line=2,title=kgc-launch%3A launch not evaluated::" in format_report(
        results, "github", scan=result
    )
    assert report_exit_code(results, result) == EXIT_INPUT


def test_other_engines_are_named_and_are_no_launch_for_ours(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sglang.yaml",
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: s}
        spec:
          template:
            spec:
              containers:
                - name: sglang
                  image: lmsysorg/sglang:latest
                  command: ["python3", "-m", "sglang.launch_server", "--model-path", "org/m", "--tp", "2"]
        """,
    )
    result = scan(path)
    assert not result.launches
    state, why = status(result, path)
    assert state == "no launch" and why is not None and "engine SGLang is not checked" in why
    assert report_exit_code([], result, empty_ok=True) == EXIT_OK


def test_every_file_gets_a_status_and_the_summary_counts_them(tmp_path: Path) -> None:
    write(tmp_path, "launch.yaml", DEPLOYMENT.format(image="vllm/vllm-openai:latest", args='["--model", "org/m"]'))
    unread = write(
        tmp_path,
        "unread.yaml",
        DEPLOYMENT.format(image="ghcr.io/acme/vllm-server:1", args="[]").replace("          args: []\n", ""),
    )
    write(tmp_path, "web.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: vllm}\n")
    write(tmp_path, "build.sh", "pip install vllm\n")
    result = scan_paths([str(tmp_path)])
    assert [report.status for report in result.files] == ["no launch", "launches", "not evaluated", "no launch"]
    assert "runs the ENTRYPOINT and CMD of image ghcr.io/acme/vllm-server:1" in (status(result, unread)[1] or "")
    assert "none of its commands starts an engine" in (status(result, tmp_path / "build.sh")[1] or "")
    results = checked(result)
    summary = format_report(results, "text", scan=result).splitlines()[-1]
    assert summary.endswith("files: 1 with launches, 2 without, 1 not evaluated")
    assert report_exit_code(results, result) == EXIT_INPUT
    assert report_exit_code(results, result, empty_ok=True) == EXIT_OK


# --- Models inside containers -------------------------------------------------------------------------------

DOWNLOADING = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  annotations: {annotations}
spec:
  template:
    spec:
      initContainers:
        - name: fetch
          image: python:3.12
          command: ["sh", "-c", "pip install -U huggingface_hub && {download} --local-dir /models/llama"]
      containers:
        - name: vllm
          image: vllm/vllm-openai:latest
          args: ["--model", "/models/llama/", "--served-model-name", "{served}"]
          resources: {{limits: {{nvidia.com/gpu: 1}}}}
"""


@pytest.mark.parametrize("download", ["huggingface-cli download org/real", "hf download org/real --revision main"])
def test_the_model_a_download_puts_in_the_served_path(tmp_path: Path, download: str) -> None:
    text = DOWNLOADING.format(annotations="{}", download=download, served="llama")
    (result,) = checked(scan(write(tmp_path, "d.yaml", text)))
    assert result.model == "org/real"
    assert result.model_source is not None and result.model_source.startswith("init container fetch (line 10)")


def test_model_statements_in_their_order(tmp_path: Path) -> None:
    annotated = DOWNLOADING.format(annotations='{"kgc-launch.io/model": org/said}', download="echo", served="x")
    (result,) = checked(scan(write(tmp_path, "a.yaml", annotated)))
    assert (result.model, result.model_source) == ("org/said", "annotation kgc-launch.io/model (Deployment/d)")
    plain = DOWNLOADING.format(annotations="{}", download="echo", served="org/served")
    launches = scan(write(tmp_path, "b.yaml", plain))
    (mapped,) = checked(launches, model_map={"/models": "org/mapped"})
    assert (mapped.model, mapped.model_source) == ("org/mapped", "--model-map /models=org/mapped")
    (served,) = checked(launches)
    assert (served.model, served.model_source) == ("org/served", "--served-model-name (a Hub id)")
    alias = DOWNLOADING.format(annotations="{}", download="echo", served="llama")
    (unknown,) = checked(scan(write(tmp_path, "c.yaml", alias)), "8xH100-SXM")
    assert unknown.model == "/models/llama/" and "a path inside the container" in (unknown.hardware or "")


# --- Hardware checks that did not run -----------------------------------------------------------------------


def test_a_launch_whose_hardware_checks_did_not_run_says_so_everywhere(tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", DEPLOYMENT.format(image="vllm/vllm-openai:latest", args='["--model", "org/m"]'))
    result = scan(path)
    results = checked(result)
    (verdict,) = results
    assert verdict.verdict == "pass" and verdict.hardware == "no --hardware given"
    why = "registry checked; hardware checks not evaluated: no --hardware given"
    assert f"  {why}" in format_report(results, "text", scan=result)
    assert (
        format_report(results, "text", scan=result)
        .splitlines()[-1]
        .startswith(
            "1 launch in 1 file: 1 pass, 0 fail, 0 not evaluated; hardware checks not evaluated for 1 of the passes"
        )
    )
    document = json.loads(format_report(results, "json", scan=result))
    assert document["results"][0]["hardware"] == {"evaluated": False, "why": "no --hardware given"}
    assert document["summary"]["hardware_not_evaluated"] == 1
    sarif = json.loads(format_report(results, "sarif", scan=result))
    validate_sarif(sarif)
    (finding,) = sarif["runs"][0]["results"]
    assert (finding["ruleId"], finding["level"]) == ("KGC008", "warning")
    assert "::warning file=" in format_report(results, "github", scan=result)
    assert report_exit_code(results, result) == EXIT_OK
    assert report_exit_code(results, result, require_evaluated=True) == EXIT_INPUT


def test_a_kubernetes_launch_without_a_gpu_request_is_not_judged_on_the_whole_node(tmp_path: Path) -> None:
    text = DEPLOYMENT.format(image="vllm/vllm-openai:latest", args='["--model", "org/m", "-tp", "16"]')
    text = text.split("          resources:")[0]
    result = scan(write(tmp_path, "d.yaml", text))
    (verdict,) = checked(result, "8xH100-SXM")
    assert verdict.verdict == "pass" and "does not say how many GPUs" in (verdict.hardware or "")


# --- The command line ---------------------------------------------------------------------------------------


def test_the_command_line_reads_stdin_maps_models_and_requires_evaluation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = write_registry(tmp_path, DEPLOY_REGISTRY)
    text = DOWNLOADING.format(annotations="{}", download="echo", served="llama")
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code = cli.main(["check", "--registry", str(registry), "--deploy-file", "-", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK and document["results"][0]["launch"]["file"] == STDIN_NAME
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    args = ["check", "--registry", str(registry), "--deploy-file", "-", "--model-map", "/models/llama=org/x"]
    code = cli.main([*args, "--require-evaluated"])
    out = capsys.readouterr().out
    assert code == EXIT_INPUT and "model: org/x (from --model-map /models/llama=org/x)" in out
    code = cli.main(["check", "--registry", str(registry), "--deploy-file", "x.yaml", "--model-map", "nope"])
    assert code != EXIT_OK and "--model-map 'nope' is not PATH=ORG/NAME" in capsys.readouterr().err


def test_launch_results_keep_the_launch() -> None:
    launch = Launch("f", 1, "o", "shell", "vllm", ["m"])
    assert LaunchResult(launch, "pass").hardware_unevaluated is False
    assert LaunchResult(launch, "pass", hardware="x").hardware_unevaluated
    assert EXIT_VERDICT_NO == 1


def test_a_runtime_used_by_an_inference_service_says_where_it_is_checked(tmp_path: Path) -> None:
    runtime = write(
        tmp_path,
        "runtime.yaml",
        """\
        apiVersion: serving.kserve.io/v1alpha1
        kind: ServingRuntime
        metadata: {name: vllm}
        spec:
          supportedModelFormats: [{name: vLLM, autoSelect: true}]
          containers:
            - {name: kserve-container, image: vllm/vllm-openai:latest, args: ["--model=/mnt/models"]}
        """,
    )
    service = write(
        tmp_path,
        "isvc.yaml",
        """\
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {name: llama}
        spec:
          predictor:
            model:
              modelFormat: {name: vLLM}
              storageUri: hf://meta-llama/Llama-3.1-8B-Instruct
        """,
    )
    result = scan(runtime, service)
    (launch,) = result.launches
    assert launch.file == str(service) and launch.line == 6  # the `model:` key: no args of its own
    state, why = status(result, runtime)
    assert state == "no launch" and why is not None and "runs InferenceService/llama" in why


RUNTIME_NAMED_VLLM = """\
apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata: {{name: vllm}}
spec:
  supportedModelFormats: [{{name: huggingface, autoSelect: true}}]
  containers:
    - name: kserve-container
      image: vllm/vllm-openai:v0.9.2
      args:
        - --model
        - {model}
"""


def test_an_inference_service_runs_the_runtime_of_its_own_file_when_names_repeat(tmp_path: Path) -> None:
    # Runtime names are per namespace: each setup of a repository may hold its own `vllm` runtime.
    service = "---\napiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: chat}\n"
    service += "spec:\n  predictor:\n    model:\n      runtime: vllm\n      modelFormat: {name: huggingface}\n"
    first = write(tmp_path / "a", "runtime.yaml", RUNTIME_NAMED_VLLM.format(model="Qwen/Qwen3-8B"))
    second = write(tmp_path / "b", "both.yaml", RUNTIME_NAMED_VLLM.format(model="microsoft/phi-2") + service)
    auto_select = service.replace("      runtime: vllm\n", "")
    third = write(tmp_path / "c", "both.yaml", RUNTIME_NAMED_VLLM.format(model="google/gemma-2-2b-it") + auto_select)
    result = scan(first, second, third)
    models = {(Path(launch.file).parent.name, launch.model) for launch in result.launches}
    # a's runtime no InferenceService uses is a launch of its own; b's and c's each run their file's service
    assert models == {("a", "Qwen/Qwen3-8B"), ("b", "microsoft/phi-2"), ("c", "google/gemma-2-2b-it")}


def test_an_inference_service_adding_no_args_is_placed_at_the_runtime_args_of_its_file(tmp_path: Path) -> None:
    service = "---\napiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: chat}\n"
    service += "spec:\n  predictor:\n    model:\n      runtime: vllm\n      modelFormat: {name: huggingface}\n"
    path = write(tmp_path, "both.yaml", RUNTIME_NAMED_VLLM.format(model="microsoft/phi-2") + service)
    (launch,) = scan(path).launches
    # the engine's words are the runtime's `args` (first item line 10), not the service's `model:` key (line 18)
    assert launch.object == "InferenceService/chat/kserve-container" and launch.line == 10
    with_args = service + "      args: [--max-model-len, '4096']\n"
    (launch,) = scan(write(tmp_path, "own-args.yaml", RUNTIME_NAMED_VLLM.format(model="x/y") + with_args)).launches
    assert launch.line == 21  # the service's own args place it, as before


def test_what_vllms_parser_refuses_fails_even_when_the_model_is_not_known(tmp_path: Path) -> None:
    text = """\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
            - name: vllm
              image: vllm/vllm-openai:v0.9.2
              command: ["sh", "-c", "vllm serve $MODEL --max-model-len"]
        """
    (result,) = checked(scan(write(tmp_path, "pod.yaml", text)))
    # the refusal does not depend on the model: a FAIL, the unknown model a note, not a hidden 'not evaluated'
    assert result.verdict == "fail" and [f.rule_id for f in result.findings] == ["missing-value"]
    assert any("the model is not known" in note for note in result.notes)
    unknown_only = text.replace(" --max-model-len", " --max-model-len 4096")
    (result,) = checked(scan(write(tmp_path, "ok.yaml", unknown_only)))
    assert result.verdict == "error" and result.error is not None and "model is not known" in result.error
