from __future__ import annotations

from kgc_launch.knowngood.schema import AppliesWhen
from kgc_launch.knowngood.scope import decide_scope

BLACKWELL = AppliesWhen(engine_version=">0.21.0", compute_capability=">=10.0,<11")
B200 = [("NVIDIA B200", "10.0")]
H100 = [("NVIDIA H100 80GB HBM3", "9.0")]


def test_no_scope_applies_everywhere() -> None:
    decision = decide_scope(None, engine="vllm", engine_version=None, gpus=None)
    assert decision.applies and decision.applied_because is None


def test_inside_and_outside_the_scope() -> None:
    assert decide_scope(BLACKWELL, engine="vllm", engine_version="0.22.1", gpus=B200).applies
    outside = decide_scope(BLACKWELL, engine="vllm", engine_version="0.21.0", gpus=B200)
    assert not outside.applies and "0.21.0 is outside >0.21.0" in str(outside.because)
    hopper = decide_scope(BLACKWELL, engine="vllm", engine_version="0.22.1", gpus=H100)
    assert not hopper.applies and "H100" in str(hopper.because)


def test_dev_builds_and_release_candidates_are_inside_a_range() -> None:
    for version in ("0.21.1.dev47+g191e3fdaa", "0.22.0rc1", "0.28.1rc1.dev388+g8a728663c"):
        assert decide_scope(BLACKWELL, engine="vllm", engine_version=version, gpus=B200).applies, version


def test_what_cannot_be_decided_applies_and_says_why() -> None:
    decision = decide_scope(BLACKWELL, engine="vllm", engine_version=None, gpus=None)
    assert decision.applies
    assert "vllm version is unknown" in str(decision.applied_because)
    assert "no GPU information" in str(decision.applied_because)
    odd = decide_scope(BLACKWELL, engine="vllm", engine_version="main", gpus=[("NVIDIA B200", None)])
    assert odd.applies and "not a PEP 440 version" in str(odd.applied_because)
    assert "capability unknown" in str(odd.applied_because)


def test_one_definite_no_beats_what_is_unknown() -> None:
    decision = decide_scope(BLACKWELL, engine="vllm", engine_version="0.20.2", gpus=None)
    assert not decision.applies


def test_gpu_patterns_match_any_visible_device_case_insensitively() -> None:
    scope = AppliesWhen(gpus=["*rtx 3090*"])
    mixed = [("NVIDIA GeForce RTX 3090 Ti", "8.6"), ("NVIDIA GeForce RTX 4090", "8.9")]
    assert decide_scope(scope, engine="vllm", engine_version=None, gpus=mixed).applies
    assert not decide_scope(scope, engine="vllm", engine_version=None, gpus=H100).applies


def test_name_and_capability_must_hold_on_the_same_gpu() -> None:
    scope = AppliesWhen(gpus=["*H100*"], compute_capability="==9.0")
    assert decide_scope(scope, engine="vllm", engine_version=None, gpus=H100).applies
    assert not decide_scope(scope, engine="vllm", engine_version=None, gpus=[("NVIDIA H100 X", "10.0")]).applies


def test_one_reading_of_a_pre_release_for_the_rules_and_the_registry() -> None:
    """0.14.0rc1 sits between 0.13 and 0.14.0: a boundary at 0.14.0 is undecidable (fail-closed: applies,
    saying why), one elsewhere is decided; the vLLM rules read it as inexact the same way."""
    from kgc_launch.versions import in_specifier, parse_engine_version

    rc = parse_engine_version("0.14.0rc1")
    assert rc is not None and rc.release == (0, 14) and not rc.exact
    assert in_specifier(rc, "<0.14.0") is None and in_specifier(rc, ">=0.14.0") is None
    assert in_specifier(rc, ">0.12") is True and in_specifier(rc, "<0.12") is False
    exact = parse_engine_version("0.14.0")
    assert exact is not None and in_specifier(exact, "<0.14.0") is False
    edge = decide_scope(AppliesWhen(engine_version="<0.14.0"), engine="vllm", engine_version="0.14.0rc1", gpus=None)
    assert edge.applies and edge.applied_because is not None and "pre-release" in edge.applied_because
