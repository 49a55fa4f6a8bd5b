from __future__ import annotations

import shlex

import pytest

from kgc_launch.deploy.launch import (
    Launch,
    Unknown,
    engine_launch_from_argv,
    image_entrypoint,
    image_repository,
    model_of,
    recognise_command,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("vllm serve Qwen/Qwen3-8B -tp 2", ("vllm", ["Qwen/Qwen3-8B", "-tp", "2"])),
        ("/opt/venv/bin/vllm serve m", ("vllm", ["m"])),
        ("python3 -m vllm.entrypoints.openai.api_server --model m", ("vllm", ["--model", "m"])),
        ("python -u -m vllm.entrypoints.openai.api_server --model m", ("vllm", ["--model", "m"])),
        ("/usr/bin/python3.12 -X dev -m vllm.entrypoints.openai.api_server m", ("vllm", ["m"])),
        ("python3 -m vllm.entrypoints.cli.main serve m --port 1", ("vllm", ["m", "--port", "1"])),
        ("python -m vllm.entrypoints.api_server --model m -tp 2", ("vllm", ["--model", "m", "-tp", "2"])),
        ("ferrum serve /models/q", ("ferrum", ["/models/q"])),
        ("ferrum -v serve -m q -p 8000", ("ferrum", ["-m", "q", "-p", "8000"])),
        ("/usr/local/bin/ferrum --verbose serve q", ("ferrum", ["q"])),
        ("env VLLM_USE_V1=1 vllm serve m", ("vllm", ["m"])),
        ("exec -a vllm-main vllm serve m", ("vllm", ["m"])),
        ("exec env -i A=1 nohup nice -n 5 vllm serve m", ("vllm", ["m"])),
        ("tini -- vllm serve m", ("vllm", ["m"])),
        ("numactl --cpunodebind=0 --membind 0 vllm serve m", ("vllm", ["m"])),
        ("kgc-launch vllm serve m", ("vllm", ["m"])),
        ("kgc-launch --hardware 8xH100-SXM --require-registered -- vllm serve m -tp 8", ("vllm", ["m", "-tp", "8"])),
        ("kgc-launch --set=a.b=1 --registry r.yaml --json ferrum serve q", ("ferrum", ["q"])),
        ("kgc-launch --dry-run python3 -m vllm.entrypoints.openai.api_server --model m", ("vllm", ["--model", "m"])),
    ],
)
def test_engine_launches_are_recognised(line: str, expected: tuple[str, list[str]]) -> None:
    assert engine_launch_from_argv(shlex.split(line)) == expected


@pytest.mark.parametrize(
    "line",
    [
        "vllm bench serve --model m",
        "vllm --version",
        "python3 -c 'import vllm'",
        "pip install vllm",
        "ferrum bench",
        "ferrum -vv serve q",  # ferrum's grammar is `ferrum [-v] serve`: the launcher refuses this too
        "kgc-launch check --deploy-file k8s/",
        "kgc-launch --hardware H100",
        "echo vllm serve m",
        "sh -c 'vllm serve m'",  # a shell is command.py's business, not this one's
        "",
    ],
)
def test_other_commands_are_not_launches(line: str) -> None:
    assert engine_launch_from_argv(shlex.split(line)) is None


def test_wrappers_contribute_environment_and_kgc_options() -> None:
    command = recognise_command(
        shlex.split("env HF_HOME=/cache kgc-launch --hardware 2xL40S --workload chat -- env X=1 vllm serve m")
    )
    assert command is not None
    assert command.env == {"HF_HOME": "/cache", "X": "1"}
    assert command.wrapper == ["--hardware", "2xL40S", "--workload", "chat", "--"]


def test_unknown_kgc_option_is_read_as_a_flag_and_said() -> None:
    command = recognise_command(shlex.split("kgc-launch --future-flag vllm serve m"))
    assert command is not None and command.args == ["m"]
    assert any("--future-flag" in note for note in command.notes)


@pytest.mark.parametrize(
    ("engine", "args", "model", "why"),
    [
        ("vllm", ["Qwen/Qwen3-8B", "--dtype", "bfloat16"], "Qwen/Qwen3-8B", None),
        ("vllm", ["--dtype", "bfloat16", "--model", "m"], "m", None),
        ("vllm", ["--dtype", "bfloat16"], None, "built-in default"),
        ("vllm", ["", "--port", "8000"], None, "the model argument is empty"),  # `vllm serve "${MODEL:-}"`
        ("vllm", ["--model", "", "--port", "8000"], None, "the model argument is empty"),
        ("vllm", ["--config", "/etc/vllm.yaml"], None, "--config /etc/vllm.yaml may set it"),
        ("vllm", ["$(MODEL_ID)", "-tp", "2"], None, "'$(MODEL_ID)'"),
        ("vllm", ["${MODEL}"], None, "not known here"),
        ("ferrum", ["-p", "8000", "/models/q"], "/models/q", None),
        ("ferrum", ["--runtime-preset", "m3", "-m", "q"], "q", None),
        ("ferrum", ["--model=q"], "q", None),
        ("ferrum", ["--host", "0.0.0.0"], None, "no model argument"),
    ],
)
def test_model_of(engine: str, args: list[str], model: str | None, why: str | None) -> None:
    found, reason = model_of(engine, args)  # type: ignore[arg-type]
    assert found == model
    assert (reason is None) if why is None else (reason is not None and why in reason)


