"""Multi-node rules, the placement, the LWS group and the pipeline split, on synthetic clusters (no Ray)."""

from __future__ import annotations

from typing import Any

import pytest

from kgc_launch.hardware.cluster import inventory_from_ray
from kgc_launch.hardware.inventory import ClusterStatus, Inventory
from kgc_launch.hardware.lws import group_gpus, group_inventory, group_size_for, lws_group
from kgc_launch.hardware.select import hardware_from_spec
from kgc_launch.vllm.args import parse_serve_args
from kgc_launch.vllm.memory import pipeline_stages, plan_vllm_memory, pp_partition
from kgc_launch.vllm.multinode import place
from kgc_launch.vllm.resolve import VllmResolution, resolve_vllm
from testing.model_facts import llama_8b, llama_70b

RAY = ["--distributed-executor-backend", "ray"]


def node(node_id: str, gpus: int, kind: str = "H100", *, ip: str, alive: bool = True, head: bool = False) -> Any:
    resources = {"GPU": float(gpus), f"accelerator_type:{kind}": float(gpus), f"node:{ip}": 1.0}
    if head:
        resources["node:__internal_head__"] = 1.0
    return {"NodeID": node_id, "Alive": alive, "NodeManagerAddress": ip, "Resources": resources, "Labels": {}}


def cluster(*nodes: Any, free: dict[str, int] | None = None, driver: str = "a", ip: str = "10.0.0.1") -> Inventory:
    available = {n["NodeID"]: {"GPU": float((free or {}).get(n["NodeID"], n["Resources"]["GPU"]))} for n in nodes}
    return inventory_from_ray(list(nodes), available, driver_node_id=driver, address="10.0.0.1:6379", vllm_ip=ip)


def two_nodes(**kwargs: Any) -> Inventory:
    return cluster(node("a", 8, ip="10.0.0.1", head=True), node("b", 8, ip="10.0.0.2"), **kwargs)


def resolve(
    tokens: list[str],
    inventory: Inventory,
    *,
    version: str | None = "0.11.2",
    environ: dict[str, str] | None = None,
    status: ClusterStatus | None = None,
    model: Any = None,
) -> VllmResolution:
    return resolve_vllm(
        parse_serve_args(["m", *tokens]),
        inventory,
        model or llama_70b(),
        environ=environ or {},
        engine_version=version,
        cluster=status,
    )


def rules(resolution: VllmResolution, severity: str) -> set[str]:
    return {p.rule_id or "" for p in resolution.problems if p.severity == severity}


def problem(resolution: VllmResolution, rule_id: str) -> Any:
    return next(p for p in resolution.problems if p.rule_id == rule_id)


# -- placement -------------------------------------------------------------------------------------------


def test_placement_puts_the_driver_first_then_packs() -> None:
    inventory = cluster(
        node("a", 4, ip="10.0.0.1", head=True), node("b", 8, ip="10.0.0.2"), node("c", 2, ip="10.0.0.3")
    )
    placement = place(list(inventory.nodes), 10)
    assert [(s.node.node_id, s.count, s.first_rank) for s in placement.shares] == [("a", 4, 0), ("b", 6, 4)]
    # vLLM ranks the nodes after the driver's by how few workers they hold.
    placement = place(list(inventory.nodes), 14)
    assert [(s.node.node_id, s.count) for s in placement.shares] == [("a", 4), ("c", 2), ("b", 8)]


def test_placement_counts_free_gpus_only() -> None:
    inventory = two_nodes(free={"a": 2, "b": 8})
    placement = place(list(inventory.nodes), 12)
    assert [(s.node.node_id, s.count) for s in placement.shares] == [("a", 2), ("b", 8)]
    assert placement.unplaced == 2


