from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kgc_launch.deploy.scan import HELM_TEMPLATE_WHY, file_kind, scan_paths

DATA = Path(__file__).parent / "data" / "deploy"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A deploy repository: manifests, compose, a chart, scripts, and things that are not deploy files."""
    root = tmp_path / "repo"
    shutil.copytree(DATA, root, ignore=shutil.ignore_patterns("check"))  # the check's manifests: test_check_deploy
    (root / "docs").mkdir()
    (root / "docs" / "notes.txt").write_text("vllm serve m\n")
    (root / "config.json").write_text('{"vllm": true}\n')
    (root / "k8s-unrelated.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")
    (root / ".git").mkdir()
    (root / ".git" / "deploy.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "serve.sh").write_text("vllm serve m\n")
    return root


def test_directory_scan_counts_launches_skips_and_errors(repo: Path) -> None:
    result = scan_paths([str(repo)])
    by_file = {str(Path(launch.file).relative_to(repo)) for launch in result.launches}
    assert by_file == {
        "cronjob-and-list.yaml", "deployment-multi.yaml", "kgc-wrapped.yaml", "kserve.yaml", "lws-vllm.yaml",
        "compose/compose.yaml", "compose/docker-compose.yml", "docker/Dockerfile", "docker/Dockerfile.shell",
        "helm/values.yaml", "scripts/serve.sh", "scripts/start-ferrum",
    }  # fmt: skip
    assert len(result.launches) == 18 and result.files_with_launches == 12
    # parsed: 12 with launches + no-launch.yaml + broken.yaml; skipped: README.md, .env, notes.txt, config.json,
    # the chart template and the unrelated Service (never mentions an engine). .git and node_modules: not walked.
    assert (result.files_scanned, result.files_skipped) == (15, 5)
    (error,) = result.errors
    assert error.path is not None and error.path.endswith("broken.yaml") and error.line == 12
    statuses = {str(Path(report.path).relative_to(repo)): (report.status, report.why) for report in result.files}
    # a chart template that names an engine is not evaluated, never 'no launch'
    assert statuses["chart/templates/deployment.yaml"] == ("not evaluated", HELM_TEMPLATE_WHY)
    assert statuses["no-launch.yaml"][0] == "no launch" and statuses["broken/broken.yaml"][0] == "not evaluated"
    assert [scan.launches for scan in result.paths] == [18] and not result.empty_paths


def test_launches_are_in_file_then_line_order(repo: Path) -> None:
    launches = scan_paths([str(repo / "scripts" / "serve.sh"), str(repo / "kserve.yaml")]).launches
    assert [(Path(launch.file).name, launch.line) for launch in launches] == [
        ("serve.sh", 11), ("serve.sh", 18), ("kserve.yaml", 35), ("kserve.yaml", 53),
    ]  # fmt: skip


def test_globs_and_paths_without_launches_are_visible(repo: Path) -> None:
    result = scan_paths([f"{repo}/**/*.yml", str(repo / "no-launch.yaml"), f"{repo}/*.nothing", str(repo / "gone")])
    assert [scan.launches for scan in result.paths] == [2, 0, 0, 0]
    # `gone` is an error already; the others are said as paths without a launch
    assert [scan.path for scan in result.empty_paths] == [str(repo / "no-launch.yaml"), f"{repo}/*.nothing"]
    assert [scan.exists for scan in result.paths] == [True, True, False, False]
    (missing,) = result.errors
    assert missing.path == str(repo / "gone") and "no such file" in missing.message


def test_a_file_named_explicitly_is_always_parsed(repo: Path) -> None:
    unrelated = repo / "k8s-unrelated.yaml"
    result = scan_paths([str(unrelated), str(repo / "config.json")])
    assert result.files_scanned == 1 and not result.launches
    assert [skipped.path for skipped in result.skipped] == [str(repo / "config.json")]
    broken = repo / "other.yaml"
    broken.write_text("a: [1\n")
    assert scan_paths([str(broken)]).errors[0].line == 2


def test_named_files_can_be_only_candidates(repo: Path) -> None:
    """pre-commit names every staged file: one that never mentions an engine is skipped unparsed, as in a walk."""
    unrelated = repo / "k8s-unrelated.yaml"
    broken_unrelated = repo / "mkdocs.yml"
    broken_unrelated.write_text("nav: [\n")
    names = [str(unrelated), str(broken_unrelated), str(repo / "kserve.yaml")]
    result = scan_paths(names, parse_named_files=False)
    assert (result.files_scanned, result.files_skipped) == (1, 2) and not result.errors
    assert [scan.path for scan in result.empty_paths] == [str(unrelated), str(broken_unrelated)]
    assert len(scan_paths(names).errors) == 1  # named files are parsed by default


def test_the_same_file_reached_twice_is_read_once(repo: Path) -> None:
    result = scan_paths([str(repo / "scripts"), str(repo / "scripts" / "serve.sh")])
    assert len(result.launches) == 3
    assert [scan.launches for scan in result.paths] == [3, 2]


def test_unreadable_bytes_are_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b'FROM vllm/vllm-openai\nCMD ["--model", "m\xff"]\n')
    (error,) = scan_paths([str(tmp_path)]).errors
    assert error.path == str(path) and error.line == 2 and "UTF-8" in error.message


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("a.yaml", None, "yaml"),
        ("compose.yml", None, "yaml"),
        ("Dockerfile", None, "dockerfile"),
        ("Dockerfile.gpu", None, "dockerfile"),
        ("serve.Dockerfile", None, "dockerfile"),
        ("Containerfile", None, "dockerfile"),
        ("run.sh", None, "shell"),
        ("serve.slurm", None, "shell"),
        ("job.sbatch", None, "shell"),
        ("start", "#!/bin/bash\n", "shell"),
        ("start", "#!/usr/bin/env python3\n", None),
        ("values.json", None, None),
        ("vllm.service", None, "systemd"),
        ("Makefile", None, "makefile"),
        ("serve.mk", None, "makefile"),
        ("Procfile", None, "procfile"),
        ("README.md", None, None),
    ],
)
def test_file_kinds(name: str, text: str | None, kind: str | None) -> None:
    assert file_kind(Path(name), text) == kind


def test_a_slurm_batch_script_in_a_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "serve.sbatch").write_text(
        "#!/bin/bash\n#SBATCH --gres=gpu:2\nsrun vllm serve Qwen/Qwen3-8B -tp 2\n", encoding="utf-8"
    )
    (launch,) = scan_paths([str(tmp_path)]).launches
    assert (launch.line, launch.model, launch.args[-2:]) == (3, "Qwen/Qwen3-8B", ["-tp", "2"])


def test_a_ray_serve_llm_service_that_names_no_engine_is_read_in_a_directory(tmp_path: Path) -> None:
    # kuberay's ray-service.llm-serve.yaml: image rayproject/ray-llm, no engine word, yet Ray Serve LLM runs vLLM
    (tmp_path / "ray-service.yaml").write_text(
        "apiVersion: ray.io/v1\nkind: RayService\nmetadata: {name: llm}\nspec:\n  serveConfigV2: |\n"
        "    applications:\n    - import_path: ray.serve.llm:build_openai_app\n      args:\n        llm_configs:\n"
        "        - model_loading_config: {model_id: qwen, model_source: Qwen/Qwen2.5-7B-Instruct}\n",
        encoding="utf-8",
    )
    (launch,) = scan_paths([str(tmp_path)]).launches
    assert (launch.line, launch.model) == (10, "Qwen/Qwen2.5-7B-Instruct")


def test_compose_variables_can_be_given(repo: Path) -> None:
    result = scan_paths([str(repo / "compose" / "docker-compose.yml")], compose_env={"MODEL": "Qwen/Qwen3-8B"})
    assert result.launches[0].model == "Qwen/Qwen3-8B"


UNIT = """[Unit]
Description=vLLM server
After=network-online.target

