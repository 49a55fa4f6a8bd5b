"""`kgc-launch check --deploy-file`: deploy files parsed, each launch checked, reported in four formats."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from kgc_launch import cli
from kgc_launch.errors import EXIT_INPUT, EXIT_OK, EXIT_USAGE, EXIT_VERDICT_NO
from testing.registry_files import DEPLOY_REGISTRY, write_registry
from testing.sarif import validate_sarif

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "deploy"
K8S = DATA / "check" / "k8s"
MISSING = K8S / "qwen36-missing-flag.yaml"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    return write_registry(tmp_path, DEPLOY_REGISTRY)


def check(registry: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(["check", "--registry", str(registry), *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out


def check_json(registry: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out = check(registry, capsys, *args, "--json")
    return code, json.loads(out)


def verdicts(document: dict[str, Any]) -> dict[str, str]:
    return {result["launch"]["object"]: result["verdict"] for result in document["results"]}


def test_a_container_without_a_required_flag_fails_at_its_line(
    registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(registry, capsys, "--deploy-file", str(MISSING), "--hardware", "H100")
    assert code == EXIT_VERDICT_NO
    lines = out.splitlines()
    assert f"{MISSING}:26: Deployment/qwen36-27b/vllm (vllm, Qwen/Qwen3.6-27B-FP8): FAIL" in lines
    assert "  missing --max-num-seqs 512 (error): [boot-blocker] Each decoding sequence needs one Mamba cache " in out
    assert "metrics-exporter" not in out  # the sidecar is not an engine
    assert (
        "1 launch in 1 file: 0 pass, 1 fail, 0 not evaluated; files: 1 with launches, 0 without, 0 not evaluated"
        in lines
    )
    assert lines[-2:] == [f"{MISSING}:26: Deployment/qwen36-27b/vllm:", "--max-num-seqs 512"]  # paste-ready, last


def test_the_registry_scope_follows_the_hardware(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Without --hardware the GPU scope cannot be decided, so the requirement applies (fail-closed).
    assert check(registry, capsys, "--deploy-file", str(MISSING))[0] == EXIT_VERDICT_NO
    code, document = check_json(registry, capsys, "--deploy-file", str(MISSING), "--hardware", "L40S")
    assert code == EXIT_OK and verdicts(document) == {"Deployment/qwen36-27b/vllm": "pass"}


def test_a_flag_built_from_the_containers_environment_passes(
    registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = K8S / "qwen36-flag-from-env.yaml"
    code, document = check_json(registry, capsys, "--deploy-file", str(path), "--hardware", "H100")
    (result,) = document["results"]
    assert code == EXIT_OK and result["verdict"] == "pass" and "--max-num-seqs=256" in result["launch"]["args"]


def test_a_value_the_file_does_not_hold_is_not_evaluated(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(registry, capsys, "--deploy-file", str(K8S / "qwen36-flag-from-configmap.yaml"))
    assert code == EXIT_INPUT and "ERROR" in out
    assert "not evaluated: the registry requires --max-num-seqs 512 (boot-blocker), and the launch sets " in out
    assert "$(MAX_NUM_SEQS), whose value is not in the file" in out
    l40s = str(K8S / "llama-70b-l40s.yaml")
    code, document = check_json(registry, capsys, "--deploy-file", l40s)
    (result,) = document["results"]
    assert code == EXIT_INPUT and result["verdict"] == "error"
    assert "the value of NCCL_P2P_DISABLE is not in the file (from ConfigMap nccl-tuning" in result["error"]
    assert result["launch"]["env"]["NCCL_P2P_DISABLE"] == {"unknown": "from ConfigMap nccl-tuning (key p2p-disable)"}
    # --env says what the ConfigMap holds
    assert check(registry, capsys, "--deploy-file", l40s, "--env", "NCCL_P2P_DISABLE=1")[0] == EXIT_OK
    assert check(registry, capsys, "--deploy-file", l40s, "--env", "NCCL_P2P_DISABLE=0")[0] == EXIT_VERDICT_NO


def test_a_t4_node_pool_refuses_bfloat16(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(K8S / "t4-bf16.yaml")
    code, document = check_json(registry, capsys, "--deploy-file", path, "--hardware", "T4")
    (result,) = document["results"]
    assert code == EXIT_VERDICT_NO and result["verdict"] == "fail"
    (refusal,) = result["refusals"]
    assert refusal["fix"] == "--dtype half" and refusal["source"] == "vLLM rule dtype-bf16-explicit-pre-ampere"
    assert "Tesla T4 has 7.5" in refusal["message"] and result["fix"] == "--dtype half"
    assert check(registry, capsys, "--deploy-file", path, "--hardware", "L4")[0] == EXIT_OK
    assert check(registry, capsys, "--deploy-file", path)[0] == EXIT_OK  # no --hardware: no resolver


@pytest.mark.parametrize("hardware", ["H100", "8xH100-SXM"])
def test_tensor_parallel_over_more_gpus_than_the_pod_requests(
    registry: Path, capsys: pytest.CaptureFixture[str], hardware: str
) -> None:
    code, out = check(registry, capsys, "--deploy-file", str(K8S / "tp-over-gpus.yaml"), "--hardware", hardware)
    assert code == EXIT_VERDICT_NO
    assert "  refused (vLLM rule parallel-exceeds-visible-gpus): --tensor-parallel-size 4 x " in out
    assert "needs 4 GPUs; 2 visible" in out and out.splitlines()[-1] == "--tensor-parallel-size 2"


def test_a_compose_file(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "check" / "compose" / "compose.yaml"
    code, document = check_json(registry, capsys, "--deploy-file", str(path), "--hardware", "H100")
    assert code == EXIT_VERDICT_NO and verdicts(document) == {"service qwen36": "pass", "service llama": "fail"}
    llama = document["results"][1]
    assert llama["launch"]["line"] == 19 and llama["launch"]["gpus"] == 1  # where its `command` starts
    assert llama["launch"]["container_line"] == 17  # the service
    assert "needs 2 GPUs; 1 visible" in llama["refusals"][0]["message"]


def test_dockerfiles(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(registry, capsys, "--deploy-file", str(DATA / "docker" / "Dockerfile"))
    assert code == EXIT_OK and "Dockerfile:15: final stage serve (of 2) (vllm, Qwen/Qwen3-8B): PASS" in out
    shell_form = str(DATA / "docker" / "Dockerfile.shell")
    code, out = check(registry, capsys, "--deploy-file", shell_form)
    assert code == EXIT_VERDICT_NO and out.splitlines()[-1] == "NCCL_P2P_DISABLE=1"
    # On H100s the L40S requirement does not apply; no GPU count in a Dockerfile: the preset's 4 are used.
    assert check(registry, capsys, "--deploy-file", shell_form, "--hardware", "4xH100-SXM")[0] == EXIT_OK


def test_a_shell_script_and_its_environment(registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "serve.sh"
    script.write_text(
        "#!/bin/sh\nset -eu\nexport NCCL_P2P_DISABLE=1\n"
        "exec vllm serve meta-llama/Llama-3.1-70B-Instruct \\\n  --tensor-parallel-size 4 --max-model-len 32768\n"
    )
    code, document = check_json(registry, capsys, "--deploy-file", str(script), "--hardware", "4xL40S")
    (result,) = document["results"]
    assert code == EXIT_OK and result["launch"]["line"] == 4 and result["launch"]["env"] == {"NCCL_P2P_DISABLE": "1"}
    # vLLM's default context (131072) does not fit next to the weights on L40S: a refusal with a fix ...
    script.write_text(script.read_text().replace(" --max-model-len 32768", ""))
    code, out = check(registry, capsys, "--deploy-file", str(script), "--hardware", "4xL40S")
    assert code == EXIT_VERDICT_NO and "refused (vLLM rule kv-cache-does-not-fit)" in out
    assert out.splitlines()[-1].startswith("--max-model-len ")
    # ... but when the length comes from the caller's environment, the check cannot tell (fail-closed: exit 3)
    script.write_text(script.read_text().replace("-size 4", "-size 4 --max-model-len $MAX_LEN"))
    code, out = check(registry, capsys, "--deploy-file", str(script), "--hardware", "4xL40S")
    assert code == EXIT_INPUT and "not evaluated: vLLM would refuse with --max-model-len's default" in out
    assert "the file sets --max-model-len from a value it does not hold ($MAX_LEN)" in out


def test_a_broken_yaml_file_is_named_with_its_line(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = DATA / "broken" / "broken.yaml"
    code, out = check(registry, capsys, "--deploy-file", str(broken))
    assert code == EXIT_INPUT and f"{broken}:12: invalid YAML: expected ',' or ']'" in out
    # A failing launch elsewhere decides the exit code; the unreadable file is still reported.
    code, document = check_json(registry, capsys, "--deploy-file", str(broken), str(MISSING))
    assert code == EXIT_VERDICT_NO and document["errors"][0]["line"] == 12


def test_a_directory_with_skipped_files(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = check_json(registry, capsys, "--deploy-file", str(K8S), "--hardware", "H100")
    assert code == EXIT_VERDICT_NO  # a failure outranks the launches that could not be evaluated
    assert document["summary"] == {
        "launches": 6, "pass": 3, "fail": 2, "error": 1, "hardware_not_evaluated": 2, "files_scanned": 6,
        "files_skipped": 2, "files_with_launches": 6, "files_without_launch": 1, "files_not_evaluated": 0,
        "files_unreadable": 0, "paths_without_launches": 0,
    }  # fmt: skip
    assert document["check"]["hardware"] == "H100 (--hardware)"
    assert document["check"]["registry"].endswith("(--registry)")


def test_a_glob(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = check_json(registry, capsys, "--deploy-file", f"{K8S}/qwen36-*.yaml", "--hardware", "H100")
    assert code == EXIT_VERDICT_NO and sorted(verdicts(document).values()) == ["error", "fail", "pass"]
    assert [path["launches"] for path in document["paths"]] == [3]


def test_a_path_without_launches(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    web = str(K8S / "web-frontend.yaml")
    code, out = check(registry, capsys, "--deploy-file", web)
    assert code == EXIT_INPUT and f"{web}: no engine launch found (1 file looked at)" in out
    assert "--no-launch-ok makes this a note" in out
    code, out = check(registry, capsys, "--deploy-file", web, "--no-launch-ok")
    assert code == EXIT_OK and f"note: {web}: no engine launch found" in out


def test_pre_commit_runs_entry_then_args_then_file_names(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What pre-commit runs: the hook's `entry`, the repository's `args`, then the staged files."""
    (hook,) = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    config = YAML(typ="safe").load((ROOT / "docs" / "examples" / "pre-commit-config.yaml").read_text())
    args = config["repos"][0]["hooks"][0]["args"] + [f"--registry={registry}"]
    workflow = tmp_path / "ci.yml"
    workflow.write_text("on: [push]\njobs: {test: {runs-on: ubuntu-latest, steps: [{run: make}]}}\n")
    staged = [str(MISSING), str(K8S / "web-frontend.yaml"), str(workflow)]
    argv = shlex.split(hook["entry"])[1:] + args + staged
    code = cli.main(argv)
    out = capsys.readouterr().out
    assert code == EXIT_VERDICT_NO and "hardware: 8xH100-SXM" in out
    assert f"{MISSING}:26: Deployment/qwen36-27b/vllm (vllm, Qwen/Qwen3.6-27B-FP8): FAIL" in out
    assert f"note: {workflow}: no engine launch found" in out
    assert cli.main(argv[: -len(staged)] + staged[1:]) == EXIT_OK  # only files that are not deployments