def test_tp_x_pp_over_two_nodes_places_one_stage_per_node() -> None:
    resolution = resolve(["-tp", "8", "-pp", "2", *RAY, "--max-model-len", "8192"], two_nodes())
    assert not resolution.refused, resolution.problems
    placement = resolution.decision("ray_placement")
    assert placement is not None
    assert placement.selected == (
        "10.0.0.1 [a, 8xH100] (driver): ranks 0-7, PP stage(s) 0; 10.0.0.2 [b, 8xH100]: ranks 8-15, PP stage(s) 1"
    )
    plan = resolution.memory_plan
    assert plan is not None and plan.pipeline_parallel_size == 2 and len(plan.stages) == 2


def test_too_few_gpus_in_the_cluster_is_refused_with_a_fix() -> None:
    resolution = resolve(["-tp", "8", "-pp", "3", *RAY], two_nodes())
    found = problem(resolution, "ray-cluster-too-few-gpus")
    assert found.severity == "refuse"
    assert found.message.endswith("asks Ray for 24 one-GPU bundles; the Ray cluster has 16 GPU(s) on 2 alive node(s)")
    assert found.fix == "--pipeline-parallel-size 2"


def test_data_parallel_ranks_count_against_the_cluster() -> None:
    resolution = resolve(["-tp", "8", "-dp", "3", *RAY], two_nodes())
    assert "--data-parallel-size 3 asks Ray for 24" in problem(resolution, "ray-cluster-too-few-gpus").message


def test_busy_gpus_warn_that_the_placement_group_waits() -> None:
    resolution = resolve(["-tp", "8", "-pp", "2", *RAY], two_nodes(free={"a": 8, "b": 4}))
    assert problem(resolution, "ray-cluster-gpus-busy").message.startswith("only 12 of the Ray cluster's 16 GPUs")
    assert not resolution.refused


def test_no_free_gpu_on_the_driver_node_is_refused() -> None:
    resolution = resolve(["-tp", "8", *RAY], two_nodes(free={"a": 0}))
    assert "ray-driver-node-no-gpu" in rules(resolution, "refuse")


def test_tp_across_nodes_warns_and_suggests_pp_across_nodes() -> None:
    inventory = cluster(node("a", 4, ip="10.0.0.1", head=True), node("b", 4, ip="10.0.0.2"))
    found = problem(resolve(["-tp", "8", *RAY], inventory), "ray-tensor-parallel-across-nodes")
    assert found.severity == "warn"
    assert found.fix == "--tensor-parallel-size 4 --pipeline-parallel-size 2"


def test_a_mismatched_vllm_host_ip_is_refused_for_known_versions() -> None:
    resolution = resolve(["-tp", "8", *RAY], two_nodes(), environ={"VLLM_HOST_IP": "192.168.7.7"})
    found = problem(resolution, "ray-driver-ip-mismatch")
    assert found.severity == "refuse" and found.fix == "VLLM_HOST_IP=10.0.0.1"
    # The default route's address (recorded by the probe) counts when VLLM_HOST_IP is unset.
    resolution = resolve(["-tp", "8", *RAY], two_nodes(ip="172.16.0.5"))
    assert "(the default route (VLLM_HOST_IP unset))" in problem(resolution, "ray-driver-ip-mismatch").message


def test_dead_nodes_do_not_count() -> None:
    inventory = cluster(node("a", 8, ip="10.0.0.1", head=True), node("b", 8, ip="10.0.0.2", alive=False))
    resolution = resolve(["-tp", "8", "-pp", "2", *RAY], inventory)
    assert {"ray-cluster-too-few-gpus"} <= rules(resolution, "refuse")
    assert "ray-node-dead" in rules(resolution, "warn")


def test_mixed_gpu_types_plan_on_the_smallest() -> None:
    inventory = cluster(node("a", 8, "H200", ip="10.0.0.1", head=True), node("b", 8, "H100", ip="10.0.0.2"))
    resolution = resolve(["-tp", "8", "-pp", "2", *RAY, "--max-model-len", "8192"], inventory)
    assert "NVIDIA H100 80GB HBM3, 79.6 GiB" in problem(resolution, "ray-mixed-gpu-types").message
    assert resolution.memory_plan is not None
    assert resolution.memory_plan.device_memory_bytes == 81559 * 1024 * 1024