[Service]
Environment="CUDA_VISIBLE_DEVICES=0,1" HF_HOME=/srv/hf
EnvironmentFile=-/etc/vllm/vllm.env
ExecStartPre=-/usr/bin/mkdir -p /srv/hf
ExecStart=/opt/vllm/.venv/bin/vllm serve Org/M \\
    --tensor-parallel-size 2 --port ${PORT}
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


def test_a_systemd_units_exec_start_is_read_with_its_environment(tmp_path: Path) -> None:
    # crothmeier/openaiLLM systemd/vllm.service, stusynakowski/local_llm_server systemd/vllm.service
    (tmp_path / "vllm.service").write_text(UNIT, encoding="utf-8")
    scan = scan_paths([str(tmp_path)])
    (launch,) = scan.launches
    assert (launch.line, launch.model, launch.args[1:3]) == (9, "Org/M", ["--tensor-parallel-size", "2"])
    assert (launch.env["CUDA_VISIBLE_DEVICES"], launch.env["HF_HOME"]) == ("0,1", "/srv/hf")


def test_a_systemd_unit_that_runs_a_script_is_not_evaluated(tmp_path: Path) -> None:
    # Vijay2win/llm-serve vllm.service: `ExecStart=/home/vijay/llm-serve/start-vllm.sh`
    unit = tmp_path / "vllm.service"
    unit.write_text("[Unit]\nDescription=vLLM server\n[Service]\nExecStart=/srv/start-vllm.sh\n", encoding="utf-8")
    scan = scan_paths([str(unit)])
    (report,) = scan.files
    assert scan.launches == [] and report.status == "not evaluated"
    assert "/srv/start-vllm.sh, which is not in this file" in (report.why or "")


