"""vLLM's hardware and engine rules as versioned data (`registry/vllm-rules.json`), and how a version picks one.

A rule names what vLLM checks (or fails on) late, at start-up or on the first request; the resolver
evaluates its condition with the parameters of the variant that applies to the installed vLLM version.

How a version picks variants (the certainty policy):
- a known release inside one variant's range: that variant alone, with its outcome;
- a known release between two variants (a gap: the change landed somewhere in it, the data does not
  say where): both neighbours are evaluated;
- an unknown version, a pre-release or a development build: every variant is evaluated.
When several variants are evaluated, the rule keeps its outcome only if all of them trigger and the
variants cover every version (the first is open below, the last open above); otherwise a refusal becomes
a warning that says why. A refusal needs certainty.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from kgc_launch.data import shipped_file
from kgc_launch.errors import InputError
from kgc_launch.filecache import load_json
from kgc_launch.versions import EngineVersion, VersionRange, parse_range

RULES_FILE = "vllm-rules.json"
SCHEMA = "kgc_vllm_rules_v1"

Outcome = Literal["refuse", "warn"]
_OUTCOMES: tuple[Outcome, ...] = ("refuse", "warn")


@dataclass(frozen=True)
class Variant:
    """How a rule behaves over one range of vLLM versions."""

    versions: VersionRange
    params: Mapping[str, Any]
    outcome: Outcome | None = None
    """Overrides the rule's outcome for this range (vLLM refused in old releases, warns in new ones)."""
    message: str | None = None
    fix: str | None = None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    """Which resolver check evaluates it; several rules may share a kind (one per quantization method)."""
    description: str
    condition: str
    """The condition in words, for people reading the data or the docs."""
    outcome: Outcome
    message: str
    """A `str.format` template filled with the fields the check supplies."""
    fix: str | None
    evidence: tuple[str, ...]
    variants: tuple[Variant, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    vllm_says: str | None = None
    """vLLM's own words when it fails, so a user can match the refusal to the log they know."""

    def covers_every_version(self) -> bool:
        """True when the variants leave no version uncovered below the first or above the last."""
        ordered = _ordered(self.variants)
        return ordered[0].versions.since is None and ordered[-1].versions.until is None


@dataclass(frozen=True)
class Applicable:
    """The variants that apply to a version, and whether that choice is certain."""

    variants: tuple[Variant, ...]
    certain: bool
    exhaustive: bool
    """True when the variants listed are all the behaviours the version can have (a gap's two neighbours,
    or every variant of a rule that covers every version)."""
    why: str = ""
    """When not certain: why several variants had to be considered."""


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    defaults: Mapping[str, Any]
    """Non-rule data: the scheduler defaults vLLM picks by itself, backend names."""

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def of_kind(self, kind: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.kind == kind)


def applicable_variants(rule: Rule, version: EngineVersion | None) -> Applicable:
    """The variants of `rule` that may describe `version` (see the module docstring)."""
    ordered = _ordered(rule.variants)
    covered = rule.covers_every_version()
    if len(ordered) == 1 and covered:
        return Applicable(ordered, certain=True, exhaustive=True)  # one behaviour in every version
    if version is None:
        return Applicable(ordered, certain=False, exhaustive=covered, why="the vLLM version is unknown")
    if not version.known or version.release is None:
        return Applicable(ordered, certain=False, exhaustive=covered, why=version.why_inexact())
    release = version.release
    for variant in ordered:
        if variant.versions.contains(release):
            return Applicable((variant,), certain=True, exhaustive=True)
    below = [v for v in ordered if v.versions.until is not None and v.versions.until <= release]
    above = [v for v in ordered if v.versions.since is not None and v.versions.since > release]
    neighbours = tuple(below[-1:] + above[:1])
    if below and above:
        why = f"the data does not pin how vLLM {version.text} behaves"
        return Applicable(neighbours, certain=False, exhaustive=True, why=why)
    why = f"vLLM {version.text} is outside this rule's known versions"
    return Applicable(neighbours, certain=False, exhaustive=False, why=why)


def _ordered(variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
    return tuple(sorted(variants, key=lambda v: v.versions.since or ()))


@lru_cache(maxsize=1)
def load_rules() -> RuleSet:
    """The shipped rules, read once with the standard library (no YAML on the launch path)."""
    path = shipped_file(RULES_FILE)
    try:
        document = load_json(path)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read the shipped vLLM rules: {error}", path=path) from None
    try:
        return rules_from_document(document)
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"the shipped vLLM rules are malformed: {error}", path=path) from None


def rules_from_document(document: Mapping[str, Any]) -> RuleSet:
    """Build a RuleSet from the JSON document; raises KeyError/TypeError/ValueError on bad data."""
    if document.get("schema") != SCHEMA:
        raise ValueError(f"schema must be {SCHEMA!r}")
    rules = tuple(_rule(entry) for entry in document["rules"])
    ids = [rule.id for rule in rules]
    duplicated = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicated:
        raise ValueError(f"duplicated rule ids: {', '.join(duplicated)}")
    return RuleSet(rules=rules, defaults=document.get("defaults", {}))


def _rule(entry: Mapping[str, Any]) -> Rule:
    rule_id = str(entry["id"])
    evidence = tuple(str(item) for item in entry["evidence"])
    if not evidence:
        raise ValueError(f"rule {rule_id}: a rule needs evidence")
    variants = tuple(_variant(rule_id, item) for item in entry["variants"])
    if not variants:
        raise ValueError(f"rule {rule_id}: at least one variant is needed")
    _check_disjoint(rule_id, variants)
    return Rule(
        id=rule_id,
        kind=str(entry["kind"]),
        description=str(entry["description"]),
        condition=str(entry["condition"]),
        outcome=_outcome(rule_id, entry["outcome"]),
        message=str(entry["message"]),
        fix=None if entry.get("fix") is None else str(entry["fix"]),
        evidence=evidence,
        variants=variants,
        params=dict(entry.get("params", {})),
        vllm_says=entry.get("vllm_says"),
    )


def _variant(rule_id: str, entry: Mapping[str, Any]) -> Variant:
    outcome = entry.get("outcome")
    return Variant(
        versions=parse_range(str(entry.get("versions", ""))),
        params=dict(entry.get("params", {})),
        outcome=None if outcome is None else _outcome(rule_id, outcome),
        message=entry.get("message"),
        fix=entry.get("fix"),
        evidence=tuple(str(item) for item in entry.get("evidence", ())),
    )


def _outcome(rule_id: str, value: Any) -> Outcome:
    for outcome in _OUTCOMES:
        if value == outcome:
            return outcome
    raise ValueError(f"rule {rule_id}: outcome must be refuse or warn, not {value!r}")


def _check_disjoint(rule_id: str, variants: tuple[Variant, ...]) -> None:
    ordered = _ordered(variants)
    for first, second in itertools.pairwise(ordered):
        first_until, second_since = first.versions.until, second.versions.since
        if first_until is None or second_since is None or second_since < first_until:
            raise ValueError(
                f"rule {rule_id}: variant ranges {first.versions.text!r} and {second.versions.text!r} overlap"
            )