# -- the executor vLLM picks by itself -------------------------------------------------------------------


def test_old_vllm_falls_back_to_ray_and_is_planned_on_the_cluster() -> None:
    resolution = resolve(["-tp", "8", "-pp", "2", "--max-model-len", "8192"], two_nodes(), version="0.10.1")
    backend = resolution.decision("distributed_executor_backend")
    assert backend is not None and backend.selected == "ray" and backend.source.value == "default"
    assert not resolution.refused and resolution.decision("ray_placement") is not None


def test_new_vllm_refuses_instead_of_falling_back() -> None:
    resolution = resolve(["-tp", "8", "-pp", "2"], two_nodes(), version="0.11.2")
    found = problem(resolution, "parallel-exceeds-visible-gpus")
    assert found.severity == "refuse" and found.message.endswith("needs 16 GPUs; 8 visible")


def test_an_unknown_version_warns_when_a_cluster_could_hold_it() -> None:
    resolution = resolve(["-tp", "8", "-pp", "2"], two_nodes(), version=None)
    assert problem(resolution, "parallel-exceeds-visible-gpus").severity == "warn"


@pytest.mark.parametrize("status", [None, ClusterStatus("absent", "RAY_ADDRESS is unset")])
def test_an_unknown_version_still_refuses_on_one_node(status: ClusterStatus | None) -> None:
    resolution = resolve(["-tp", "4"], hardware_from_spec("2xH100"), version=None, status=status)
    assert problem(resolution, "parallel-exceeds-visible-gpus").severity == "refuse"


def test_explicit_ray_on_named_hardware_is_not_evaluated() -> None:
    status = ClusterStatus("named", "--hardware 8xH100 describes one node")
    resolution = resolve(["-tp", "8", "-pp", "2", *RAY], hardware_from_spec("8xH100"), status=status)
    assert problem(resolution, "ray-cluster-not-evaluated").message.startswith(
        "the Ray cluster checks were not evaluated: --hardware 8xH100 describes one node"
    )
    assert not resolution.refused and resolution.memory_plan is None


# -- LWS ---------------------------------------------------------------------------------------------------


def test_lws_group_arithmetic() -> None:
    assert group_size_for(16, 8) == 2 and group_size_for(17, 8) == 3 and group_size_for(4, 8) == 1
    assert group_gpus(2, 8) == 16
    with pytest.raises(ValueError):
        group_size_for(0, 8)


def test_lws_environment() -> None:
    group = lws_group({"LWS_GROUP_SIZE": "2", "LWS_WORKER_INDEX": "0", "LWS_LEADER_ADDRESS": "lws-0.svc"})
    assert group is not None and group.is_leader and group.leader_address == "lws-0.svc"
    assert lws_group({}) is None and lws_group({"LWS_GROUP_SIZE": "two"}) is None


def test_the_leader_plans_for_its_group() -> None:
    group = lws_group({"LWS_GROUP_SIZE": "2", "LWS_WORKER_INDEX": "0"})
    assert group is not None
    inventory = group_inventory(hardware_from_spec("8xH100"), group)
    assert inventory.source == "lws" and len(inventory.visible) == 16 and len(inventory.nodes) == 2
    resolution = resolve(["-tp", "8", "-pp", "2", *RAY, "--max-model-len", "8192"], inventory)
    assert not resolution.refused and resolution.memory_plan is not None


def test_an_lws_worker_serving_is_flagged() -> None:
    environ = {"LWS_GROUP_SIZE": "2", "LWS_WORKER_INDEX": "1", "LWS_LEADER_ADDRESS": "lead"}
    resolution = resolve(["-tp", "8"], hardware_from_spec("8xH100"), environ=environ)
    assert "ray start --address=lead:6379 --block" in problem(resolution, "lws-worker-launch").message
    assert "lws-worker-launch" not in rules(
        resolve(["--headless"], hardware_from_spec("8xH100"), environ=environ), "warn"
    )


