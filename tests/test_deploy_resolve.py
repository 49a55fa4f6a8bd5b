from __future__ import annotations

from pathlib import Path

import pytest

from kgc_launch import cli
from kgc_launch.deploy.accelerators import Accelerator
from kgc_launch.deploy.launch import Launch, SourceKind
from kgc_launch.deploy.resolve import EngineVerdict, hardware_skip, judge_engine, launch_inventory
from kgc_launch.errors import EXIT_OK, EXIT_VERDICT_NO
from kgc_launch.findings import refusals
from kgc_launch.hardware.groups import Group, Role
from kgc_launch.hardware.presets import inventory_from_preset
from kgc_launch.launch_options import LaunchOptions
from kgc_launch.model.facts import ModelFacts
from kgc_launch.model.metadata import read_model


def _launch(gpus: int | None, group: Group | None = None, source: SourceKind = "kubernetes") -> Launch:
    return Launch("k.yaml", 1, "Deployment/d/c", source, "vllm", ["m"], gpus=gpus, group=group)


def test_the_manifest_says_how_many_of_the_nodes_gpus_a_launch_gets() -> None:
    node = inventory_from_preset("8xH100-SXM")
    two = launch_inventory(node, _launch(2))
    assert [(d.index, d.name) for d in two.visible] == [(0, "NVIDIA H100 80GB HBM3"), (1, "NVIDIA H100 80GB HBM3")]
    assert two.devices == two.visible and two.source_detail.startswith("2 GPUs (NVIDIA H100 80GB HBM3) as the")
    assert launch_inventory(node, _launch(None)) is node and launch_inventory(node, _launch(8)) is node
    group = Group("LeaderWorkerSet size 2", (Role("leader", 1, 8), Role("worker", 1, 8)))
    assert len(launch_inventory(inventory_from_preset("H100"), _launch(8, group)).visible) == 16
    assert launch_inventory(node, _launch(0)).visible == []
    assert len(node.visible) == 8  # the node itself is not changed


def test_hardware_checks_run_only_where_they_mean_something() -> None:
    node = inventory_from_preset("8xH100-SXM")
    assert hardware_skip(None, _launch(1)) == "no --hardware given"
    assert hardware_skip(node, _launch(1)) is None
    tpu = _launch(None)
    tpu.accelerator = Accelerator("tpu", 4, "resources.limits google.com/tpu: 4")
    why = hardware_skip(node, tpu)
    assert why is not None and "Google TPU chips" in why and "NVIDIA" in why
    assert "does not say how many GPUs" in (hardware_skip(node, _launch(None)) or "")
    assert hardware_skip(node, _launch(None, source="shell")) is None  # a host sees its GPUs


def test_a_refusal_resting_on_an_unknown_value_is_undecided() -> None:
    facts = read_model("meta-llama/Llama-3.1-8B-Instruct", environ={})
    l4 = inventory_from_preset("L4")

    def resolve_vllm_launch(tokens: list[str], *_: object, **__: object) -> EngineVerdict:
        def lookup(_model: str, _revision: str | None, _config: str | None) -> ModelFacts:
            return facts

        return judge_engine("vllm", tokens, l4, lookup, LaunchOptions(), environ={}, engine_version="0.11.0")

    known = resolve_vllm_launch(["m"], l4, facts, environ={}, engine_version="0.11.0")
    assert [r.source for r in refusals(known.findings)] == ["vllm-rule:kv-cache-does-not-fit"] and not known.undecided
    built = ["m", "--max-model-len", "$(MAX_LEN)"]
    verdict = resolve_vllm_launch(built, l4, facts, environ={}, engine_version="0.11.0")
    assert not refusals(verdict.findings)
    (undecided,) = verdict.undecided
    assert "--max-model-len's default" in undecided and "($(MAX_LEN))" in undecided
    fits = resolve_vllm_launch(["m", "--max-model-len", "8192"], l4, facts, environ={}, engine_version="0.11.0")
    assert not refusals(fits.findings) and not fits.undecided
    assert not any("free memory" in warning.message for warning in fits.findings)  # a live node's fact: not a deploy's


def _pod(args: str, gpus: int, env: str = "") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: llm}}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:latest
          args: [{args}]{env}
          resources:
            limits: {{nvidia.com/gpu: {gpus}}}
"""


@pytest.mark.parametrize(
    ("args", "gpus", "env", "code"),
    [
        ('"Qwen/Qwen3-8B", "--tensor-parallel-size", "4"', 1, "", EXIT_VERDICT_NO),  # one GPU for TP 4
        ('"Qwen/Qwen3-8B", "-tp", "2", "-pp", "2"', 2, "", EXIT_VERDICT_NO),  # TP x PP = 4
        ('"Qwen/Qwen3-8B", "--tensor-parallel-size", "4"', 4, "", EXIT_OK),
        ('"Qwen/Qwen3-8B", "-tp", "4", "--distributed-executor-backend", "ray"', 1, "", EXIT_OK),  # a Ray cluster
        ('"Qwen/Qwen3-8B", "-tp", "4"', 1, "\n          env: [{name: RAY_ADDRESS, value: 'ray-head:6379'}]", EXIT_OK),
        ('"Qwen/Qwen3-8B", "-tp", "$(TP)"', 1, "", EXIT_OK),  # the size is not in the file
    ],
)
def test_without_hardware_the_gpus_the_file_gives_bound_tp_x_pp(
    tmp_path: Path, args: str, gpus: int, env: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "llm.yaml"
    manifest.write_text(_pod(args, gpus, env), encoding="utf-8")
    assert cli.main(["check", "--deploy-file", str(manifest)]) == code
    out = capsys.readouterr().out
    if code == EXIT_VERDICT_NO:
        assert f"needs 4 GPUs; {gpus} visible (the file gives it resources.limits nvidia.com/gpu: {gpus})" in out
        assert "refused (vLLM rule parallel-exceeds-visible-gpus)" in out
