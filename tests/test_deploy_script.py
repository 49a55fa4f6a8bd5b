from __future__ import annotations

from pathlib import Path

import pytest

from kgc_launch.deploy.docker_run import parse_docker_run
from kgc_launch.deploy.script import is_shell_script, script_findings

SCRIPTS = Path(__file__).parent / "data" / "deploy" / "scripts"


def test_serve_script_docker_run_and_exec_launches() -> None:
    findings = script_findings((SCRIPTS / "serve.sh").read_text(), "serve.sh")
    docker, direct = findings.launches
    assert (docker.line, docker.object, docker.gpus) == (11, "docker run vllm/vllm-openai:v0.11.0", 2)
    assert docker.args == ["Qwen/Qwen3-32B", "--tensor-parallel-size", "2"]
    assert docker.env["VLLM_ATTENTION_BACKEND"] == "FLASHINFER"
    assert (direct.line, direct.object, direct.model) == (18, "command `vllm`", "Qwen/Qwen3-32B")
    assert direct.args[1:] == [
        "--tensor-parallel-size",
        "4",
        "--port",
        "8000",
        "--gpu-memory-utilization",
        "0.90",
        "$@",
    ]
    assert direct.env == {"VLLM_WORKER_MULTIPROC_METHOD": "spawn"}
    assert any("$@: the script's arguments" in note for note in direct.notes)


def test_shebang_without_extension() -> None:
    text = (SCRIPTS / "start-ferrum").read_text()
    assert is_shell_script("start-ferrum", text) and not is_shell_script("notes", "vllm serve m\n")
    assert is_shell_script("run", "#!/usr/bin/env bash\n") and not is_shell_script("run", "#!/usr/bin/env python3\n")
    (launch,) = script_findings(text, "start-ferrum").launches
    assert (launch.engine, launch.env, launch.line) == ("ferrum", {"FERRUM_BACKEND": "cuda"}, 3)


@pytest.mark.parametrize(
    ("line", "image", "args", "gpus"),
    [
        ("docker run --rm -it --gpus all -p 80:80 vllm/vllm-openai -tp 2", "vllm/vllm-openai", ["-tp", "2"], None),
        ("docker container run -d --gpus=2 -eA=1 img x", "img", ["x"], 2),
        ("podman run --device nvidia.com/gpu=all --entrypoint vllm img serve m", "img", ["serve", "m"], None),
    ],
)  # fmt: skip
def test_docker_run_parsing(line: str, image: str, args: list[str], gpus: int | None) -> None:
    run = parse_docker_run(line.split(), {})
    assert run is not None and (run.image, run.args, run.gpus) == (image, args, gpus)


def test_not_docker_run() -> None:
    assert parse_docker_run(["docker", "pull", "img"], {}) is None
    assert parse_docker_run(["docker", "run", "--rm"], {}) is None


def test_an_interpreter_named_by_its_path_or_looked_up_on_path_is_read() -> None:
    # Vijay2win/llm-serve start-vllm.sh and eliash0913/vllm-service run_vllm.sh
    text = (
        'PYTHON_BIN="/opt/vllm/venv/bin/python"\n'
        'if [[ ! -x "${PYTHON_BIN}" ]]; then\n'
        '  PYTHON_BIN="$(command -v python3)"\n'
        "fi\n"
        'exec "${PYTHON_BIN}" -m vllm.entrypoints.openai.api_server --model Org/A\n'
        'exec "$HOME/miniconda3/envs/llm/bin/python" -m vllm.entrypoints.openai.api_server --model Org/B\n'
    )
    first, second = script_findings(text, "run_vllm.sh").launches
    # a variable that holds only the program leaves the launch on the line that runs it
    assert (first.line, first.model, second.line, second.model) == (5, "Org/A", 6, "Org/B")
    assert any("is where python3 is found on PATH" in note for note in first.notes)
    hidden = script_findings('echo "starting vllm"\nexec "$BIN" serve Org/C\n', "x.sh")  # the program is not known
    assert hidden.launches == [] and "runs a program named at run time" in hidden.unevaluated[0]


def test_bash_c_of_a_command_built_in_a_variable_is_placed_where_the_engine_is_written() -> None:
    # zaidalyafeai/curator examples/vllm-online/start_vllm_server.sh
    text = 'MODEL_PATH="Org/M"\nCMD="\n    vllm serve \\\n        ${MODEL_PATH} \\\n        -tp 4\n    "\n'
    text += 'bash -c "${CMD}" &\n'
    (launch,) = script_findings(text, "start.sh").launches
    assert (launch.line, launch.model, launch.args[-2:]) == (3, "Org/M", ["-tp", "4"])


def test_an_entrypoint_script_given_the_engine_command_as_its_arguments_runs_it() -> None:
    (launch,) = script_findings("./with-env.sh vllm serve Org/M -tp 2\n", "run.sh").launches
    assert (launch.line, launch.model) == (1, "Org/M")
    assert any('`exec "$@"`' in note for note in launch.notes)
    assert script_findings("./with-env.sh --model Org/M\n", "run.sh").launches == []


def test_a_script_that_runs_an_engine_named_script_is_not_evaluated() -> None:
    # phatvo9/benchmark_gpu tuning/multimodels/qwen3_8b/start_servers.sh: only the script's name says vllm
    findings = script_findings("server/vllm_blackwell_multimodels.sh Qwen/Qwen3-8B 23330 0.2\n", "start.sh")
    assert findings.launches == [] and len(findings.unevaluated) == 1
    assert "runs the script server/vllm_blackwell_multimodels.sh, which is not in this file" in findings.unevaluated[0]
    assert script_findings("./train_model.sh 8\n", "go.sh").unevaluated == []  # no engine named anywhere


def test_another_engines_server_in_a_docker_run_is_named() -> None:
    # marieai/marie-ai sglang-qwq-x8.sh, phatvo9/benchmark_gpu server/sglang.sh: `docker run lmsysorg/sglang
    # python3 -m sglang.launch_server ...` on an image whose ENTRYPOINT is not known
    text = "docker run --gpus all lmsysorg/sglang:latest python3 -m sglang.launch_server --model-path m\n"
    findings = script_findings(text, "sglang.sh")
    assert findings.launches == [] and any("starts SGLang" in note for note in findings.notes)