def test_a_makefile_recipe_is_read_with_the_makefiles_variables(tmp_path: Path) -> None:
    # LQR471814/x.vllm-distributed Makefile: `uv run vllm serve` in a tab-indented, continued recipe
    (tmp_path / "Makefile").write_text(
        "MODEL ?= Org/M\nexport NCCL_DEBUG := INFO\nTP = 2\n\n.PHONY: serve\nserve:\n"
        "\t@uv run vllm serve $(MODEL) \\\n\t\t--tensor-parallel-size $(TP) --port $${PORT:-8000}\n"
        "\nhead:\n\tuv run ray start --head\n",
        encoding="utf-8",
    )
    (launch,) = scan_paths([str(tmp_path)]).launches
    assert (launch.line, launch.model) == (7, "Org/M")
    assert launch.args[1:] == ["--tensor-parallel-size", "2", "--port", "8000"]
    assert launch.env["NCCL_DEBUG"] == "INFO"


def test_a_procfile_process_is_read(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text(
        "web: python -m vllm.entrypoints.openai.api_server --model Org/M --port $PORT\nworker: python worker.py\n",
        encoding="utf-8",
    )
    (launch,) = scan_paths([str(tmp_path)]).launches
    assert (launch.line, launch.model) == (1, "Org/M")


@pytest.mark.parametrize(
    "code",
    [
        'cmd = ["vllm", "serve", MODEL, "--port", "8000"]\nsubprocess.Popen(" ".join(cmd), shell=True)\n',  # Modal
        'os.system(f"vllm serve {model} --tensor-parallel-size 2 &")\n',
        'subprocess.run([sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", m])\n',
    ],
)
def test_a_python_file_that_starts_an_engine_server_is_not_evaluated(tmp_path: Path, code: str) -> None:
    (tmp_path / "serve.py").write_text("import os, subprocess, sys\n" + code, encoding="utf-8")
    (tmp_path / "client.py").write_text("from vllm import LLM\nllm = LLM('m')\n", encoding="utf-8")
    scan = scan_paths([str(tmp_path)])
    (report,) = scan.files  # the client starts no server: skipped, as any file of another kind
    assert report.path.endswith("serve.py") and report.status == "not evaluated"
    assert "a command built in Python code is not read here" in (report.why or "")
    assert scan.files_skipped == 1 and scan.launches == []
    named = scan_paths([str(tmp_path / "client.py")])
    assert [item.reason for item in named.skipped] == [
        "not a kind of deploy file read here (YAML, Dockerfile, shell script, systemd unit, Makefile, Procfile); "
        "it starts no engine server"
    ]
