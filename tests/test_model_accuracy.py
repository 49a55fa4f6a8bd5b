"""The memory plan against what vLLM reported at start in public logs: within 10% where inputs are complete.

Each point in tests/data/kv_reference_points.json carries its source URL, vLLM version and every input;
points that are excluded say why. The README's accuracy table is checked against these results.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kgc_launch.model.config_json import facts_from_config
from kgc_launch.model.facts import MemoryPlan, ModelFacts
from kgc_launch.model.kv_cache import kv_layout
from kgc_launch.model.memory import plan_vllm_memory
from kgc_launch.model.vllm_profiles import GIB
from testing.model_files import config_fixture

DATA = Path(__file__).resolve().parent / "data" / "kv_reference_points.json"
POINTS: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["points"]
INCLUDED = [point for point in POINTS if point["excluded"] is None]
TOLERANCE = 0.10


def facts_of(point: dict[str, Any]) -> ModelFacts:
    name = point["config"].removesuffix(".json")
    facts = facts_from_config(config_fixture(name), source="directory", source_detail=point["config"])
    if point.get("weight_bytes"):
        facts = replace(facts, weight_bytes=point["weight_bytes"])
    return facts


def plan_point(point: dict[str, Any]) -> MemoryPlan:
    return plan_vllm_memory(
        facts_of(point),
        round(point["cuda_total_gib"] * GIB),
        tensor_parallel_size=point["tensor_parallel_size"],
        pipeline_parallel_size=point["pipeline_parallel_size"],
        max_model_len=point["max_model_len"],
        gpu_memory_utilization=point["gpu_memory_utilization"],
        kv_cache_dtype=point["kv_cache_dtype"],
        max_num_seqs=point["max_num_seqs"],
        max_num_batched_tokens=point["max_num_batched_tokens"],
        vllm_version=point["vllm_version"],
        device_name=point["gpu"],
        cuda_reserved_bytes=0,
        block_size=point["block_size"],
    )


def reported_tokens(point: dict[str, Any]) -> int:
    """vLLM's 'GPU KV cache size'; for points that logged only GiB, the blocks those GiB hold x block size."""
    if point["reported_kv_tokens"] is not None:
        return int(point["reported_kv_tokens"])
    tp, block = point["tensor_parallel_size"], point["block_size"]
    layout = kv_layout(facts_of(point), tensor_parallel_size=tp, block_size=block)
    assert layout.groups == 1, "tokens are only derived for uniform full-attention layouts"
    return int(point["reported_available_kv_gib"] * GIB) // layout.block_bytes * layout.block_size


def relative_error(point: dict[str, Any]) -> float:
    return (plan_point(point).kv_capacity_tokens - reported_tokens(point)) / reported_tokens(point)


def test_there_are_enough_independent_points() -> None:
    independent = [point for point in INCLUDED if not point["used_for_calibration"]]
    assert len(INCLUDED) >= 6 and len(independent) >= 6
    assert len({point["model"] for point in independent}) >= 5
    assert len({point["gpu"] for point in INCLUDED}) >= 2
    assert len(VERDICTS) >= 3 and any(point["reported_fits"] is False for point in VERDICTS)
    assert all(point["source_url"].startswith("https://github.com/") for point in POINTS)
    assert all(point["excluded"] is None or len(point["excluded"]) > 40 for point in POINTS)


@pytest.mark.parametrize("point", INCLUDED, ids=[point["id"] for point in INCLUDED])
def test_kv_tokens_within_ten_percent_of_vllm(point: dict[str, Any]) -> None:
    error = relative_error(point)
    assert abs(error) <= TOLERANCE, f"{point['id']}: {error:+.1%}"


VERDICTS = [point for point in POINTS if "reported_fits" in point and point.get("config")]


@pytest.mark.parametrize("point", VERDICTS, ids=[point["id"] for point in VERDICTS])
def test_the_verdict_matches_vllm(point: dict[str, Any]) -> None:
    assert plan_point(point).fits is point["reported_fits"]


def test_the_readme_table_shows_these_results(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    for point in INCLUDED:
        ours = plan_point(point).kv_capacity_tokens
        row = f"| {point['id']} | {reported_tokens(point):,} | {ours:,} | {relative_error(point):+.2%} |"
        assert row in readme, row
