"""The documentation's examples and the pre-commit hook must do what the docs say."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from kgc_launch import cli
from kgc_launch.deploy.launch import Launch
from kgc_launch.deploy.scan import scan_paths
from kgc_launch.errors import EXIT_OK, EXIT_REFUSED, EXIT_VERDICT_NO

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"


def test_examples_hold_the_launches_the_docs_describe() -> None:
    result = scan_paths([str(EXAMPLES)])
    assert not result.errors and not result.notes
    found = {Path(launch.file).relative_to(EXAMPLES).as_posix(): launch for launch in result.launches}
    assert sorted(found) == ["Dockerfile.kgc-launch", "compose.yaml", "k8s/vllm-through-kgc-launch.yaml"]
    deployment = found["k8s/vllm-through-kgc-launch.yaml"]
    assert deployment.wrapper == ["--hardware", "H100-SXM", "--require-registered", "--"]
    assert (deployment.model, deployment.gpus, deployment.object) == (
        "Qwen/Qwen3.6-27B-FP8",
        1,
        "Deployment/qwen36-27b/engine",
    )
    compose = found["compose.yaml"]
    assert compose.wrapper == ["--hardware", "2xL40S", "--"] and compose.gpus == 2
    assert compose.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert found["Dockerfile.kgc-launch"].model == "Qwen/Qwen3-8B"


def test_the_ci_example_runs_the_documented_command() -> None:
    workflow = YAML(typ="safe").load((EXAMPLES / "github-actions" / "kgc-launch-check.yml").read_text())
    commands = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "kgc-launch check --deploy-file k8s/ --hardware 8xH100-SXM --format github" in commands


def test_pre_commit_hook_definition() -> None:
    (hook,) = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "kgc-launch-check" and hook["entry"] == "kgc-launch check --no-launch-ok --deploy-file"
    assert hook["pass_filenames"] is True and hook["language"] == "python" and hook["require_serial"] is True
    assert "args" not in hook  # a repository's `args` would replace them, dropping --no-launch-ok
    pattern = re.compile(hook["files"])
    for name in ("k8s/app.yaml", "compose.yml", "Dockerfile", "docker/Dockerfile.gpu", "serve.Dockerfile",
                 "Containerfile", "scripts/serve.sh", "run.bash", "deploy/vllm.service", "Makefile", "serve.mk",
                 "Procfile", "jobs/serve.sbatch"):  # fmt: skip
        assert pattern.search(name), name
    for name in ("README.md", "values.json", "docs/Dockerfile-notes/README.md", "yaml.txt", "Makefile.bak.txt"):
        assert not pattern.search(name), name


@pytest.mark.parametrize(
    "link", re.findall(r"\]\((examples/[^)]+)\)", (ROOT / "docs" / "deploy-checks.md").read_text())
)
def test_documentation_links_exist(link: str) -> None:
    assert (ROOT / "docs" / link).is_file()


@pytest.mark.parametrize("hardware", [[], ["--hardware", "8xH100-SXM"]])
def test_the_examples_pass_the_check_with_the_shipped_registry(
    hardware: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no registry up from here: the shipped one, as in a fresh image
    code = cli.main(["check", "--deploy-file", str(EXAMPLES), "--json", *hardware])
    document = json.loads(capsys.readouterr().out)
    assert {r["launch"]["file"].removeprefix(f"{EXAMPLES}/"): r["verdict"] for r in document["results"]} == {
        "Dockerfile.kgc-launch": "pass",
        "compose.yaml": "pass",
        "k8s/vllm-through-kgc-launch.yaml": "pass",
    }
    assert code == EXIT_OK
    assert document["check"]["registry"].endswith("(shipped with kgc-launch)")


def _launch_argv(launch: Launch) -> list[str]:
    """The command the example's container runs (its kgc-launch options, then the engine), as a dry run."""
    options = [word for word in launch.wrapper if word != "--"]
    return ["--dry-run", "--json", *options, "--", launch.engine, "serve", *launch.args]


def test_each_example_starts_through_the_launcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the check passes, the launcher starts: the Deployment's --require-registered model is registered."""
    monkeypatch.chdir(tmp_path)
    launches = scan_paths([str(EXAMPLES)]).launches
    assert len(launches) == 3
    for launch in launches:
        argv = _launch_argv(launch)
        code = cli.main(argv)
        report = json.loads(capsys.readouterr().out)
        assert (code, report["would_exec"]) == (EXIT_OK, True), (shlex.join(argv), report["findings"])


def test_the_check_refuses_what_the_launcher_refuses_with_the_files_own_hardware(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The compose file's kgc-launch plans for --hardware 2xL40S: -tp 4 there is refused by the launcher, and
    the check (without a --hardware of its own) says so instead of passing it."""
    monkeypatch.chdir(tmp_path)
    compose = (EXAMPLES / "compose.yaml").read_text()
    two = '- --tensor-parallel-size\n      - "2"'
    assert two in compose
    (tmp_path / "compose.yaml").write_text(compose.replace(two, two.replace('"2"', '"4"')))
    code = cli.main(["check", "--deploy-file", "compose.yaml", "--json"])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert code == EXIT_VERDICT_NO and result["verdict"] == "fail"
    assert "needs 4 GPUs; 2 visible" in result["refusals"][0]["message"]
    assert result["fix"] == "--tensor-parallel-size 2"
    (launch,) = scan_paths(["compose.yaml"]).launches
    assert cli.main(_launch_argv(launch)) == EXIT_REFUSED
    assert "needs 4 GPUs; 2 visible" in capsys.readouterr().out
