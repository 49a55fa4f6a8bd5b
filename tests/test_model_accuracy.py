"""The memory plan against what vLLM reported at start in public logs: the accuracy ledger.

scripts/accuracy.py plans every point of tests/data/kv_reference_points.json with the real planner and writes
the ledger in docs/memory-plan.md; these tests keep the committed ledger, the data and the profile constants'
`fitted_on` in step, and hold the figures: the accuracy targets (met, so asserted) and the false fits (not 0:
the two known ones are pinned, any other fails).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kgc_launch.vllm.profiles import CONSTANTS, PROFILES

ROOT = Path(__file__).resolve().parent.parent


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kgc_accuracy_script", ROOT / "scripts" / "accuracy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


accuracy = _load_script()
LEDGER = accuracy.build()
POINTS: list[dict[str, Any]] = LEDGER.points
COMPARED = [result for result in LEDGER.results if result.role != "excluded"]

KNOWN_FALSE_FITS = {
    # vLLM 0.19 sized the KV cache, then ran out of memory warming up the sampler after CUDA graph capture
    # (allocator fragmentation in the headroom). No principled check refuses them without refusing a point that
    # started: see the ledger's "After the KV check" section and test_no_principled_check_separates_the_false_fits.
    "gpt-oss-20b-h100-tp1-8k-gmu095-v0.19-refused",
    "gpt-oss-20b-h100-tp2-8k-gmu095-v0.19-refused",
}


def test_the_committed_ledger_is_what_the_script_prints(repo_root: Path) -> None:
    document = (repo_root / "docs" / "memory-plan.md").read_text(encoding="utf-8")
    assert accuracy.committed_section(document) == accuracy.render(LEDGER), "run scripts/accuracy.py --write"


def test_fitted_on_names_exactly_the_calibration_points() -> None:
    ids = {point["id"] for point in POINTS}
    calibration = {point["id"] for point in POINTS if point["used_for_calibration"]}
    for profile in PROFILES:
        assert set(profile.fitted_on) == set(CONSTANTS), profile.name
        for name, fit in profile.fitted_on.items():
            assert set(fit.points) <= ids, (profile.name, name)
            assert fit.how, (profile.name, name)
    assert accuracy.fitted_points() == calibration
    headline = {result.id for result in LEDGER.role("validation")}
    assert not headline & calibration


def test_independence_marks_follow_the_rule() -> None:
    for point in POINTS:
        assert point["independent"] is accuracy.expected_independence(point, POINTS), point["id"]
        if not point["independent"]:
            assert point["independence_note"] and len(point["independence_note"]) > 40, point["id"]


def test_every_point_says_what_it_is_and_where_it_comes_from() -> None:
    assert len({point["id"] for point in POINTS}) == len(POINTS)
    for point in POINTS:
        assert point["outcome"] in ("fit", "refused"), point["id"]
        assert point["kinds"] and set(point["kinds"]) <= set(accuracy.KINDS), point["id"]
        assert ("refused" in point["kinds"]) is (point["outcome"] == "refused"), point["id"]
        assert isinstance(point["used_for_calibration"], bool), point["id"]
        assert point["source_url"].startswith("https://"), point["id"]
        for reason in ("excluded", "verdict_excluded"):
            assert point[reason] is None or len(point[reason]) > 20, (point["id"], reason)
        if point["outcome"] == "refused":
            assert isinstance(point["kv_check_passed"], bool), point["id"]
        if not accuracy.plannable(point):
            assert point["excluded"] and point["verdict_excluded"], point["id"]
        if point["used_for_calibration"]:
            assert point["excluded"] is None, point["id"]


def test_there_are_enough_validation_points() -> None:
    validation = LEDGER.role("validation")
    independent = [result for result in validation if result.point["independent"]]
    assert len(validation) >= 15 and len(independent) >= 12
    assert len({result.point["model"] for result in independent}) >= 8
    assert sum(1 for result in LEDGER.verdicts if result.point["outcome"] == "refused") >= 6


@pytest.mark.parametrize("result", COMPARED, ids=[result.id for result in COMPARED])
def test_each_compared_point_is_within_the_worst_case_target(result: Any) -> None:
    assert abs(result.error) <= accuracy.WORST_TARGET, f"{result.id}: {result.error:+.2%}"


def test_the_accuracy_targets_hold_on_validation_points() -> None:
    headline = LEDGER.headline
    assert headline.n >= 15
    assert headline.mae <= accuracy.MAE_TARGET, f"mean absolute error {headline.mae:.2%}"
    assert headline.worst <= accuracy.WORST_TARGET, f"worst case {headline.worst:.2%} ({headline.worst_id})"


def test_no_false_fit_at_the_kv_check() -> None:
    at_the_check = [result.id for result in LEDGER.false_fits if not result.point["kv_check_passed"]]
    assert at_the_check == []


def test_the_false_fits_are_the_two_known_ones() -> None:
    """Not the target (0): these two failed after vLLM's own KV check, at the sampler warm-up, which no check
    the data supports can see. Pinned, so a new false fit, or a fix that removes one, shows up here."""
    assert {result.id for result in LEDGER.false_fits} == KNOWN_FALSE_FITS


def test_no_principled_check_separates_the_false_fits() -> None:
    """The ledger's reason for keeping them: each fixed check of the memory left for the sampler warm-up scores
    some started point at or below a refused one, and the one free coefficient that separates leaves a gap smaller
    than vLLM's own miss in estimating CUDA graph memory. If new data changes that, write the check instead."""
    started, refused = accuracy.warmup_points(LEDGER)
    assert {str(h.point["id"]) for h in refused} == KNOWN_FALSE_FITS
    rules = list(accuracy.WARMUP_RULES)
    for rule in rules[:-1]:
        assert accuracy.fit_rule(rule, started, refused).gap <= 0, rule
    best, _, _ = accuracy.best_k(rules[-1], started, refused)
    assert best.gap < accuracy.graph_estimate_miss(LEDGER)[0]


def test_no_false_refusals() -> None:
    assert [result.id for result in LEDGER.false_refusals] == []


def test_the_section_replaces_only_what_is_between_the_markers() -> None:
    document = f"before\n{accuracy.BEGIN}\nold\n{accuracy.END}\nafter\n"
    section = f"{accuracy.BEGIN}\nnew\n{accuracy.END}\n"
    assert accuracy.replace_section(document, section) == f"before\n{section}after\n"
    with pytest.raises(ValueError, match="markers"):
        accuracy.replace_section("no markers\n", section)
