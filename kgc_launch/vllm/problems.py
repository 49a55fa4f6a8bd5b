"""What the resolver found wrong: a `Finding` per triggered rule, refused or warned, with the fix to paste.

`evaluate_rule` is where the certainty policy of `kgc_launch.vllm.rules` turns into a severity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kgc_launch.findings import Finding, Severity
from kgc_launch.versions import EngineVersion
from kgc_launch.vllm.rules import Outcome, Rule, Variant, applicable_variants

Fields = Mapping[str, Any]
Trigger = Callable[[Variant], Fields | None]
"""Evaluates a rule's condition with one variant's parameters: the message fields when it holds, else None."""

NO_FIX = "no_fix"
"""A field a trigger sets (to anything) when the rule's fix does not apply this time."""


def evaluate_rule(rule: Rule, version: EngineVersion | None, trigger: Trigger) -> Finding | None:
    """Apply the variants that fit `version`; a refusal stands only when it holds in all of them."""
    applicable = applicable_variants(rule, version)
    fired = [(variant, fields) for variant in applicable.variants if (fields := trigger(variant)) is not None]
    if not fired:
        return None
    outcomes = [variant_outcome(rule, each) for each, _ in fired]
    note = None
    if applicable.certain:
        severity: Severity = outcomes[0]
    elif len(fired) == len(applicable.variants) and applicable.exhaustive:
        severity = "warn" if "warn" in outcomes else "refuse"
        note = f"holds in every vLLM version this rule knows ({applicable.why})"
    else:
        severity = "warn"
        if "refuse" in outcomes:
            note = f"not refused: {applicable.why}, and vLLM behaves differently across versions here"
    # Word the problem as the variant whose outcome it carries (a warning reads as the lenient release).
    variant, fields = next(((v, f) for v, f in fired if variant_outcome(rule, v) == severity), fired[0])
    return Finding(
        severity=severity,
        message=_render(variant.message or rule.message, variant, fields),
        fix=None if NO_FIX in fields else _render_optional(variant.fix or rule.fix, variant, fields),
        origin="vllm-rule",
        rule_id=rule.id,
        evidence=rule.evidence + variant.evidence,
        vllm_says=rule.vllm_says,
        note=note,
    )


def variant_outcome(rule: Rule, variant: Variant) -> Outcome:
    return variant.outcome or rule.outcome


def _render(template: str, variant: Variant, fields: Fields) -> str:
    values = {**variant.params, **fields, "versions": variant.versions.describe()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        # A template/field mismatch is a data bug; show the template rather than fail the launch.
        return template


def _render_optional(template: str | None, variant: Variant, fields: Fields) -> str | None:
    return None if template is None else _render(template, variant, fields)
