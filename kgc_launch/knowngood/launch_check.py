"""The registry's verdict on a launch as the launcher's findings (`kgc_launch.launch.decide_launch`): the user's
registry over the recipes layer, each finding naming the layer and file it came from and the requirement's
whole why. `registry_finding` is the one place a registry requirement becomes a `Finding`: the launch and the
deploy check (`kgc_launch.deploy.check`) both build theirs with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kgc_launch.findings import Finding as LaunchFinding
from kgc_launch.findings import Severity

if TYPE_CHECKING:
    from kgc_launch.knowngood.check import CheckReport, Finding


def launch_findings(report: CheckReport) -> list[LaunchFinding]:
    """Refusals for what is missing, warnings for the rest; every one names its layer and file."""
    findings = [
        registry_finding(missing, "refuse", _message(missing, "requires"), origin=_origin(missing))
        for missing in report.missing_required
    ]
    if not report.passed and not findings:
        findings.append(LaunchFinding("refuse", report.reason or "the registry check failed", origin="registry"))
    findings += [
        registry_finding(warning, "warn", _message(warning, "recommends"), origin=_origin(warning))
        for warning in report.warnings
    ]
    findings += [
        registry_finding(item, "warn", f"not evaluated: {item.flag} ({item.not_evaluated})", origin=_origin(item))
        for item in report.not_evaluated
    ]
    return findings


def registry_finding(
    requirement: Finding, severity: Severity, message: str, *, origin: str, rule_id: str = ""
) -> LaunchFinding:
    """A requirement of the registry the launch does not meet, as a `Finding` worded by the caller (the launch
    tells the whole why, the deploy check one line of it): the registry's paste-ready fix and its evidence."""
    evidence = (requirement.evidence,) if requirement.evidence else ()
    return LaunchFinding(severity, message, fix=requirement.fix, origin=origin, rule_id=rule_id, evidence=evidence)


def _message(finding: Finding, verb: str) -> str:
    where = "the known-good registry" if finding.layer == "registry" else f"the {finding.layer} layer"
    if finding.kind == "refuse":
        text = f"{where} refuses this launch ({finding.severity}): {finding.flag}"
    elif finding.kind == "memory":
        text = f"{where} {verb} {finding.flag} ({'; '.join(finding.conflicts) or 'unknown'} here)"
    else:
        text = f"{where} {verb} {finding.flag} ({finding.severity})"
        if finding.why:
            text += f": {finding.why}"
    if finding.evidence and finding.layer != "registry":
        text += f" [evidence: {finding.evidence}]"
    return text


def _origin(finding: Finding) -> str:
    """`registry PATH` for the user's registry, `recipes layer PATH` for a layer under it."""
    name = "registry" if finding.layer == "registry" else f"{finding.layer} layer"
    return f"{name} {finding.source}" if finding.source else name
