"""The fail-closed check of one launch against the registry. Pure: no I/O, no environment reads.

`check_launch` is what the launcher runs before exec'ing the engine and what the deploy scanner runs per
manifest; `kgc-launch check` is a thin command around it. A requirement of severity boot-blocker,
crash-high-c or deploy-correctness that applies and is not met fails the check; a missing `perf` flag is
a warning. A requirement whose scope cannot be decided applies, and says why (`applied_because`).

A `refuse` requirement (no flag fixes it: an engine too old for the architecture, unsupported hardware)
fails where its scope is decided and holds; where its scope cannot be decided it is "not evaluated" (with
why), never a refusal. An entry's `vram_minimum_gb` is compared with the visible GPUs' total memory: less is
a warning. Every finding names the layer and file its requirement came from (`Origin`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from kgc_launch.knowngood.match import FixParts, evaluate
from kgc_launch.knowngood.registry import USER_LAYER, Found, Origin, Registry
from kgc_launch.knowngood.schema import FAILING_SEVERITIES, RequiredFlag
from kgc_launch.knowngood.scope import Gpu, decide_scope
from kgc_launch.serve_args import ServeArgs, render_command_line

TOOL = "kgc-launch"


@dataclass(frozen=True)
class Finding:
    """A requirement that applies and is not met."""

    flag: str
    """The requirement as written in the registry (flag text, NAME=VALUE for an environment variable, or what
    is wrong for a `refuse` or memory requirement)."""
    kind: Literal["flag", "env", "refuse", "memory"]
    severity: str
    why: str | None
    affected: str | None
    evidence: str | None
    fix: str
    """Exactly what to add, shell-quoted (an environment assignment goes before the command); for `refuse`
    and `memory`, what to do, in words."""
    conflicts: tuple[str, ...] = ()
    """Settings in the launch that contradict it."""
    applied_because: str | None = None
    layer: str = USER_LAYER
    """The layer the requirement came from: `registry` (the user's) or a generated layer (`recipes`)."""
    source: str = ""
    """The file of that layer."""
    not_evaluated: str | None = None
    """Why it could not be evaluated (only in `CheckReport.not_evaluated`)."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "flag": self.flag,
            "kind": self.kind,
            "severity": self.severity,
            "why": self.why,
            "affected": self.affected,
            "evidence": self.evidence,
            "fix": self.fix,
            "conflicts": list(self.conflicts),
            "applied_because": self.applied_because,
            "layer": self.layer,
            "source": self.source,
        }
        if self.not_evaluated is not None:
            data["not_evaluated"] = self.not_evaluated
        return data


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
    not_evaluated: list[Finding] = field(default_factory=list)
    """Requirements that apply unless the launch is known to be fine, but whose scope (or the GPUs' memory)
    is unknown here: neither a pass nor a refusal. The launcher shows them as warnings."""
    layers: list[str] = field(default_factory=list)
    """The layers the entry was made of (`registry`, `recipes`), when the model is registered."""
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
            "not_evaluated": [finding.to_json() for finding in self.not_evaluated],
            "layers": self.layers,
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
    gpu_memory_bytes: int | None = None,
) -> CheckReport:
    """Check one launch: the first of `model_ids` registered for `engine` (directly or by alias) is the entry.

    `gpus` holds (device name, compute capability) of the visible devices, or None when unknown;
    `gpu_memory_bytes` their total memory, or None when unknown.
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
    _check_entry(report, found, serve_args, env, gpus, Origin(registry.layer_name, str(registry.path)))
    _check_memory(report, found, gpu_memory_bytes, gpus, Origin(registry.layer_name, str(registry.path)))
    _verdict(report)
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
    report: CheckReport,
    found: Found,
    serve_args: ServeArgs,
    env: Mapping[str, str],
    gpus: Sequence[Gpu] | None,
    home: Origin,
) -> None:
    entry = found.entry
    report.model, report.registered, report.matched_id = entry.model, True, found.matched_id
    report.layers = list(found.layers)
    if found.by_alias:
        report.notes.append(f"{found.matched_id!r} is an alias of {entry.model!r}")
    fix = FixParts()
    applied: set[tuple[str, str]] = set()
    for number, requirement in enumerate(entry.required_flags):
        origin = found.flag_origin(number, home)
        where = {"layer": origin.layer, "source": origin.file}
        scope = decide_scope(
            requirement.applies_when, engine=report.engine, engine_version=report.engine_version, gpus=gpus
        )
        if not scope.applies:
            report.not_applicable.append({"flag": requirement.text, "because": scope.because, **where})
            continue
        # One requirement written for several scopes (an imported layer splits a flag set on all GPUs but
        # some) is reported once where more than one of its scopes applies.
        if (requirement.text, requirement.severity) in applied:
            continue
        applied.add((requirement.text, requirement.severity))
        if requirement.refuse is not None:
            _check_refusal(report, requirement, scope.applied_because, origin)
            continue
        what = f"{origin.file}: {entry.model}: {requirement.text}"
        outcome = evaluate(requirement, serve_args, env, rendered=report.checked_args, what=what)
        if outcome.satisfied:
            report.satisfied.append(
                {
                    "flag": requirement.text,
                    "matched_by": outcome.matched_by,
                    "applied_because": scope.applied_because,
                    **where,
                }
            )
            continue
        finding = _finding(requirement, outcome.fix.render(), outcome.conflicts, scope.applied_because, origin)
        (report.missing_required if requirement.severity in FAILING_SEVERITIES else report.warnings).append(finding)
        fix.add(outcome.fix)
    report.fix = fix.render()
    texts = {text for text, _ in applied}
    report.not_applicable = [item for item in report.not_applicable if item["flag"] not in texts]


def _check_refusal(report: CheckReport, requirement: RequiredFlag, undecided: str | None, origin: Origin) -> None:
    """A `refuse` requirement that applies: a refusal (or a warning) when decided, else not evaluated."""
    finding = _finding(requirement, requirement.fix or "", (), undecided, origin)
    if undecided is not None:
        why = undecided.removesuffix(" (fail-closed: it applies)")
        report.not_evaluated.append(replace(finding, applied_because=None, not_evaluated=why))
    elif requirement.severity in FAILING_SEVERITIES:
        report.missing_required.append(finding)
    else:
        report.warnings.append(finding)


def _check_memory(
    report: CheckReport, found: Found, memory: int | None, gpus: Sequence[Gpu] | None, home: Origin
) -> None:
    """The entry's `vram_minimum_gb` against the visible GPUs' total memory: a warning when less."""
    needed = found.entry.vram_minimum_gb
    if needed is None:
        return
    origin = found.field_origin("vram_minimum_gb", home)
    text = f"GPU memory >= {needed:g} GB in all"
    finding = Finding(
        flag=text,
        kind="memory",
        severity="perf",
        why=f"{found.entry.model} needs about {needed:g} GB of GPU memory (weights and KV cache) per its source",
        affected=None,
        evidence=found.entry.source,
        fix="more or larger GPUs, or a smaller variant (the memory plan decides whether it fits)",
        layer=origin.layer,
        source=origin.file,
    )
    if memory is None:
        why = "the GPUs' memory is unknown" if gpus else "there is no GPU information"
        report.not_evaluated.append(replace(finding, not_evaluated=why))
        return
    have = memory / 1e9
    count = len(gpus) if gpus else 0
    here = f"{have:.0f} GB on {count} GPU{'s' if count != 1 else ''}"
    if have >= needed:
        matched = {"flag": text, "matched_by": here, "applied_because": None}
        report.satisfied.append({**matched, "layer": origin.layer, "source": origin.file})
    else:
        report.warnings.append(replace(finding, conflicts=(here,)))


def _verdict(report: CheckReport) -> None:
    if not report.missing_required:
        return
    report.verdict = "fail"
    severities = sorted({finding.severity for finding in report.missing_required})
    count = len(report.missing_required)
    refusals = sum(1 for finding in report.missing_required if finding.kind == "refuse")
    if refusals == count:
        report.reason = f"refused by {count} requirement{'s' if count > 1 else ''} ({', '.join(severities)})"
    else:
        flags = count - refusals
        report.reason = f"{flags} required flag{'s' if flags > 1 else ''} missing ({', '.join(severities)})"
        if refusals:
            report.reason += f", and refused by {refusals} requirement{'s' if refusals > 1 else ''}"


def _finding(
    requirement: RequiredFlag, fix: str, conflicts: tuple[str, ...], applied_because: str | None, origin: Origin
) -> Finding:
    kind: Literal["flag", "env", "refuse"] = (
        "refuse" if requirement.refuse is not None else "env" if requirement.env is not None else "flag"
    )
    return Finding(
        flag=requirement.text,
        kind=kind,
        severity=requirement.severity,
        why=requirement.why,
        affected=requirement.affected,
        evidence=requirement.evidence,
        fix=fix,
        conflicts=conflicts,
        applied_because=applied_because,
        layer=origin.layer,
        source=origin.file,
    )
