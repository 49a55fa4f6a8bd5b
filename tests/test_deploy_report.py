from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kgc_launch.deploy.launch import Launch, Unknown
from kgc_launch.deploy.report import (
    FIX_LABEL,
    FORMATS,
    LaunchResult,
    artifact_uri,
    format_report,
    report_exit_code,
)
from kgc_launch.deploy.scan import ScanResult, scan_paths
from kgc_launch.errors import EXIT_INPUT, EXIT_OK, EXIT_VERDICT_NO
from kgc_launch.findings import Finding, finding_text, format_refusal
from testing.sarif import validate_sarif

DATA = Path(__file__).parent / "data" / "deploy"


def launch(file: str = "k8s/llama.yaml", line: int | None = 30, **kwargs: Any) -> Launch:
    defaults: dict[str, Any] = {
        "object": "Deployment/llama/vllm",
        "source": "kubernetes",
        "engine": "vllm",
        "args": ["meta-llama/Llama-3.1-8B-Instruct", "-tp", "4"],
        "env": {"HF_TOKEN": Unknown("from Secret hf (key token)")},
        "gpus": 4,
    }
    return Launch(file=file, line=line, **{**defaults, **kwargs})


def results() -> list[LaunchResult]:
    """Hand-built results of every shape: pass, fail with an error and a warning flag, error, warnings."""
    return [
        LaunchResult(launch(file="k8s/ok.yaml", line=12, object="Deployment/ok/vllm"), "pass"),
        LaunchResult(
            launch(),
            "fail",
            findings=[
                Finding(
                    "refuse",
                    "custom all-reduce hangs on PCIe boxes (vllm#8410)",
                    fix="add --disable-custom-all-reduce to the container args",
                    origin="registry",
                    rule_id="--disable-custom-all-reduce",
                ),
                Finding(
                    "warn",
                    "max-model-len 131072, more than fits: 100, 50% of the KV cache",
                    origin="vllm-rule",
                    rule_id="kv-cache-tight",
                ),
                Finding(
                    "warn",
                    "P2P over PCIe, vllm#14025",
                    fix="set it in env",
                    origin="registry",
                    rule_id="NCCL_P2P_DISABLE=1",
                ),
            ],
        ),
        LaunchResult(
            launch(file="compose.yaml", line=None, object="service x", source="compose", args=["$(MODEL)"]),
            "error",
            error="the model is built from $(MODEL), whose value is not known here",
        ),
    ]


def broken_scan(tmp_path: Path) -> ScanResult:
    broken = tmp_path / "k8s" / "broken.yaml"
    broken.parent.mkdir()
    broken.write_text("apiVersion: v1\nkind: Pod\nimage: vllm: x\nspec: {}\n")
    (tmp_path / "empty").mkdir()
    return scan_paths([str(broken), str(DATA / "lws-vllm.yaml"), str(tmp_path / "empty")])


def test_sarif_is_valid_and_places_every_finding(tmp_path: Path) -> None:
    scan = broken_scan(tmp_path)
    document = json.loads(format_report(results(), "sarif", scan=scan))
    validate_sarif(document)
    found = [
        (r["ruleId"], r["level"], r.get("locations", [{}])[0].get("physicalLocation", {}))
        for r in document["runs"][0]["results"]
    ]
    assert [(rule, level) for rule, level, _ in found] == [
        ("KGC001", "error"), ("KGC001", "warning"), ("KGC002", "warning"), ("KGC003", "error"),  # the launches
        ("KGC004", "error"), ("KGC005", "note"), ("KGC006", "warning"),  # the scan: broken file, worker note, empty dir
    ]  # fmt: skip
    assert found[0][2] == {"artifactLocation": {"uri": "k8s/llama.yaml"}, "region": {"startLine": 30}}
    assert found[3][2] == {"artifactLocation": {"uri": "compose.yaml"}}  # no line: no region
    assert found[4][2]["region"] == {"startLine": 3}
    assert "missing --disable-custom-all-reduce" in document["runs"][0]["results"][0]["message"]["text"]
    origins = [r.get("properties", {}).get("origin") for r in document["runs"][0]["results"]]
    assert origins == [
        "registry:--disable-custom-all-reduce", "registry:NCCL_P2P_DISABLE=1", "vllm-rule:kv-cache-tight",
        None, None, None, None,  # not findings: not evaluated, the scan's
    ]  # fmt: skip


