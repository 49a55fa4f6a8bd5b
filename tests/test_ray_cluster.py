"""The Ray cluster probe against a real local Ray cluster (no GPUs: Ray's fake `--num-gpus`).

One cluster for the module: a head with 4 "H100" (the node the tests run on, so the driver's node), a worker
with 4 "H100", and a worker with 2 "A100" labelled as the A100-40GB preset: 10 GPUs. Each node is its own
`ray start` on 127.0.0.1 with one CPU, a private temp dir and free ports; the fixture ends exactly those
processes afterwards, whatever happens (testing/ray_cluster.py). The dead-node test adds and kills a
fourth node, so it runs last.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kgc_launch import cli
from kgc_launch.hardware.ray_cluster import probe_ray_cluster
from testing.ray_cluster import LocalRayCluster, NodeSpec

LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
FAKE_NVML = str(Path(__file__).resolve().parent.parent / "testing" / "nvml" / "8xh100.json")
STARTUP_BUDGET_S = 60.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalRayCluster]:
    local = LocalRayCluster(
        NodeSpec(4, "H100", {"kgc-launch/zone": "a"}),
        [NodeSpec(4, "H100", {"kgc-launch/zone": "b"}), NodeSpec(2, "A100", {"kgc-launch/gpu-preset": "A100-40GB"})],
    )
    try:
        local.start()
        assert local.startup_s["total"] < STARTUP_BUDGET_S, local.startup_s
        print(f"\nRay cluster start-up: {local.startup_s}")
        yield local
    finally:
        left = local.stop()
        assert left == [], f"processes left behind: {left}"


@pytest.fixture
def on_cluster(cluster: LocalRayCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> LocalRayCluster:
    """A launch on this machine (fake NVML: 8 x H100) that joins the cluster through RAY_ADDRESS."""
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    monkeypatch.setenv("KGC_FAKE_NVML", FAKE_NVML)
    monkeypatch.chdir(tmp_path)
    return cluster


def dry_run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = cli.main(["--dry-run", "--json", "--artifacts-dir", "art", "vllm", "serve", LLAMA_70B, *argv])
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == report["exit_code"]
    return report


def findings(report: dict[str, Any], severity: str) -> dict[str, dict[str, Any]]:
    return {f["rule_id"]: f for f in report["findings"] if f["severity"] == severity and f.get("rule_id")}


def decision(report: dict[str, Any], selection: str) -> dict[str, Any] | None:
    return next((d for d in report["decisions"] if d["selection"] == selection), None)


def test_the_probe_reads_every_node(cluster: LocalRayCluster) -> None:
    probe = probe_ray_cluster({"RAY_ADDRESS": cluster.address})
    assert probe.not_evaluated is None and probe.inventory is not None
    inventory = probe.inventory
    assert inventory.source == "ray"
    nodes = inventory.nodes
    head, others = nodes[0], sorted(nodes[1:], key=lambda node: -node.gpus)  # the driver's node first
    assert head.driver and head.head and head.gpus == 4 and not any(node.driver for node in others)
    assert [node.gpus for node in others] == [4, 2]
    assert [node.accelerator_type for node in [head, *others]] == ["H100", "H100", "A100"]
    assert head.labels["kgc-launch/zone"] == "a" and others[0].labels["kgc-launch/zone"] == "b"
    assert all(node.gpus_free == node.gpus for node in nodes)
    assert others[1].gpu_source == "preset A100-40GB (label kgc-launch/gpu-preset=A100-40GB)"
    assert [device.name for device in inventory.visible].count("NVIDIA A100-SXM4-40GB") == 2
    assert len(inventory.visible) == 10
    print(f"\nRay probe: {probe.elapsed_ms} ms")


def test_enough_gpus_on_the_driver_node(on_cluster: LocalRayCluster, capsys: pytest.CaptureFixture[str]) -> None:
    report = dry_run(["-tp", "4", "--distributed-executor-backend", "ray", "--max-model-len", "8192"], capsys)
    assert report["exit_code"] == 0, report["findings"]
    placement = decision(report, "ray_placement")
    assert placement is not None
    assert "(driver): ranks 0-3, PP stage(s) 0" in placement["selected"] and ";" not in placement["selected"]
    assert decision(report, "kv_cache_capacity_tokens") is not None
    launch = json.loads(Path("art/launch.json").read_text(encoding="utf-8"))
    assert launch["hardware"]["source"] == "ray" and len(launch["hardware"]["nodes"]) == 3


def test_tp_x_pp_across_both_h100_nodes(on_cluster: LocalRayCluster, capsys: pytest.CaptureFixture[str]) -> None:
    report = dry_run(["-tp", "4", "-pp", "2", "--distributed-executor-backend", "ray"], capsys)
    assert report["exit_code"] == 0, report["findings"]
    placement = decision(report, "ray_placement")
    assert placement is not None
    first, second = placement["selected"].split("; ")
    assert "(driver): ranks 0-3, PP stage(s) 0" in first and "4xH100]: ranks 4-7, PP stage(s) 1" in second
    assert "ray-tensor-parallel-across-nodes" not in findings(report, "warn")


def test_one_node_too_few_is_refused(on_cluster: LocalRayCluster, capsys: pytest.CaptureFixture[str]) -> None:
    report = dry_run(["-tp", "8", "-pp", "2", "--distributed-executor-backend", "ray"], capsys)
    assert report["exit_code"] == 78
    refused = findings(report, "refuse")["ray-cluster-too-few-gpus"]
    assert refused["message"] == (
        "--tensor-parallel-size 8 x --pipeline-parallel-size 2 asks Ray for 16 one-GPU bundles; "
        "the Ray cluster has 10 GPU(s) on 3 alive node(s)"
    )
    assert refused["fix"] == "--pipeline-parallel-size 1"


def test_tp_spread_over_two_nodes_warns_with_the_cost(
    on_cluster: LocalRayCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    report = dry_run(["-tp", "8", "--distributed-executor-backend", "ray"], capsys)
    warned = findings(report, "warn")["ray-tensor-parallel-across-nodes"]
    assert "spans nodes" in warned["message"] and "InfiniBand" in warned["message"]
    assert warned["fix"] == "--tensor-parallel-size 4 --pipeline-parallel-size 2"


def test_mixed_accelerator_types_plan_on_the_smallest(
    on_cluster: LocalRayCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    report = dry_run(
        ["-tp", "2", "-pp", "5", "--distributed-executor-backend", "ray", "--max-model-len", "4096"], capsys
    )
    warned = findings(report, "warn")["ray-mixed-gpu-types"]
    assert "NVIDIA A100-SXM4-40GB, 40.0 GiB" in warned["message"]
    launch = json.loads(Path("art/launch.json").read_text(encoding="utf-8"))
    assert launch["details"]["memory_plan"]["device_memory_bytes"] == 40960 * 1024 * 1024


def test_vllm_host_ip_other_than_the_nodes_is_refused(
    on_cluster: LocalRayCluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VLLM_HOST_IP", "10.255.0.9")
    report = dry_run(["-tp", "4", "--distributed-executor-backend", "ray"], capsys)
    # Refused for a known vLLM >= 0.6 (tests/test_multinode.py); this dry run knows no vLLM version.
    warned = findings(report, "warn")["ray-driver-ip-mismatch"]
    assert "node:10.255.0.9 (VLLM_HOST_IP)" in warned["message"] and warned["fix"].startswith("VLLM_HOST_IP=")


def test_probe_save_and_replay_anywhere(
    on_cluster: LocalRayCluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["probe", "--ray", on_cluster.address, "--save", "cluster.json"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("10 GPU(s) on 3 alive node(s): Ray cluster at ") and "(head) (this node)" in shown
    # Elsewhere: no cluster, no GPU; the saved file stands for both.
    monkeypatch.delenv("RAY_ADDRESS")
    monkeypatch.delenv("KGC_FAKE_NVML")
    serve = ["vllm", "serve", LLAMA_70B, "-tp", "4", "-pp", "2", "--distributed-executor-backend", "ray"]
    code = cli.main(["--hardware", "cluster.json", "--dry-run", "--json", *serve])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and decision(report, "ray_placement") is not None


def test_no_cluster_reachable_is_not_evaluated(
    cluster: LocalRayCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from testing.ray_cluster import free_port

    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("KGC_FAKE_NVML", FAKE_NVML)
    monkeypatch.chdir(tmp_path)
    report = dry_run(["-tp", "8", "-pp", "2", "--distributed-executor-backend", "ray"], capsys)
    warned = findings(report, "warn")["ray-cluster-not-evaluated"]
    assert "no Ray cluster reachable (RAY_ADDRESS): cannot connect" in warned["message"]
    assert report["exit_code"] == 0  # unknown is never a silent pass, and never a refusal by itself


def test_no_cluster_at_all_means_a_one_node_ray(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KGC_FAKE_NVML", FAKE_NVML)
    monkeypatch.chdir(tmp_path)
    report = dry_run(["-tp", "8", "-pp", "2", "--distributed-executor-backend", "ray"], capsys)
    refused = findings(report, "refuse")["ray-cluster-too-few-gpus"]
    assert "no Ray cluster is running (RAY_ADDRESS is unset and no local head" in refused["message"]


def test_ray_not_installed_is_not_evaluated(
    on_cluster: LocalRayCluster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails; find_spec says it is not there
    report = dry_run(["-tp", "8", "-pp", "2", "--distributed-executor-backend", "ray"], capsys)
    warned = findings(report, "warn")["ray-cluster-not-evaluated"]
    assert "Ray is not installed beside kgc-launch (pip install 'kgc-launch[ray]')" in warned["message"]


def test_a_plain_launch_imports_no_ray(tmp_path: Path) -> None:
    code = (
        "import sys, json\n"
        "from kgc_launch import cli\n"
        "cli.main(['--dry-run', '--quiet', '--hardware', '8xH100', 'vllm', 'serve', 'Qwen/Qwen3-8B', '-tp', '8'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))))\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], done.stderr


def test_a_dead_node_is_reported_and_not_counted(cluster: LocalRayCluster) -> None:
    """Runs last: it leaves a dead node in the cluster's table."""
    doomed = cluster.add_node(NodeSpec(2, "L4"), "doomed")
    assert sum(node.gpus for node in _alive(cluster)) == 12
    cluster.kill(doomed)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = probe_ray_cluster({"RAY_ADDRESS": cluster.address})
        assert probe.inventory is not None
        dead = [node for node in probe.inventory.nodes if not node.alive]
        if dead:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the killed node was not reported dead within 30 s")
    assert dead[0].accelerator_type in (None, "L4")
    assert len(probe.inventory.visible) == 10  # the dead node's GPUs are gone
    assert any("is dead" in warning for warning in probe.inventory.warnings)

    from kgc_launch.vllm.args import parse_serve_args
    from kgc_launch.vllm.resolve import resolve_vllm
    from testing.model_facts import llama_70b

    resolution = resolve_vllm(
        parse_serve_args(["m", "-tp", "4", "-pp", "3", "--distributed-executor-backend", "ray"]),
        probe.inventory,
        llama_70b(),
        environ={},
        engine_version="0.11.0",
    )
    assert {p.rule_id for p in resolution.refusals} == {"ray-cluster-too-few-gpus"}
    assert "ray-node-dead" in {p.rule_id for p in resolution.warnings}


def _alive(cluster: LocalRayCluster) -> list[Any]:
    probe = probe_ray_cluster({"RAY_ADDRESS": cluster.address})
    assert probe.inventory is not None
    return [node for node in probe.inventory.nodes if node.alive]
