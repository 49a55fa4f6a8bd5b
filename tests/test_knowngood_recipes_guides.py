"""A recipe's own command must pass its own layer: 30 `vllm serve` commands from the recipes' guides, checked
against the shipped layer on the hardware the recipe verified; and a launch of a recipe model without a
boot-blocking flag it needs is refused, with the recipe as evidence, through the real CLI."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kgc_launch.commands._registry_args import hardware_scope
from kgc_launch.data import shipped_file
from kgc_launch.knowngood.check import check_launch
from kgc_launch.knowngood.load import load_registry
from kgc_launch.knowngood.registry import Registry
from kgc_launch.knowngood.scope import decide_scope
from kgc_launch.knowngood.spelling import parse_flags
from kgc_launch.vllm.args import parse_serve_args
from testing.fake_engine import make_fake_engine, read_record

COMMANDS = Path(__file__).parent / "data" / "recipes" / "guide_commands.jsonl"
RECORDS = [json.loads(line) for line in COMMANDS.read_text(encoding="utf-8").splitlines()]
MINISTRAL = "mistralai/Ministral-3-14B-Instruct-2512"
EVIDENCE = f"vllm-project/recipes models/{MINISTRAL}.yaml@8959cf64189c71d36e11c6a30335f923f261b1f7"


@pytest.fixture(scope="module")
def shipped() -> Registry:
    return load_registry(shipped_file("recipes-layer.yaml"), cache_dir=None)


def verdict(registry: Registry, record: dict[str, Any], drop: set[str] = frozenset()) -> Any:  # type: ignore[assignment]
    args = parse_serve_args(shlex.split(record["command"])[2:])
    for name in drop:
        args.options.pop(name, None)
    hardware = hardware_scope(record["hardware"])
    return check_launch(
        registry,
        model_ids=[args.model or ""],
        serve_args=args,
        env={},
        engine="vllm",
        engine_version=None,
        gpus=hardware.gpus,
        require_registered=True,
        gpu_memory_bytes=hardware.memory_bytes,
    )


def test_thirty_commands_from_thirty_recipes() -> None:
    assert len(RECORDS) == 30 and len({r["source"] for r in RECORDS}) == 30
    for record in RECORDS:
        assert record["command"].startswith(f"vllm serve {record['model']}")
        assert record["source"].startswith("vllm-project/recipes models/") and record["where"] == "guide"


@pytest.mark.parametrize("record", RECORDS, ids=[r["model"] for r in RECORDS])
def test_a_recipes_own_command_is_not_refused_by_its_layer(shipped: Registry, record: dict[str, Any]) -> None:
    report = verdict(shipped, record)
    assert report.registered and report.verdict == "pass", [m.flag for m in report.missing_required]


@pytest.mark.parametrize("record", RECORDS[:22], ids=[r["model"] for r in RECORDS[:22]])
def test_the_same_command_without_its_boot_blocking_flags_is_refused(shipped: Registry, record: dict[str, Any]) -> None:
    found = shipped.find([record["model"]], "vllm")
    assert found is not None
    hardware = hardware_scope(record["hardware"])
    blocking = [
        r
        for r in found.entry.required_flags
        if r.flag and r.severity == "boot-blocker"
        and decide_scope(r.applies_when, engine="vllm", engine_version=None, gpus=hardware.gpus).applies
    ]  # fmt: skip
    assert blocking
    names = {name for r in blocking for name in parse_flags(str(r.flag)).options}
    report = verdict(shipped, record, drop=names)
    assert report.verdict == "fail"
    assert {m.flag for m in report.missing_required} == {r.flag for r in blocking}
    assert all(m.evidence and m.evidence.startswith("vllm-project/recipes models/") for m in report.missing_required)


# -- through the real CLI: a launch with a stand-in engine ------------------------------------------------


def launcher(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kgc_launch", *argv], cwd=cwd, env=dict(os.environ), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recipes_layer_on: None) -> Path:
    bin_dir = tmp_path / "bin"
    make_fake_engine(bin_dir, "vllm", tmp_path / "vllm-record.json")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "vllm-record.json"


def test_a_launch_without_a_boot_blocking_recipe_flag_is_refused_with_the_recipe_as_evidence(
    tmp_path: Path, engine: Path
) -> None:
    base = ["--hardware", "8xH200", "--artifacts-dir", str(tmp_path / "refused"), "vllm", "serve", MINISTRAL]
    refused = launcher([*base, "--tokenizer-mode", "mistral"], tmp_path)
    assert refused.returncode == 78, refused.stderr
    assert "refusing to start vllm serve" in refused.stderr and "2 problem(s)" in refused.stderr
    assert "the recipes layer requires --config_format mistral (boot-blocker)" in refused.stderr
    assert f"[evidence: {EVIDENCE}]" in refused.stderr
    assert f"[recipes layer {shipped_file('recipes-layer.yaml')}]" in refused.stderr
    assert "add or change: --config-format mistral --load-format mistral" in refused.stderr
    assert not engine.exists()
    report = json.loads((tmp_path / "refused" / "registry_check.json").read_text())
    assert report["layers"] == ["recipes"] and {m["evidence"] for m in report["missing_required"]} == {EVIDENCE}


def test_the_same_launch_with_the_flags_execs_and_no_recipes_turns_the_layer_off(tmp_path: Path, engine: Path) -> None:
    argv = ["--hardware", "8xH200", "vllm", "serve", MINISTRAL, "--tokenizer-mode", "mistral",
            "--config-format", "mistral", "--load-format", "mistral"]  # fmt: skip
    done = launcher(argv, tmp_path)
    assert done.returncode == 0, done.stderr
    assert read_record(engine)["argv"][1:] == argv[3:]  # type: ignore[index]
    engine.unlink()
    bare = launcher(["--no-recipes", "--hardware", "8xH200", "vllm", "serve", MINISTRAL], tmp_path)
    assert bare.returncode == 0, bare.stderr
    assert engine.exists()


def test_an_old_vllm_is_refused_for_a_model_it_does_not_know(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kgc_launch.knowngood.launch_check import launch_findings

    registry = load_registry(shipped_file("recipes-layer.yaml"), cache_dir=tmp_path)
    registry.layer_name = "recipes"
    args = parse_serve_args(
        [MINISTRAL, *shlex.split("--tokenizer-mode mistral --config-format mistral --load-format mistral")]
    )
    report = check_launch(
        registry, model_ids=[MINISTRAL], serve_args=args, env={}, engine="vllm", engine_version="0.10.2",
        gpus=[("NVIDIA H200", "9.0")], require_registered=False,
    )  # fmt: skip
    (finding,) = [f for f in launch_findings(report) if f.severity == "refuse"]
    assert finding.message.startswith("the recipes layer refuses this launch (boot-blocker): vLLM older than 0.11.0")
    assert finding.fix == "install vLLM >= 0.11.0 (e.g. uv pip install -U 'vllm>=0.11.0')" and finding.evidence == (
        EVIDENCE,
    )
