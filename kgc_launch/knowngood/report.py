"""Readable text for the registry commands' results (JSON comes from the results' `to_json`)."""

from __future__ import annotations

from collections.abc import Sequence

from kgc_launch.knowngood.check import CheckReport, Finding
from kgc_launch.knowngood.match import FixParts, spellings
from kgc_launch.knowngood.registry import Found
from kgc_launch.knowngood.schema import AppliesWhen
from kgc_launch.knowngood.scope import Gpu, decide_scope
from kgc_launch.records import to_plain

FIX_LABEL = "add to the command (NAME=VALUE words go before the command, flags after it):"


def render_check(report: CheckReport, *, registry: str, heading: str | None = None) -> str:
    """One launch's verdict; when anything is missing the last line is all of it, paste-ready."""
    lines = [] if heading is None else [heading]
    lines.append(f"registry: {registry}")
    if report.registered:
        alias = f"; found by its alias {report.matched_id!r}" if report.matched_id != report.model else ""
        lines.append(f"model:    {report.model} (registered for {report.engine}{alias})")
    else:
        lines.append(f"model:    {report.model or '(none)'} (not registered for {report.engine})")
    lines.append(f"args:     {report.checked_args}")
    for finding in report.missing_required:
        lines += _finding_lines("MISSING", finding)
    for finding in report.warnings:
        lines += _finding_lines("WARN   ", finding)
    for item in report.satisfied:
        lines.append(f"ok       {item['flag']}  (matched by {item['matched_by']})")
    for item in report.not_applicable:
        lines.append(f"n/a      {item['flag']}  ({item['because']})")
    lines += [f"note:    {note}" for note in report.notes]
    verdict = "PASS" if report.passed else "FAIL"
    lines.append(f"verdict: {verdict}" + (f": {report.reason}" if report.reason else ""))
    if report.fix:
        lines += [FIX_LABEL, report.fix]
    return "\n".join(lines)


def _finding_lines(label: str, finding: Finding) -> list[str]:
    lines = [f"{label}  [{finding.severity}] {finding.flag}"]
    for name, value in (("why", finding.why), ("affected", finding.affected), ("evidence", finding.evidence)):
        if value:
            lines.append(f"           {name}: {value}")
    if finding.conflicts:
        lines.append(f"           contradicted by: {'; '.join(finding.conflicts)}")
    if finding.applied_because:
        lines.append(f"           applies because: {finding.applied_because}")
    lines.append(f"           fix: {finding.fix}")
    return lines


def render_show_entry(
    found: Found, *, engine_version: str | None, gpus: Sequence[Gpu] | None
) -> tuple[str, list[dict[str, object]]]:
    """An entry for `show`, with each flag's scope and whether it applies here; and the flags as data."""
    entry = found.entry
    lines = [f"{entry.model}  (engine {entry.engine})"]
    if found.by_alias:
        lines.append(f"  found by its alias {found.matched_id!r}")
    for name in ("aliases", "slug", "arch", "hardware", "fallback", "grind_frontier", "notes"):
        value = getattr(entry, name)
        if value:
            lines.append(f"  {name}: {', '.join(value) if isinstance(value, list) else value}")
    if entry.champion is not None:
        champion = entry.champion
        lines.append(
            f"  champion: {champion.verdict or '-'} ({champion.config_ref or '-'}; {champion.campaign or '-'})"
        )
    lines.append("  required flags:")
    fix = FixParts()
    flags: list[dict[str, object]] = []
    for requirement in entry.required_flags:
        decision = decide_scope(requirement.applies_when, engine=entry.engine, engine_version=engine_version, gpus=gpus)
        here = "applies here" if decision.applies else f"does not apply here: {decision.because}"
        if decision.applied_because:
            here = f"applies here ({decision.applied_because})"
        lines.append(f"    [{requirement.severity}] {requirement.text}")
        if requirement.equivalents:
            lines.append(f"        equivalents: {'; '.join(requirement.equivalents)}")
        if requirement.match is not None:
            lines.append(f"        match: /{requirement.match}/")
        lines.append(f"        scope: {describe_scope(requirement.applies_when)}; {here}")
        for name in ("why", "affected", "evidence"):
            value = getattr(requirement, name)
            if value:
                lines.append(f"        {name}: {value}")
        if decision.applies:
            own = spellings(requirement)[0]
            fix.add(FixParts(env=dict([own.env])) if own.env else FixParts(options=dict(own.options)))
        flags.append(
            {
                **to_plain(requirement),
                "applies_here": decision.applies,
                "because": decision.because,
                "applied_because": decision.applied_because,
            }
        )
    if fix:
        lines += ["  paste-ready (what applies here):", "  " + fix.render()]
    return "\n".join(lines), flags


def describe_scope(scope: AppliesWhen | None) -> str:
    if scope is None:
        return "everywhere"
    parts = []
    if scope.engine_version is not None:
        parts.append(f"engine version {scope.engine_version}")
    if scope.compute_capability is not None:
        parts.append(f"compute capability {scope.compute_capability}")
    if scope.gpus is not None:
        parts.append("GPUs " + " or ".join(scope.gpus))
    return ", ".join(parts) or "everywhere"