def test_file_names_may_follow_the_options(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = check_json(
        registry, capsys, "--deploy-file", "--hardware=H100", str(MISSING), str(K8S / "t4-bf16.yaml")
    )
    assert code == EXIT_VERDICT_NO and len(document["results"]) == 2
    code, document = check_json(
        registry, capsys, "--deploy-file", str(MISSING), "--hardware", "H100", str(K8S / "t4-bf16.yaml")
    )
    assert code == EXIT_VERDICT_NO and len(document["results"]) == 2


def test_json_report_shape(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = check_json(registry, capsys, "--deploy-file", str(MISSING), "--hardware", "H100")
    assert code == EXIT_VERDICT_NO
    assert set(document) == {
        "version", "tool", "check", "summary", "results", "errors", "notes", "skipped", "paths", "files",
    }  # fmt: skip
    (result,) = document["results"]
    assert set(result) == {
        "launch", "verdict", "missing", "refusals", "warnings", "error", "notes", "fix", "model", "model_source",
        "hardware", "findings",
    }  # fmt: skip
    assert (result["launch"]["file"], result["launch"]["line"], result["launch"]["gpus"]) == (str(MISSING), 26, 1)
    assert result["missing"][0]["flag"] == "--max-num-seqs 512" and result["missing"][0]["severity"] == "error"
    assert result["fix"] == "--max-num-seqs 512"
    # The findings say the same in the launch's vocabulary; `missing` is their view.
    (missing,) = [finding for finding in result["findings"] if finding["origin"].startswith("registry:")]
    assert (missing["severity"], missing["rule_id"], missing["fix"]) == (
        "refuse",
        "--max-num-seqs 512",
        "--max-num-seqs 512",
    )
    assert any("HF_TOKEN (from Secret hf-token (key token))" in note for note in result["notes"])


def test_sarif_report(registry: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    paths = [str(MISSING.relative_to(ROOT)), str((K8S / "t4-bf16.yaml").relative_to(ROOT))]
    code, out = check(registry, capsys, "--deploy-file", *paths, "--hardware", "T4", "--format", "sarif")
    document = json.loads(out)
    validate_sarif(document)
    results = document["runs"][0]["results"]
    # no H100 here: no flag missing; the Qwen launch's model facts are not known here (a warning of its own)
    assert code == EXIT_VERDICT_NO and [r["ruleId"] for r in results] == ["KGC008", "KGC007"]
    (location,) = results[1]["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "tests/data/deploy/check/k8s/t4-bf16.yaml"},
        "region": {"startLine": 15},  # the args that start the engine on the image's `vllm serve`
    }
    assert "Fix: --dtype half" in results[1]["message"]["text"]
    assert document["runs"][0]["properties"]["hardware"] == "T4 (--hardware)"
    code, out = check(registry, capsys, "--deploy-file", *paths, "--hardware", "H100", "--format", "sarif")
    assert [r["ruleId"] for r in json.loads(out)["runs"][0]["results"]] == ["KGC001", "KGC008"]


def test_github_report(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(registry, capsys, "--deploy-file", str(MISSING), "--hardware", "H100", "--format", "github")
    assert code == EXIT_VERDICT_NO
    (annotation,) = [line for line in out.splitlines() if line.startswith("::")]
    assert annotation.startswith(f"::error file={MISSING},line=26,title=kgc-launch%3A missing --max-num-seqs 512::")
    assert "Deployment/qwen36-27b/vllm: [boot-blocker] Each decoding sequence" in annotation
    assert annotation.endswith("Fix: --max-num-seqs 512")


def test_the_model_comes_from_the_file_or_from_model(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: cfg}\nspec:\n  containers:\n    - name: vllm\n"
        "      image: vllm/vllm-openai:v0.11.0\n      args: [--config, /etc/vllm/serve.yaml]\n"
    )
    code, out = check(registry, capsys, "--deploy-file", str(pod))
    assert code == EXIT_INPUT and "not evaluated: the model is not known (no model on the command line; " in out
    assert "pass --model ID" in out
    code, out = check(registry, capsys, "--deploy-file", str(pod), "--model", "Qwen/Qwen3.6-27B-FP8")
    assert code == EXIT_VERDICT_NO and out.splitlines()[-1] == "--max-num-seqs 512"
    # --model overrides what the file names
    code, _ = check(registry, capsys, "--deploy-file", str(K8S / "t4-bf16.yaml"), "--model", "Qwen/Qwen3.6-27B-FP8")
    assert code == EXIT_VERDICT_NO


def test_a_ferrum_launch_runs_the_ferrum_resolver(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (DATA / "cronjob-and-list.yaml").read_text()
    good = tmp_path / "good.yaml"
    good.write_text(text)
    code, document = check_json(registry, capsys, "--deploy-file", str(good), "--hardware", "H100")
    assert verdicts(document)["StatefulSet/ferrum-qwen/ferrum"] == "pass"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace('value: "2048"', 'value: "lots"'))
    code, document = check_json(registry, capsys, "--deploy-file", str(bad), "--hardware", "H100")
    ferrum = next(r for r in document["results"] if r["launch"]["engine"] == "ferrum")
    assert code == EXIT_VERDICT_NO and [r["source"] for r in ferrum["refusals"]] == ["ferrum resolver"]
    assert "FERRUM_KV_MAX_BLOCKS: invalid override" in ferrum["refusals"][0]["message"]
    # the registry's env requirement on the same variable fails too: 'lots' is not 2048
    assert [m["flag"] for m in ferrum["missing"]] == ["FERRUM_KV_MAX_BLOCKS=2048"]


def test_kgc_launch_options_in_the_file_apply(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = check_json(registry, capsys, "--deploy-file", str(DATA / "kgc-wrapped.yaml"))
    (result,) = document["results"]
    assert code == EXIT_VERDICT_NO and result["refusals"][0]["source"] == "registry"
    assert "registration is required" in result["refusals"][0]["message"]


def test_each_model_is_read_once_and_the_registry_loaded_once(
    registry: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kgc_launch.commands import _registry_args
    from kgc_launch.model import metadata

    reads: list[str] = []
    loads: list[object] = []
    read_model, load_registry = metadata.read_model, _registry_args.load_registry
    monkeypatch.setattr(metadata, "read_model", lambda model, **kw: reads.append(model) or read_model(model, **kw))
    monkeypatch.setattr(_registry_args, "load_registry", lambda path: loads.append(path) or load_registry(path))
    _, document = check_json(registry, capsys, "--deploy-file", str(K8S), str(K8S), "--hardware", "H100")
    assert len(document["results"]) == 6 and len(loads) == 1
    assert sorted(reads) == [  # Qwen3.6 serves three of the launches; each model is read once
        "Qwen/Qwen2.5-1.5B-Instruct", "Qwen/Qwen3.6-27B-FP8", "meta-llama/Llama-3.1-70B-Instruct",
        "meta-llama/Llama-3.1-8B-Instruct",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--deploy-file"], "--deploy-file needs at least one PATH"),
        (["--deploy-file", "k8s/", "--engine", "ferrum"], "--engine is only with --serve-args"),
        (["--deploy-file", "k8s/", "--json", "--format", "sarif"], "--json and --format sarif disagree"),
        (["--serve-args", "M", "--model", "M", "--format", "github"], "--format github is only with --deploy-file"),
        (["--serve-args", "M", "--model", "M", "k8s/"], "FILE arguments are only with --deploy-file"),
        (["--serve-args", "M", "--model", "M", "--no-launch-ok"], "--no-launch-ok is only with --deploy-file"),
        (["--serve-args", "M"], "--serve-args needs --model ID"),
        (["--deploy-file", "k8s/", "--serve-args", "M"], "not allowed with argument"),
    ],
)
def test_usage_errors(registry: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code = cli.main(["check", "--registry", str(registry), *args])
    assert code == EXIT_USAGE and message in capsys.readouterr().err


# -- a launch through kgc-launch is judged as that kgc-launch would judge it (issue 12, item 4) ----------


def _wrapped_script(tmp_path: Path, options: str, engine_args: str, env: str = "") -> Path:
    script = tmp_path / "serve.sh"
    script.write_text(f"#!/bin/sh\n{env}exec kgc-launch {options} -- vllm serve {engine_args}\n")
    return script


def test_the_launchs_own_hardware_replaces_the_checks(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _wrapped_script(tmp_path, "--hardware 2xL40S", "meta-llama/Llama-3.1-8B-Instruct -tp 4")
    for hardware in ([], ["--hardware", "8xH100-SXM"]):  # without a --hardware of the check's, or with another
        code, document = check_json(registry, capsys, "--deploy-file", str(script), *hardware)
        (result,) = document["results"]
        assert code == EXIT_VERDICT_NO and "needs 4 GPUs; 2 visible" in result["refusals"][0]["message"], result
        assert any(
            note.startswith("hardware: 2xL40S (--hardware), as its kgc-launch is told") for note in result["notes"]
        )
    # the registry's scope follows it too: the L40S requirement of Llama-3.1-70B applies
    script = _wrapped_script(tmp_path, "--hardware 4xL40S", "meta-llama/Llama-3.1-70B-Instruct -tp 4")
    code, document = check_json(registry, capsys, "--deploy-file", str(script))
    assert [m["flag"] for m in document["results"][0]["missing"]] == ["NCCL_P2P_DISABLE=1"]


def test_the_launchs_own_registry_is_used_where_it_can_be_read(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = "schema: known_good_config_v1\nmodels: []\n"
    own = write_registry(tmp_path, empty, name="own.yaml")
    script = _wrapped_script(tmp_path, f"--registry {own} --require-registered", "Qwen/Qwen3-8B")
    code, document = check_json(registry, capsys, "--deploy-file", str(script))
    (result,) = document["results"]  # not registered in its own registry (the check's has Qwen3-8B)
    assert code == EXIT_VERDICT_NO and "registration is required" in result["refusals"][0]["message"]
    assert f"registry: {own}, as its kgc-launch is told (instead of the check's)" in result["notes"]
    script = _wrapped_script(tmp_path, "", "Qwen/Qwen3-8B", env=f"KNOWN_GOOD_CONFIG_REGISTRY={registry} ")
    code, document = check_json(own, capsys, "--deploy-file", str(script))  # the check's registry is the empty one
    assert code == EXIT_VERDICT_NO and [m["flag"] for m in document["results"][0]["missing"]] == [
        "--enable-prefix-caching"
    ]


def test_a_registry_inside_the_container_is_not_evaluated(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _wrapped_script(tmp_path, "--registry /etc/kgc/nowhere.yaml", "Qwen/Qwen3-8B --enable-prefix-caching")
    code, document = check_json(registry, capsys, "--deploy-file", str(script))
    (result,) = document["results"]
    assert code == EXIT_INPUT and result["verdict"] == "error"
    assert (
        result["error"] == "not evaluated: registry /etc/kgc/nowhere.yaml is inside the container (not readable here)"
    )
    script = _wrapped_script(tmp_path, "--hardware /etc/kgc/node.json", "Qwen/Qwen3-8B --enable-prefix-caching")
    code, document = check_json(registry, capsys, "--deploy-file", str(script))
    assert (
        code == EXIT_INPUT
        and "hardware file /etc/kgc/node.json is inside the container" in (document["results"][0]["error"])
    )


def test_launch_options_after_the_engine_fail_as_the_launcher_stops(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _wrapped_script(tmp_path, "--quiet", "Qwen/Qwen3-8B --enable-prefix-caching --dry-run")
    code, document = check_json(registry, capsys, "--deploy-file", str(script))
    (result,) = document["results"]
    assert code == EXIT_VERDICT_NO and result["refusals"][0]["message"] == (
        "kgc-launch would stop (exit 2): launch options go before the engine: "
        "kgc-launch --quiet --dry-run -- vllm serve Qwen/Qwen3-8B --enable-prefix-caching"
    )


def test_the_launchs_engine_option_names_its_engine(
    registry: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "serve.sh"
    script.write_text("exec kgc-launch --engine vllm -- /opt/venv/bin/my-vllm serve Qwen/Qwen3-8B\n")
    code, document = check_json(registry, capsys, "--deploy-file", str(script))
    (result,) = document["results"]
    assert code == EXIT_VERDICT_NO and result["launch"]["engine"] == "vllm"
    assert [m["flag"] for m in result["missing"]] == ["--enable-prefix-caching"]


def test_what_vllms_own_parser_rejects_fails_without_hardware_too(
    registry: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The flag vocabulary judges the arguments with or without --hardware: a flag vLLM never accepts fails,
    and a value the file does not hold (set when the container starts) is a note, not a verdict."""
    script = tmp_path / "serve.sh"
    script.write_text("vllm serve Org/Dense-8B --tensor-paralel-size 2 --port $PORT\n")
    code, out = check(registry, capsys, "--deploy-file", str(script))
    assert code == EXIT_VERDICT_NO and ": FAIL" in out
    assert "--tensor-paralel-size" in out and "fix: --tensor-parallel-size" in out
    assert "not checked: --port '$PORT'" in out or "not checked: --port $PORT" in out


def test_an_awq_method_on_an_unquantized_checkpoint_fails_without_hardware_too(
    registry: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """stusynakowski/local_llm_server: `--quantization awq` on meta-llama/Llama-3.3-70B-Instruct (the shipped
    catalog's config has no quantization_config): vLLM stops loading ('Cannot find the config file for awq')."""
    script = tmp_path / "serve.sh"
    script.write_text("vllm serve meta-llama/Llama-3.3-70B-Instruct --quantization awq\n")
    code, out = check(registry, capsys, "--deploy-file", str(script))
    assert code == EXIT_VERDICT_NO and ": FAIL" in out
    assert "but meta-llama/Llama-3.3-70B-Instruct (catalog) has neither" in out
    script.write_text("vllm serve meta-llama/Llama-3.3-70B-Instruct --quantization fp8\n")  # quantized as it loads
    code, out = check(registry, capsys, "--deploy-file", str(script))
    assert "has neither" not in out


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("", EXIT_INPUT),  # no version known: older releases start it, the newest refuses it
        ("docker run --gpus all vllm/vllm-openai:latest meta-llama/Llama-3.1-8B-Instruct --swap-space 4\n", EXIT_INPUT),
        ("pip install vllm==0.11.2\n", EXIT_OK),  # a release that accepts it
        ("pip install 'vllm>=0.20'\n", EXIT_VERDICT_NO),  # no allowed release accepts it
    ],
)
def test_an_option_the_newest_release_refuses_is_not_evaluated_without_a_version(
    registry: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, statement: str, expected: int
) -> None:
    """Six of 32 real scripts read for the corpus pass a flag vLLM dropped (`--swap-space`, `--task`) and state
    no version: a PASS would be false on today's vLLM, a FAIL false on the release they were written for."""
    script = tmp_path / "serve.sh"
    launch = "" if statement.startswith("docker") else "vllm serve meta-llama/Llama-3.1-8B-Instruct --swap-space 4\n"
    script.write_text(statement + launch)
    code, out = check(registry, capsys, "--deploy-file", str(script))
    assert code == expected, out
    said = "--swap-space is accepted by vLLM 0.8.0-0.17.1 but not by 0.18.1-0.33.0; the newest, 0.33.0, refuses it"
    assert (said in out and "no vLLM version is known for this launch" in out) == (expected == EXIT_INPUT)
    code, out = check(registry, capsys, "--deploy-file", str(script), "--engine-version", "0.11.2")
    assert code == EXIT_OK, out