@pytest.mark.parametrize(
    ("image", "repository", "known"),
    [
        ("vllm/vllm-openai", "vllm/vllm-openai", True),
        ("vllm/vllm-openai:v0.11.0", "vllm/vllm-openai", True),
        ("docker.io/vllm/vllm-openai:latest", "vllm/vllm-openai", True),
        ("registry.local:5000/mirror/vllm/vllm-openai@sha256:abc", "vllm/vllm-openai", True),
        ("lmcache/vllm-openai:latest", "lmcache/vllm-openai", False),
        ("nvidia/cuda:12.8.0-runtime-ubuntu22.04", "nvidia/cuda", False),
    ],
)
def test_known_image_entrypoints(image: str, repository: str, known: bool) -> None:
    assert image_repository(image) == repository
    assert (image_entrypoint(image) == ["vllm", "serve"]) is known


def test_launch_record_reads_model_and_reports_unknown_env() -> None:
    launch = Launch(
        file="k8s/a.yaml",
        line=12,
        object="Deployment/a/vllm",
        source="kubernetes",
        engine="vllm",
        args=["--model", "m", "-tp", "2"],
        env={"A": "1", "HF_TOKEN": Unknown("from Secret hf (key token)")},
    )
    assert (launch.model, launch.model_why, launch.location) == ("m", None, "k8s/a.yaml:12")
    assert launch.known_env() == {"A": "1"}
    assert launch.unknown_env() == {"HF_TOKEN": "from Secret hf (key token)"}
    assert launch.serve_args().int_value("tensor-parallel-size") == 2
    assert launch.command_line() == "vllm serve --model m -tp 2"
    assert launch.to_dict()["env"]["HF_TOKEN"] == {"unknown": "from Secret hf (key token)"}


def test_ray_symmetric_run_runs_the_command_after_its_double_dash() -> None:
    argv = ["ray", "symmetric-run", "--address", "$(LWS_LEADER_ADDRESS):6379", "--min-nodes", "4", "--"]
    command = recognise_command([*argv, "vllm", "serve", "deepseek-ai/DeepSeek-R1", "--tensor-parallel-size", "32"])
    assert command is not None and command.args == ["deepseek-ai/DeepSeek-R1", "--tensor-parallel-size", "32"]
    assert recognise_command(argv[:-1]) is None  # without `--` nothing is run through it


def test_slurm_srun_runs_the_command_after_its_options() -> None:
    # agents-x-project/PyVision-RL verl_agents/slurm_scripts/run_serve_llm.sh: `srun -p P --gres=gpu:8 ... vllm serve`
    argv = ["srun", "-p", "eaigc1_t", "--gres=gpu:8", "-n1", "--quotatype=reserved", "--gpus", "8", "-l"]
    command = recognise_command([*argv, "vllm", "serve", "m", "--tensor-parallel-size", "8"])
    assert command is not None and command.args == ["m", "--tensor-parallel-size", "8"]
    assert recognise_command(["srun", "-p", "gpu", "python", "train.py"]) is None


@pytest.mark.parametrize(
    "runner",
    [
        ["uv", "run"],  # LQR471814/x.vllm-distributed Makefile: `uv run vllm serve Qwen/Qwen3-0.6B ...`
        ["uv", "run", "--with", "vllm==0.13.0", "--no-sync"],
        ["poetry", "run"],
        ["conda", "run", "--no-capture-output", "-n", "vllm"],
        ["systemd-run", "--user", "--scope", "-p", "MemoryMax=90%"],  # pbseiya/vllm-tb250-mining-rig
    ],
)
def test_project_and_unit_runners_run_the_command_after_their_options(runner: list[str]) -> None:
    command = recognise_command([*runner, "python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "m"])
    assert command is not None and command.args == ["--model", "m"]
    assert recognise_command([*runner, "vllm", "serve", "m"]) is not None
    assert recognise_command([*runner, "ray", "start", "--head"]) is None
    assert recognise_command(["uv", "pip", "install", "vllm"]) is None  # only `run` runs a command
