"""The registry's verdict on a launch as the launcher's findings (`kgc_launch.launch.decide_launch`): the user's
registry over the recipes layer, each finding naming the layer and file it came from and the requirement's
whole why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kgc_launch.findings import Finding as LaunchFinding

if TYPE_CHECKING:
    from kgc_launch.knowngood.check import CheckReport, Finding


def launch_findings(report: CheckReport) -> list[LaunchFinding]:
    """Refusals for what is missing, warnings for the rest; every one names its layer and file."""
    findings = [
        LaunchFinding(
            "refuse",
            _message(missing, "requires"),
            fix=missing.fix,
            origin=_origin(missing),
            evidence=(missing.evidence,) if missing.evidence else (),
        )
        for missing in report.missing_required
    ]
    if not report.passed and not findings:
        findings.append(LaunchFinding("refuse", report.reason or "the registry check failed", origin="registry"))
    findings += [
        LaunchFinding(
            "warn",
            _message(warning, "recommends"),
            fix=warning.fix,
            origin=_origin(warning),
            evidence=(warning.evidence,) if warning.evidence else (),
        )
        for warning in report.warnings
    ]
    findings += [
        LaunchFinding(
            "warn",
            f"not evaluated: {item.flag} ({item.not_evaluated})",
            fix=item.fix,
            origin=_origin(item),
            evidence=(item.evidence,) if item.evidence else (),
        )
        for item in report.not_evaluated
    ]
    return findings


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
