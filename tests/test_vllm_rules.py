from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kgc_launch.versions import parse_engine_version, parse_range
from kgc_launch.vllm.problems import evaluate_rule
from kgc_launch.vllm.rules import Variant, applicable_variants, load_rules, rules_from_document

# Every kind the resolver evaluates; a rule of another kind would silently never run.
RESOLVER_KINDS = {
    "dtype_bf16_explicit",
    "dtype_bf16_auto",
    "dtype_value",
    "quantization_min_capability",
    "quantization_mismatch",
    "quantization_checkpoint_config",
    "fp8_weights_native",
    "fp8_kv_cache_native",
    "nvfp4_native",
    "world_size_vs_devices",
    "ray_cluster_gpus",
    "ray_cluster_busy",
    "ray_driver_gpu",
    "ray_driver_ip",
    "ray_tp_across_nodes",
    "ray_mixed_gpus",
    "ray_node_dead",
    "ray_cluster_unknown",
    "lws_worker",
    "pp_layer_partition",
    "tp_divides_heads",
    "max_model_len_vs_model",
    "memory_plan",
    "memory_plan_weights",
    "free_memory",
    "free_memory_unknown",
    "attention_backend_capability",
    "attention_backend_name",
    "visible_devices_uuid",
    "mig_memory",
    "no_visible_gpu",
    "mixed_gpus",
    "cpu_head_size",
    "option_value",
    "unknown_facts",
}