def test_validator_catches_what_the_schema_refuses() -> None:
    document = json.loads(format_report(results(), "sarif"))
    document["runs"][0]["results"][0]["region"] = {"startLine": 1}  # not a property of a result
    with pytest.raises(AssertionError):
        validate_sarif(document)
    document = json.loads(format_report(results(), "sarif"))
    document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(AssertionError):
        validate_sarif(document)


def test_github_workflow_commands_escape_and_locate(tmp_path: Path) -> None:
    lines = format_report(results(), "github", scan=broken_scan(tmp_path)).splitlines()
    assert lines[0] == (
        "::error file=k8s/llama.yaml,line=30,title=kgc-launch%3A missing --disable-custom-all-reduce::"
        "Deployment/llama/vllm: custom all-reduce hangs on PCIe boxes (vllm#8410). "
        "Fix: add --disable-custom-all-reduce to the container args"
    )
    assert lines[1].startswith("::warning file=k8s/llama.yaml,line=30,title=kgc-launch%3A missing NCCL_P2P_DISABLE=1::")
    assert lines[2].endswith("fits: 100, 50%25 of the KV cache")  # `%` in a message is written %25
    assert lines[3].startswith("::error file=compose.yaml,title=kgc-launch%3A launch not evaluated::service x")
    assert lines[4].startswith(f"::error file={tmp_path}/k8s/broken.yaml,line=3,title=kgc-launch%3A cannot read::")
    assert lines[5].startswith("::notice file=") and "vllm-worker" in lines[5]
    assert lines[6].startswith("::warning title=kgc-launch%3A no launch::") and "empty" in lines[6]
    assert lines[-1] == (
        "3 launches in 3 files: 1 pass, 1 fail, 1 not evaluated; "
        "files: 1 with launches, 0 without, 1 not evaluated (1 could not be read)"
    )


def test_text_report_reads_like_a_compiler(tmp_path: Path) -> None:
    text = format_report(results(), "text", scan=broken_scan(tmp_path))
    assert "k8s/ok.yaml:12: Deployment/ok/vllm (vllm, meta-llama/Llama-3.1-8B-Instruct): PASS" in text
    assert "  missing --disable-custom-all-reduce (error): custom all-reduce hangs" in text
    assert "    fix: add --disable-custom-all-reduce to the container args" in text
    assert "compose.yaml: service x (vllm, model unknown: the model is built from" in text
    assert f"{tmp_path}/k8s/broken.yaml:3: invalid YAML" in text
    assert f"{tmp_path}/empty: no engine launch found (0 files looked at)" in text


