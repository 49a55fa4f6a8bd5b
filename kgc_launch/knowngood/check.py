"""The fail-closed check of one launch against the registry. Pure: no I/O, no environment reads.

`check_launch` is what the launcher runs before exec'ing the engine and what the deploy scanner runs per
manifest; `kgc-launch check` is a thin command around it. A requirement of severity boot-blocker,
crash-high-c or deploy-correctness that applies and is not met fails the check; a missing `perf` flag is
a warning. A requirement whose scope cannot be decided applies, and says why (`applied_because`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kgc_launch.knowngood.match import FixParts, evaluate
from kgc_launch.knowngood.registry import Found, Registry
from kgc_launch.knowngood.schema import FAILING_SEVERITIES, RequiredFlag
from kgc_launch.knowngood.scope import Gpu, decide_scope
from kgc_launch.serve_args import ServeArgs, render_command_line

TOOL = "kgc-launch"


@dataclass(frozen=True)
class Finding:
    """A requirement that applies and is not met."""

    flag: str
    """The requirement as written in the registry (flag text, or NAME=VALUE for an environment variable)."""
    kind: Literal["flag", "env"]
    severity: str
    why: str | None
    affected: str | None
    evidence: str | None
    fix: str
    """Exactly what to add, shell-quoted (an environment assignment goes before the command)."""
    conflicts: tuple[str, ...] = ()
    """Settings in the launch that contradict it."""
    applied_because: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "kind": self.kind,
            "severity": self.severity,
            "why": self.why,
            "affected": self.affected,
            "evidence": self.evidence,
            "fix": self.fix,
            "conflicts": list(self.conflicts),
            "applied_because": self.applied_because,
        }


@dataclass
class CheckReport:
    """The verdict on one launch. `to_json` is a superset of the original tool's report."""

    registry: str
    model: str
    registered: bool
    engine: str
    engine_version: str | None
    checked_args: str
    matched_id: str | None = None
    verdict: Literal["pass", "fail"] = "pass"
    reason: str | None = None
    missing_required: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    satisfied: list[dict[str, Any]] = field(default_factory=list)
    not_applicable: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fix: str = ""
    """Everything missing (failing and perf), as one paste-ready line; empty when nothing is."""

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "tool": TOOL,
            "verb": "check",
            "registry": self.registry,
            "model": self.model,
            "registered": self.registered,
            "checked_args": self.checked_args,
            "verdict": self.verdict,
        }
        if self.reason is not None:
            data["reason"] = self.reason
        data |= {
            "missing_required": [finding.to_json() for finding in self.missing_required],
            "warnings": [finding.to_json() for finding in self.warnings],
            "satisfied": self.satisfied,
            "not_applicable": self.not_applicable,
            "engine": self.engine,
            "engine_version": self.engine_version,
            "matched_id": self.matched_id,
            "fix": self.fix,
            "notes": self.notes,
        }
        return data


def check_launch(
    registry: Registry,
    *,
    model_ids: Sequence[str],
    serve_args: ServeArgs,
    env: Mapping[str, str],
    engine: str,
    engine_version: str | None,
    gpus: Sequence[Gpu] | None,
    require_registered: bool,
) -> CheckReport:
    """Check one launch: the first of `model_ids` registered for `engine` (directly or by alias) is the entry.

    `gpus` holds (device name, compute capability) of the visible devices, or None when unknown.
    """
    ids = [model_id for model_id in model_ids if model_id]
    report = CheckReport(
        registry=str(registry.path),
        model=ids[0] if ids else "",
        registered=False,
        engine=engine,
        engine_version=engine_version,
        checked_args=render_command_line(serve_args),
        notes=list(serve_args.notes),
    )
    found = registry.find(ids, engine)
    if found is None:
        _unregistered(report, registry, ids, require_registered)
        return report
    _check_entry(report, found, serve_args, env, gpus)
    return report


def _unregistered(report: CheckReport, registry: Registry, ids: list[str], require_registered: bool) -> None:
    others = sorted({f.entry.engine for model_id in ids for f in registry.find_all(model_id)})
    elsewhere = f" (it is registered for {', '.join(others)})" if others else ""
    names = ", ".join(repr(model_id) for model_id in ids) or "no model id"
    if require_registered:
        report.verdict = "fail"
        report.reason = f"{names} is not registered for {report.engine}{elsewhere}, and registration is required"
    else:
        report.reason = f"{names} is not registered for {report.engine}{elsewhere}: nothing to check"


def _check_entry(
    report: CheckReport, found: Found, serve_args: ServeArgs, env: Mapping[str, str], gpus: Sequence[Gpu] | None
) -> None:
    entry = found.entry
    report.model, report.registered, report.matched_id = entry.model, True, found.matched_id
    if found.by_alias:
        report.notes.append(f"{found.matched_id!r} is an alias of {entry.model!r}")
    fix = FixParts()
    for requirement in entry.required_flags:
        scope = decide_scope(
            requirement.applies_when, engine=report.engine, engine_version=report.engine_version, gpus=gpus
        )
        if not scope.applies:
            report.not_applicable.append({"flag": requirement.text, "because": scope.because})
            continue
        what = f"{report.registry}: {entry.model}: {requirement.text}"
        outcome = evaluate(requirement, serve_args, env, rendered=report.checked_args, what=what)
        if outcome.satisfied:
            report.satisfied.append(
                {"flag": requirement.text, "matched_by": outcome.matched_by, "applied_because": scope.applied_because}
            )
            continue
        finding = _finding(requirement, outcome.fix.render(), outcome.conflicts, scope.applied_because)
        (report.missing_required if requirement.severity in FAILING_SEVERITIES else report.warnings).append(finding)
        fix.add(outcome.fix)
    report.fix = fix.render()
    if report.missing_required:
        report.verdict = "fail"
        severities = sorted({finding.severity for finding in report.missing_required})
        count = len(report.missing_required)
        report.reason = f"{count} required flag{'s' if count > 1 else ''} missing ({', '.join(severities)})"


def _finding(requirement: RequiredFlag, fix: str, conflicts: tuple[str, ...], applied_because: str | None) -> Finding:
    return Finding(
        flag=requirement.text,
        kind="env" if requirement.env is not None else "flag",
        severity=requirement.severity,
        why=requirement.why,
        affected=requirement.affected,
        evidence=requirement.evidence,
        fix=fix,
        conflicts=conflicts,
        applied_because=applied_because,
    )