@pytest.fixture
def document(repo_root: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((repo_root / "registry" / "vllm-rules.json").read_text(encoding="utf-8"))
    return loaded


def test_shipped_rules_load_with_evidence_and_known_kinds() -> None:
    rules = load_rules()
    assert len(rules.rules) >= 25
    for rule in rules.rules:
        assert rule.evidence, rule.id
        assert rule.kind in RESOLVER_KINDS, rule.id
        assert rule.outcome in ("refuse", "warn")
        if rule.outcome == "refuse":
            assert rule.fix, f"{rule.id}: a refusal must say what to change"


def test_every_resolver_kind_has_a_rule() -> None:
    kinds = {rule.kind for rule in load_rules().rules}
    assert kinds == RESOLVER_KINDS


@pytest.mark.parametrize(
    ("text", "release", "exact"),
    [
        ("0.11.1", (0, 11, 1), True),
        ("0.9", (0, 9), True),
        ("0.9.0", (0, 9), True),
        ("0.8.5.post1", (0, 8, 5), True),
        ("0.9.2+cu126", (0, 9, 2), True),
        ("v0.10.0", (0, 10), True),
        ("0.14.0rc1", (0, 14), False),
        ("0.1.dev12640+g03bb0ff93", (0, 1), False),
        ("nightly", None, False),
    ],
)
def test_engine_versions(text: str, release: tuple[int, ...] | None, exact: bool) -> None:
    version = parse_engine_version(text)
    assert version is not None
    assert version.release == release
    assert version.exact is exact


def test_no_version_text_is_none() -> None:
    assert parse_engine_version(None) is None
    assert parse_engine_version("  ") is None


@pytest.mark.parametrize(
    ("spec", "inside", "outside"),
    [
        ("", ["0.1.0", "9.9"], []),
        (">=0.5.2", ["0.5.2", "0.11.0"], ["0.5.1", "0.4.3"]),
        ("<0.13.0", ["0.12.9", "0.4.0"], ["0.13.0", "0.14.0"]),
        (">=0.5.2,<0.13.0", ["0.5.2", "0.12.0"], ["0.5.1", "0.13.0"]),
    ],
)
def test_ranges(spec: str, inside: list[str], outside: list[str]) -> None:
    version_range = parse_range(spec)
    for text in inside:
        version = parse_engine_version(text)
        assert version is not None and version.release is not None
        assert version_range.contains(version.release), text
    for text in outside:
        version = parse_engine_version(text)
        assert version is not None and version.release is not None
        assert not version_range.contains(version.release), text


@pytest.mark.parametrize("spec", ["~=0.5", ">0.5", ">=0.13.0,<0.5.0", "==0.5.1"])
def test_bad_ranges(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_range(spec)


def fp8_rule_for(version: str | None, capability: str) -> str | None:
    rule = load_rules().get("quantization-min-capability-fp8")
    needed = {"7.0": (7, 0), "7.5": (7, 5), "8.0": (8, 0), "8.9": (8, 9)}[capability]

    def below(variant: Variant) -> dict[str, Any] | None:
        minimum = tuple(int(x) for x in str(variant.params["min_capability"]).split("."))
        return {"gpu": "GPU", "capability": capability, "method": "fp8"} if needed < minimum else None

    problem = evaluate_rule(rule, parse_engine_version(version), below)
    return None if problem is None else problem.severity


@pytest.mark.parametrize(
    ("version", "capability", "expected"),
    [
        ("0.4.1", "8.9", "refuse"),  # issue #4327: 9.0 in 2024
        ("0.6.0", "8.9", None),
        ("0.6.0", "8.0", None),  # FP8 Marlin on Ampere (PR #5975)
        ("0.6.0", "7.5", "refuse"),
        ("0.14.0", "7.5", None),  # Marlin on Turing (PR #29901)
        ("0.14.0", "7.0", "refuse"),
        ("0.13.0", "7.5", "warn"),  # in the gap: 0.12 says no, 0.14 says yes
        ("0.13.0", "7.0", "refuse"),  # in the gap, but both neighbours refuse
        ("0.5.0", "8.0", "warn"),  # between 9.0 and 8.0
        (None, "7.0", "refuse"),  # below every minimum fp8 ever had
        (None, "7.5", "warn"),
        ("0.15.0rc1", "7.5", "warn"),
    ],
)
def test_fp8_minimum_moves_across_versions(version: str | None, capability: str, expected: str | None) -> None:
    assert fp8_rule_for(version, capability) == expected


def head_size_severity(version: str | None, head_dim: int) -> str | None:
    rule = load_rules().get("cpu-attention-head-size")

    def unsupported(variant: Variant) -> dict[str, Any] | None:
        sizes = variant.params["head_sizes"]
        return None if head_dim in sizes else {"head_dim": head_dim, "supported": str(sizes)}

    problem = evaluate_rule(rule, parse_engine_version(version), unsupported)
    return None if problem is None else problem.severity


@pytest.mark.parametrize(
    ("version", "head_dim", "expected"),
    [
        ("0.13.0", 80, "refuse"),  # PR #27954 dropped 80
        ("0.15.0", 80, None),  # PR #31968 brought it back
        ("0.14.0", 80, "warn"),  # the release that took #31968 is not pinned
        ("0.19.0", 512, "refuse"),  # issue #39065
        ("0.20.0", 512, None),  # PR #38676
        (None, 16, "refuse"),  # no CPU attention ever supported 16
        (None, 128, None),
        (None, 512, "warn"),
    ],
)
def test_cpu_head_sizes_across_versions(version: str | None, head_dim: int, expected: str | None) -> None:
    assert head_size_severity(version, head_dim) == expected


def test_unknown_version_is_named_in_the_note() -> None:
    rule = load_rules().get("dtype-bf16-auto-pre-ampere")
    problem = evaluate_rule(rule, None, lambda _variant: {"gpu": "Tesla T4", "capability": "7.5"})
    assert problem is not None
    assert problem.severity == "warn"
    assert problem.note is not None and "unknown" in problem.note
    # Worded as the lenient (newer) releases, which run the model as float16.
    assert "runs it as float16" in problem.message


def test_outside_known_versions_never_refuses() -> None:
    rule = load_rules().get("quantization-min-capability-gptq-marlin")  # only `<0.13.0` is known
    applicable = applicable_variants(rule, parse_engine_version("0.20.0"))
    assert not applicable.certain and not applicable.exhaustive
    problem = evaluate_rule(rule, parse_engine_version("0.20.0"), lambda _v: {"gpu": "T4", "capability": "7.5"})
    assert problem is not None and problem.severity == "warn"


def test_document_checks(document: dict[str, Any]) -> None:
    assert rules_from_document(document).get("no-visible-gpu").outcome == "refuse"

    def broken(change: Any) -> None:
        bad = copy.deepcopy(document)
        change(bad)
        with pytest.raises((KeyError, TypeError, ValueError)):
            rules_from_document(bad)

    broken(lambda d: d.update(schema="other"))
    broken(lambda d: d["rules"][0].update(evidence=[]))
    broken(lambda d: d["rules"][0].update(outcome="maybe"))
    broken(lambda d: d["rules"].append(copy.deepcopy(d["rules"][0])))
    broken(lambda d: d["rules"][0].update(variants=[{"versions": "<0.9"}, {"versions": ">=0.8"}]))
    broken(lambda d: d["rules"][0].update(variants=[]))
