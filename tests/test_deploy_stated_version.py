"""The vLLM version a deploy file states (an exact image tag, a pip requirement) and the releases it allows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgc_launch import cli
from kgc_launch.deploy.script import script_findings
from kgc_launch.deploy.stated_version import StatedVersion, from_image, from_install, releases_of
from kgc_launch.errors import EXIT_OK, EXIT_VERDICT_NO
from testing.registry_files import DEPLOY_REGISTRY, write_registry


@pytest.mark.parametrize(
    ("image", "specifier"),
    [
        ("vllm/vllm-openai:v0.13.0", "==0.13.0"),
        ("docker.io/vllm/vllm-openai:v0.6.6.post1", "==0.6.6.post1"),
        ("vllm/vllm-openai-cpu:0.9.2", "==0.9.2"),
        ("vllm/vllm-openai:latest", None),
        ("vllm/vllm-openai:nightly", None),
        ("vllm/vllm-openai", None),
        ("vllm/vllm-openai:v0.13.0@sha256:0123", None),  # a digest decides, not the tag
        ("lmcache/vllm-openai:v0.3.0", None),  # not vLLM's own image: its tag is another project's
    ],
)
def test_only_an_exact_tag_of_vllms_own_image_states_a_version(image: str, specifier: str | None) -> None:
    found = from_image(image, "f:1")
    assert (found.specifier if found else None) == specifier


@pytest.mark.parametrize(
    ("command", "specifier"),
    [
        ("pip install vllm==0.13.0", "==0.13.0"),
        ("pip3 install -U 'vllm>=0.13' torch", ">=0.13"),
        ("python3 -m pip install --no-cache-dir vllm[audio]~=0.11.0", "~=0.11.0"),
        ("uv pip install --system vllm==0.10.2", "==0.10.2"),
        ("pip install vllm", None),
        ("pip install vllm-router==0.1", None),
        ("pip download vllm==0.13.0", None),
    ],
)
def test_pip_requirements(command: str, specifier: str | None) -> None:
    import shlex

    found = from_install(shlex.split(command), "f:1")
    assert (found.specifier if found else None) == specifier


def test_releases_of_a_range_and_of_an_exact_release_the_vocabulary_stands_for_by_its_line() -> None:
    releases = releases_of([StatedVersion(">=0.13", "pip requirement vllm>=0.13", "f:1")])
    assert releases is not None and releases[0] == "0.13.0" and "0.12.0" not in releases
    assert releases_of([StatedVersion("==0.9.1", "pip requirement vllm==0.9.1", "f:1")]) == ("0.9.2",)
    assert releases_of([]) is None


def test_a_script_states_the_version_of_its_later_launches() -> None:
    text = "pip install 'vllm>=0.13'\nvllm serve org/m --task embed\n"
    (launch,) = script_findings(text, "run.sh").launches
    assert [(v.specifier, v.where) for v in launch.stated_versions] == [(">=0.13", "run.sh:1")]


def run_check(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, *args: str) -> tuple[int, str]:
    registry = write_registry(tmp_path, DEPLOY_REGISTRY)
    path = tmp_path / name
    path.write_text(text)
    code = cli.main(["check", "--registry", str(registry), "--deploy-file", str(path), *args])
    return code, capsys.readouterr().out


def test_an_option_no_stated_release_accepts_fails_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_check(tmp_path, capsys, "run.sh", "pip install 'vllm>=0.13'\nvllm serve org/m --task embed\n")
    assert code == EXIT_VERDICT_NO
    assert "no vLLM release of 0.13.0-0.33.0 accepts --task; the last release that does is 0.12.0" in out
    assert "fix: remove --task embed (vLLM dropped it)" in out
    assert f"vLLM version stated: pip requirement vllm>=0.13 ({tmp_path / 'run.sh'}:1)" in out


def test_an_option_some_stated_releases_accept_is_a_warning_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_check(tmp_path, capsys, "run.sh", "pip install 'vllm>=0.12,<0.14'\nvllm serve org/m --task embed\n")
    assert code == EXIT_OK
    assert "warning: --task is accepted by vLLM 0.12.0 but not by 0.13.0" in out


def test_an_image_tag_states_the_release_and_engine_version_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dockerfile = 'FROM vllm/vllm-openai:v0.13.0\nCMD ["org/m", "--task", "embed"]\n'
    code, out = run_check(tmp_path, capsys, "Dockerfile", dockerfile, "--json")
    (result,) = json.loads(out)["results"]
    assert code == EXIT_VERDICT_NO and result["verdict"] == "fail"
    assert result["launch"]["stated_versions"][0]["evidence"] == "image tag vllm/vllm-openai:v0.13.0"
    code, out = run_check(tmp_path, capsys, "Dockerfile", dockerfile, "--engine-version", "0.12.0")
    assert code == EXIT_OK and "--engine-version 0.12.0 is used instead" in out


def test_engine_version_judges_the_flags_without_hardware(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(tmp_path, capsys, "run.sh", "vllm serve org/m --task embed\n", "--engine-version", "0.13.0")
    assert code == EXIT_VERDICT_NO and "vLLM 0.13.0 has no --task" in out


# ---- the project's own requirements, when the file states no version ----------------------------------------

_TASK_SCRIPT = "#!/bin/sh\nvllm serve Org/Embedder --task embed\n"


def _check(path: Path) -> dict[str, object]:
    from kgc_launch.deploy.scan import scan_paths

    (launch,) = scan_paths([str(path)]).launches
    return {"specifiers": [v.specifier for v in launch.stated_versions], "evidence": launch.stated_versions}


def test_the_nearest_project_states_the_version_of_a_script_that_states_none(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["torch"]\n[project.optional-dependencies]\n'
        'gen = [\n    "vllm>=0.13.0",  # the engine\n]\n',
        encoding="utf-8",
    )
    (repo / "script").mkdir()
    script = repo / "script" / "serve.sh"
    script.write_text(_TASK_SCRIPT, encoding="utf-8")
    found = _check(script)
    assert found["specifiers"] == [">=0.13.0"]
    (stated,) = found["evidence"]  # type: ignore[misc]
    assert stated.evidence == "project requirement vllm>=0.13.0" and stated.where.endswith("pyproject.toml:6")
    assert cli.main(["check", "--deploy-file", str(script)]) == EXIT_VERDICT_NO  # --task: gone from 0.13.0 on


def test_a_nearer_project_without_a_vllm_requirement_says_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('dependencies = ["vllm==0.13.0"]\n', encoding="utf-8")
    inner = tmp_path / "tools"
    inner.mkdir()
    (inner / "requirements.txt").write_text("requests\nvllm  # any version\n", encoding="utf-8")
    (inner / "serve.sh").write_text(_TASK_SCRIPT, encoding="utf-8")
    assert _check(inner / "serve.sh")["specifiers"] == []


def test_every_requirements_file_of_the_project_holds_and_the_search_stops_at_the_repository(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("vllm==0.10.2\n", encoding="utf-8")  # outside the repository
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "deploy").mkdir()
    (repo / "deploy" / "serve.sh").write_text(_TASK_SCRIPT, encoding="utf-8")
    assert _check(repo / "deploy" / "serve.sh")["specifiers"] == []
    (repo / "requirements.txt").write_text("vllm>=0.11\n", encoding="utf-8")
    (repo / "requirements-gpu.txt").write_text("vllm[audio]<0.13 ; sys_platform == 'linux'\n", encoding="utf-8")
    from kgc_launch.deploy.stated_version import _project_requirements

    _project_requirements.cache_clear()
    assert _check(repo / "deploy" / "serve.sh")["specifiers"] == ["<0.13", ">=0.11"]


def test_the_files_own_statement_wins_over_the_project(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "requirements.txt").write_text("vllm>=0.13\n", encoding="utf-8")
    (tmp_path / "serve.sh").write_text("pip install vllm==0.12.0\n" + _TASK_SCRIPT, encoding="utf-8")
    (tmp_path / "Dockerfile").write_text(
        'FROM vllm/vllm-openai:v0.12.0\nCMD ["--model", "Org/Embedder", "--task", "embed"]\n', encoding="utf-8"
    )
    assert _check(tmp_path / "serve.sh")["specifiers"] == ["==0.12.0"]
    assert _check(tmp_path / "Dockerfile")["specifiers"] == ["==0.12.0"]  # the image tag
    assert cli.main(["check", "--deploy-file", str(tmp_path / "Dockerfile")]) == EXIT_OK


# ---- an exact release is the version of the resolver's rules too ----------------------------------------------

_FLASH_ATTN_ON_T4 = "vllm serve Qwen/Qwen3-1.7B --dtype float16 --attention-backend FLASH_ATTN\n"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("Dockerfile", 'FROM vllm/vllm-openai:v0.13.0\nCMD ["Qwen/Qwen3-1.7B", "--dtype", "float16", '
         '"--attention-backend", "FLASH_ATTN"]\n'),
        ("run.sh", f"pip install vllm==0.13.0\n{_FLASH_ATTN_ON_T4}"),
    ],
)  # fmt: skip
def test_a_rule_the_stated_release_refuses_fails_as_the_launch_in_it_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    # vLLM 0.13.0 refuses FLASH_ATTN before compute capability 8.0 (earlier releases fell back): the launcher in
    # that image knows its version and refuses, so the check of the file that names it must fail, not warn.
    code, out = run_check(tmp_path, capsys, name, text, "--hardware", "T4", "--json")
    (result,) = json.loads(out)["results"]
    refused = [f["origin"] for f in result["findings"] if f["severity"] == "refuse"]
    assert code == EXIT_VERDICT_NO and refused == ["vllm-rule:attention-backend-flash-attn-pre-ampere"]
    assert not any("unknown here: the vLLM version" in note for note in result["notes"])


def test_a_stated_range_leaves_a_rule_of_some_of_its_releases_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = f"pip install 'vllm>=0.12'\n{_FLASH_ATTN_ON_T4}"
    code, out = run_check(tmp_path, capsys, "run.sh", script, "--hardware", "T4")
    assert code == EXIT_OK
    assert "warning: attention backend FLASH_ATTN (from --attention-backend) needs compute capability >= 8.0" in out


def test_a_release_older_than_the_flag_vocabulary_still_pins_the_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dockerfile = 'FROM vllm/vllm-openai:v0.7.1\nCMD ["Qwen/Qwen3-1.7B"]\n'
    code, out = run_check(tmp_path, capsys, "Dockerfile", dockerfile, "--hardware", "H100", "--json")
    (result,) = json.loads(out)["results"]
    assert code == EXIT_OK
    assert any(
        "so the flags are judged against every known release, and the engine's rules as vLLM 0.7.1 applies them" in note
        for note in result["notes"]
    )


_TOO_OLD_REGISTRY = """\
schema: known_good_config_v1
models:
  - model: Qwen/Qwen3-1.7B
    engine: vllm
    required_flags:
      - refuse: vLLM older than 0.17.0 does not know this model's architecture
        fix: install vLLM >= 0.17.0
        severity: boot-blocker
        why: the architecture landed in 0.17.0.
        applies_when: {engine_version: '<0.17.0'}
"""


@pytest.mark.parametrize(
    ("image", "verdict"),
    [("vllm/vllm-openai:v0.11.2", "fail"), ("vllm/vllm-openai:v0.17.0", "pass"), ("vllm/vllm-openai:latest", "pass")],
)
def test_a_registry_refusal_the_pinned_release_decides_fails_as_the_launch_in_it_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], image: str, verdict: str
) -> None:
    # Unknown, the version leaves a `refuse` requirement undecided; the launcher in the pinned image knows it.
    registry = tmp_path / "registry.yaml"
    registry.write_text(_TOO_OLD_REGISTRY)
    deployment = tmp_path / "deploy.yaml"
    deployment.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec:\n  containers:\n    - name: vllm\n"
        f"      image: {image}\n      command: [vllm, serve, Qwen/Qwen3-1.7B]\n"
    )
    code = cli.main(["check", "--registry", str(registry), "--deploy-file", str(deployment), "--json"])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["verdict"] == verdict and code == (EXIT_VERDICT_NO if verdict == "fail" else EXIT_OK)
    if verdict == "fail":
        assert [f["fix"] for f in result["findings"] if f["severity"] == "refuse"] == ["install vLLM >= 0.17.0"]