def test_json_report_round_trips_launches_and_scan_counts(tmp_path: Path) -> None:
    document = json.loads(format_report(results(), "json", scan=broken_scan(tmp_path)))
    assert document["summary"] == {
        "launches": 3, "pass": 1, "fail": 1, "error": 1, "hardware_not_evaluated": 0, "files_scanned": 2,
        "files_skipped": 0, "files_with_launches": 1, "files_without_launch": 0, "files_not_evaluated": 1,
        "files_unreadable": 1, "paths_without_launches": 1,
    }  # fmt: skip
    failing = document["results"][1]
    assert failing["verdict"] == "fail" and failing["launch"]["env"]["HF_TOKEN"] == {
        "unknown": "from Secret hf (key token)"
    }
    assert failing["missing"][0] == {
        "flag": "--disable-custom-all-reduce",
        "severity": "error",
        "why": "custom all-reduce hangs on PCIe boxes (vllm#8410)",
        "fix": "add --disable-custom-all-reduce to the container args",
    }
    assert failing["warnings"] == ["max-model-len 131072, more than fits: 100, 50% of the KV cache"]
    assert [finding["origin"] for finding in failing["findings"]] == [
        "registry:--disable-custom-all-reduce", "vllm-rule:kv-cache-tight", "registry:NCCL_P2P_DISABLE=1"
    ]  # fmt: skip
    assert document["errors"][0]["line"] == 3 and [p["launches"] for p in document["paths"]] == [0, 1, 0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_without_a_scan(fmt: str) -> None:
    assert format_report(results(), fmt).endswith("\n")  # type: ignore[arg-type]


def test_exit_codes(tmp_path: Path) -> None:
    passing, failing, not_evaluated = results()
    assert report_exit_code([passing]) == EXIT_OK
    assert report_exit_code([passing, failing, not_evaluated]) == EXIT_VERDICT_NO
    assert report_exit_code([passing, not_evaluated]) == EXIT_INPUT
    assert report_exit_code([passing], broken_scan(tmp_path)) == EXIT_INPUT


def test_artifact_uris_are_relative_posix_and_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert artifact_uri("k8s/a b.yaml") == "k8s/a%20b.yaml"
    assert artifact_uri(str(tmp_path / "k8s" / "x.yaml")) == "k8s/x.yaml"
    assert artifact_uri("/elsewhere/x.yaml") == "file:///elsewhere/x.yaml"


def refused() -> LaunchResult:
    return LaunchResult(
        launch(file="k8s/t4.yaml", line=13, object="Deployment/t4/vllm"),
        "fail",
        findings=[
            Finding("refuse", "--dtype bfloat16 needs compute capability >= 8.0", "--dtype half", "vllm-rule", "bf16")
        ],
        notes=["values not in the file: HF_TOKEN (from Secret hf (key token))"],
        fix="--dtype half",
    )


def test_refusals_notes_and_the_paste_ready_line() -> None:
    text = format_report([results()[0], refused()], "text", about={"hardware": "T4"}).splitlines()
    assert text[0] == "hardware: T4"
    assert "  refused (vLLM rule bf16): --dtype bfloat16 needs compute capability >= 8.0" in text
    assert "  note: values not in the file: HF_TOKEN (from Secret hf (key token))" in text
    assert text[-3:] == [FIX_LABEL, "k8s/t4.yaml:13: Deployment/t4/vllm:", "--dtype half"]
    github = format_report([refused()], "github").splitlines()
    assert github[0] == (
        "::error file=k8s/t4.yaml,line=13,title=kgc-launch%3A would be refused::Deployment/t4/vllm: --dtype "
        "bfloat16 needs compute capability >= 8.0 (vLLM rule bf16). Fix: --dtype half"
    )
    sarif = json.loads(format_report([refused()], "sarif", about={"hardware": "T4"}))
    validate_sarif(sarif)
    assert [(r["ruleId"], r["properties"]) for r in sarif["runs"][0]["results"]] == [
        ("KGC007", {"origin": "vllm-rule:bf16"})
    ]
    (result,) = json.loads(format_report([refused()], "json"))["results"]
    assert result["findings"] == [finding.to_json() for finding in refused().findings]
    assert result["refusals"] == [
        {
            "message": "--dtype bfloat16 needs compute capability >= 8.0",
            "fix": "--dtype half",
            "source": "vLLM rule bf16",
        }
    ]


def test_paths_without_launches_can_be_notes(tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    scan = scan_paths([str(tmp_path / "none")])
    assert report_exit_code([], scan) == EXIT_INPUT and report_exit_code([], scan, empty_ok=True) == EXIT_OK
    assert report_exit_code([], broken_scan(tmp_path), empty_ok=True) == EXIT_INPUT  # a broken file still counts
    assert "hint: name the deploy files" in format_report([], "text", scan=scan)
    assert f"note: {tmp_path}/none: no engine launch found" in format_report([], "text", scan=scan, empty_ok=True)
    assert format_report([], "github", scan=scan, empty_ok=True).startswith("::notice title=kgc-launch%3A no launch::")
    (result,) = json.loads(format_report([], "sarif", scan=scan, empty_ok=True))["runs"][0]["results"]
    assert (result["ruleId"], result["level"]) == ("KGC006", "note")


def test_a_refusal_and_a_launch_refusal_share_the_line_of_a_finding() -> None:
    """The deploy report writes a finding as the launch's refusal does: message, then `fix:` under it."""
    (finding,) = refused().findings
    launch_block = format_refusal("vllm serve", [finding], None).splitlines()
    deploy_text = format_report([refused()], "text").splitlines()
    assert launch_block[1:3] == [
        "  - --dtype bfloat16 needs compute capability >= 8.0 [vllm-rule:bf16]",
        "      fix: --dtype half",
    ]
    assert deploy_text[1:3] == [
        "  refused (vLLM rule bf16): --dtype bfloat16 needs compute capability >= 8.0",
        "    fix: --dtype half",
    ]
    assert finding_text(finding) == "--dtype bfloat16 needs compute capability >= 8.0 (fix: --dtype half)"
