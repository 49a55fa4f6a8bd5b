"""The registry check of a launch (`kgc_launch.launch` calls `check_for_launch`): the user's registry over the
recipes layer, and the launcher's findings from the verdict, each naming the layer and file it came from."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgc_launch.findings import Finding as LaunchFinding
from kgc_launch.findings import first_sentence

if TYPE_CHECKING:
    from kgc_launch.hardware.inventory import Inventory
    from kgc_launch.knowngood.check import CheckReport, Finding


def check_for_launch(
    *,
    registry: str | None,
    no_recipes: bool,
    model_ids: list[str],
    serve_args: Any,
    env: Mapping[str, str],
    engine: str,
    engine_version: str | None,
    inventory: Inventory,
    require_registered: bool,
    environ: Mapping[str, str],
    cwd: Path,
) -> tuple[str, dict[str, Any], list[LaunchFinding]]:
    """(registry path, the report as JSON, the launcher's findings) for one launch."""
    from kgc_launch.knowngood.check import check_launch
    from kgc_launch.knowngood.layers import open_layered
    from kgc_launch.knowngood.load import locate_registry

    path = locate_registry(registry, environ, cwd)
    layered = open_layered(path, no_recipes=no_recipes, environ=environ)
    visible = inventory.visible
    gpus = [(device.name, device.compute_capability) for device in visible] if visible else None
    sizes = [device.memory_total_bytes for device in visible]
    memory = sum(size for size in sizes if size is not None) if visible and None not in sizes else None
    report = check_launch(
        layered,
        model_ids=model_ids,
        serve_args=serve_args,
        env=env,
        engine=engine,
        engine_version=engine_version,
        gpus=gpus,
        require_registered=require_registered,
        gpu_memory_bytes=memory,
    )
    return str(path), report.to_json(), launch_findings(report)


def launch_findings(report: CheckReport) -> list[LaunchFinding]:
    """Refusals for what is missing, warnings for the rest; every one names its layer and file."""
    findings = [
        LaunchFinding(
            "refuse",
            _message(missing, "requires"),
            fix=missing.fix,
            origin=_origin(missing),
            evidence=[missing.evidence] if missing.evidence else [],
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
            evidence=[warning.evidence] if warning.evidence else [],
        )
        for warning in report.warnings
    ]
    findings += [
        LaunchFinding(
            "warn",
            f"not evaluated: {item.flag} ({item.not_evaluated})",
            fix=item.fix,
            origin=_origin(item),
            evidence=[item.evidence] if item.evidence else [],
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
            text += f": {first_sentence(finding.why)}"
    if finding.evidence and finding.layer != "registry":
        text += f" [evidence: {finding.evidence}]"
    return text


def _origin(finding: Finding) -> str:
    """`registry PATH` for the user's registry, `recipes layer PATH` for a layer under it."""
    name = "registry" if finding.layer == "registry" else f"{finding.layer} layer"
    return f"{name} {finding.source}" if finding.source else name