# -- the pipeline split ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "pp", "split"),
    [(32, 2, [16, 16]), (32, 4, [8, 8, 8, 8]), (10, 4, [2, 3, 3, 2]), (11, 4, [3, 3, 3, 2]), (80, 3, [27, 27, 26])],
)
def test_layers_split_as_get_pp_indices(layers: int, pp: int, split: list[int]) -> None:
    assert pp_partition(layers, pp) == split


@pytest.mark.parametrize(
    ("text", "error"),
    [("16,15", "the entries sum to 31"), ("10,10,12", "3 entries"), ("a,b", "not a list of integers")],
)
def test_layer_partition_override_is_validated(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        pp_partition(32, 2, text)


def test_an_invalid_partition_variable_is_refused() -> None:
    environ = {"VLLM_PP_LAYER_PARTITION": "40,41"}
    resolution = resolve(["-tp", "8", "-pp", "2", *RAY], two_nodes(), environ=environ)
    assert problem(resolution, "pp-layer-partition-invalid").fix == (
        "unset VLLM_PP_LAYER_PARTITION, or give 2 integers that sum to 80"
    )


def test_stages_hold_the_embedding_first_and_the_lm_head_last() -> None:
    """As vLLM 0.19 logs Llama-3.1-8B at PP=4 (4.26 / 3.28 / 3.28 / 4.26 GiB; the ledger in
    docs/memory-plan.md checks the figures): the outer stages carry one vocab x hidden matrix more."""
    facts = llama_8b()
    first, second, third, last = (stage.weights for stage in pipeline_stages(facts, 4, 1))
    assert first == last and second == third
    assert first - second == pytest.approx((facts.vocab_size or 0) * (facts.hidden_size or 0) * 2, abs=2)
    assert [stage.weights for stage in pipeline_stages(facts, 4, 2)] == [
        -(-w // 2) for w in (first, second, third, last)
    ]


def test_the_binding_stage_is_the_last_and_every_stage_keeps_its_fewest_blocks() -> None:
    plan = plan_vllm_memory(
        llama_8b(), 81559 * 1024 * 1024, pipeline_parallel_size=4, max_model_len=8192,
        gpu_memory_utilization=0.95, max_num_seqs=1024, max_num_batched_tokens=8192, vllm_version="0.19.0",
        cuda_reserved_bytes=0,
    )  # fmt: skip
    assert plan.pipeline_stage == 3  # the lm_head and the sampler
    assert plan.num_gpu_blocks == min(stage.num_gpu_blocks for stage in plan.stages)
    assert [stage.layers for stage in plan.stages] == [8, 8, 8, 8]
    assert plan.notes[0].startswith("pipeline stage 3 of 4 binds")


def test_an_uneven_partition_moves_the_binding_stage() -> None:
    plan = plan_vllm_memory(
        llama_8b(), 81559 * 1024 * 1024, pipeline_parallel_size=2, max_model_len=8192,
        gpu_memory_utilization=0.9, max_num_seqs=256, max_num_batched_tokens=2048, pp_layer_partition="24,8",
    )  # fmt: skip
    assert [stage.layers for stage in plan.stages] == [24, 8] and plan.pipeline_stage == 0


def test_a_ray_start_under_the_entrypoint_passes_through(capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    from kgc_launch import cli

    monkeypatch.setenv("LWS_GROUP_SIZE", "2")
    monkeypatch.setenv("LWS_WORKER_INDEX", "1")
    assert cli.main(["--dry-run", "ray", "start", "--address=lead:6379", "--block"]) == 0
    assert capsys.readouterr().out == (
        "kgc-launch: ray start --address=lead:6379 --block: LWS worker 1 of 2, not an engine launch; "
        "passed through unchanged (dry run: not started)\n"
    )


def test_a_ray_start_is_execed_unchanged(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ray").write_text('#!/bin/sh\necho "stand-in ray: $*"\n')
    (bin_dir / "ray").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-m", "kgc_launch", "ray", "start", "--block"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout == "stand-in ray: start --block\n"
    assert "a Ray node, not an engine launch" in done.stderr
