"""Readable text for the registry commands' results (JSON comes from the results' `to_json`)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from kgc_launch.knowngood.check import CheckReport, Finding
from kgc_launch.knowngood.match import FixParts, spellings
from kgc_launch.knowngood.registry import Found, Origin
from kgc_launch.knowngood.schema import AppliesWhen, ModelEntry
from kgc_launch.knowngood.scope import Gpu, decide_scope
from kgc_launch.records import to_plain

FIX_LABEL = "add to the command (NAME=VALUE words go before the command, flags after it):"


def render_check(report: CheckReport, *, registry: str, heading: str | None = None, layers: Sequence[str] = ()) -> str:
    """One launch's verdict; when anything is missing the last line is all of it, paste-ready."""
    lines = [] if heading is None else [heading]
    lines.append(f"registry: {registry}")
    lines += [f"  under it, the {layer}" for layer in layers]
    if report.registered:
        alias = f"; found by its alias {report.matched_id!r}" if report.matched_id != report.model else ""
        made_of = f"; from {' + '.join(report.layers)}" if report.layers and report.layers != ["registry"] else ""
        lines.append(f"model:    {report.model} (registered for {report.engine}{alias}{made_of})")
    else:
        lines.append(f"model:    {report.model or '(none)'} (not registered for {report.engine})")
    lines.append(f"args:     {report.checked_args}")
    named = bool(layers)
    for finding in report.missing_required:
        lines += _finding_lines("MISSING", finding, named)
    for finding in report.warnings:
        lines += _finding_lines("WARN   ", finding, named)
    for finding in report.not_evaluated:
        lines.append(f"NOT EVALUATED  [{finding.severity}] {finding.flag}")
        lines.append(f"           because: {finding.not_evaluated}")
        lines += _from_lines(finding, named)
    for item in report.satisfied:
        lines.append(f"ok       {item['flag']}  (matched by {item['matched_by']}){_layer_mark(item)}")
    for item in report.not_applicable:
        lines.append(f"n/a      {item['flag']}  ({item['because']}){_layer_mark(item)}")
    lines += [f"note:    {note}" for note in report.notes]
    verdict = "PASS" if report.passed else "FAIL"
    lines.append(f"verdict: {verdict}" + (f": {report.reason}" if report.reason else ""))
    if report.fix:
        lines += [FIX_LABEL, report.fix]
    return "\n".join(lines)


def _finding_lines(label: str, finding: Finding, named: bool) -> list[str]:
    lines = [f"{label}  [{finding.severity}] {finding.flag}"]
    for name, value in (("why", finding.why), ("affected", finding.affected), ("evidence", finding.evidence)):
        if value:
            lines.append(f"           {name}: {value}")
    if finding.conflicts:
        lines.append(f"           contradicted by: {'; '.join(finding.conflicts)}")
    if finding.applied_because:
        lines.append(f"           applies because: {finding.applied_because}")
    lines += _from_lines(finding, named)
    lines.append(f"           fix: {finding.fix}")
    return lines


def _from_lines(finding: Finding, named: bool) -> list[str]:
    """Where the requirement came from, when the registry has layers under it (otherwise it is the registry)."""
    if finding.layer == "registry" and not named:
        return []
    where = "registry" if finding.layer == "registry" else f"{finding.layer} layer"
    return [f"           from: {where} {finding.source}"]


def _layer_mark(item: dict[str, object]) -> str:
    return "" if item.get("layer", "registry") == "registry" else f"  [{item['layer']}]"


@dataclass
class ShowResult:
    text: str
    flags: list[dict[str, object]]
    options: list[dict[str, object]]
    paste: str | None
    """The command to paste for this hardware: environment, `vllm serve MODEL`, the flags that apply."""


def render_show_entry(
    found: Found,
    *,
    engine_version: str | None,
    gpus: Sequence[Gpu] | None,
    home: Origin,
    memory_bytes: int | None = None,
) -> ShowResult:
    """An entry for `show`: each requirement's scope and layer, whether it applies here, the options, the
    verified hardware, the minimum engine version, and the command to paste here."""
    entry = found.entry
    layers = " + ".join(found.layers)
    lines = [f"{entry.model}  (engine {entry.engine}; from {layers})"]
    if found.by_alias:
        lines.append(f"  found by its alias {found.matched_id!r}")
    for name in ("aliases", "slug", "arch", "hardware", "fallback", "grind_frontier", "notes", "source"):
        value = getattr(entry, name)
        if value:
            lines.append(f"  {name}: {', '.join(value) if isinstance(value, list) else value}")
    if entry.champion is not None:
        champion = entry.champion
        lines.append(
            f"  champion: {champion.verdict or '-'} ({champion.config_ref or '-'}; {champion.campaign or '-'})"
        )
    lines.append(f"  verified hardware (shown, never required): {', '.join(entry.verified_hardware) or '-'}")
    minimum = minimum_engine_version(entry)
    engine = "vLLM" if entry.engine == "vllm" else entry.engine
    lines.append(f"  minimum {engine}: {minimum or '-'}" + _version_here(minimum, engine_version))
    if entry.vram_minimum_gb is not None:
        here = "" if memory_bytes is None else f"; here: {memory_bytes / 1e9:.0f} GB"
        lines.append(f"  GPU memory: >= {entry.vram_minimum_gb:g} GB in all (a warning when less){here}")
    lines.append("  required flags:")
    fix = FixParts()
    flags: list[dict[str, object]] = []
    for number, requirement in enumerate(entry.required_flags):
        origin = found.flag_origin(number, home)
        decision = decide_scope(requirement.applies_when, engine=entry.engine, engine_version=engine_version, gpus=gpus)
        here = "applies here" if decision.applies else f"does not apply here: {decision.because}"
        if decision.applied_because:
            here = f"applies here ({decision.applied_because})"
            if requirement.refuse is not None:
                here = f"not evaluated here: {decision.applied_because.removesuffix(' (fail-closed: it applies)')}"
        kind = "refuses" if requirement.refuse is not None else requirement.severity
        lines.append(f"    [{kind if kind == requirement.severity else f'{requirement.severity}, refuses'}] "
                     f"{requirement.text}")  # fmt: skip
        if requirement.equivalents:
            lines.append(f"        equivalents: {'; '.join(requirement.equivalents)}")
        if requirement.match is not None:
            lines.append(f"        match: /{requirement.match}/")
        lines.append(f"        scope: {describe_scope(requirement.applies_when)}; {here}")
        for name in ("why", "affected", "evidence", "fix"):
            value = getattr(requirement, name)
            if value:
                lines.append(f"        {name}: {value}")
        lines.append(f"        from: {origin.describe()}")
        if decision.applies and requirement.refuse is None:
            own = spellings(requirement)[0]
            fix.add(FixParts(env=dict([own.env])) if own.env else FixParts(options=dict(own.options)))
        flags.append(
            {
                **to_plain(requirement),
                "applies_here": decision.applies,
                "because": decision.because,
                "applied_because": decision.applied_because,
                "layer": origin.layer,
                "source": origin.file,
            }
        )
    if not entry.required_flags:
        lines.append("    (none)")
    options = _option_lines(found, lines, engine_version, gpus, home)
    paste = None
    if entry.engine == "vllm":
        env_words = " ".join(f"{k}={shlex.quote(v)}" for k, v in fix.env.items())
        flag_words = FixParts(options=fix.options).render()
        paste = " ".join(word for word in (env_words, "vllm serve", shlex.quote(entry.model), flag_words) if word)
        lines += ["  command to paste here (the required flags and environment that apply here):", "  " + paste]
    if fix:
        lines += ["  paste-ready (what applies here):", "  " + fix.render()]
    return ShowResult("\n".join(lines), flags, options, paste)


def _option_lines(
    found: Found, lines: list[str], engine_version: str | None, gpus: Sequence[Gpu] | None, home: Origin
) -> list[dict[str, object]]:
    entry = found.entry
    data: list[dict[str, object]] = []
    if not entry.options:
        return data
    lines.append("  options (never required; add the flags to turn one on):")
    origin = found.field_origin("options", home)
    for option in entry.options:
        decision = decide_scope(option.applies_when, engine=entry.engine, engine_version=engine_version, gpus=gpus)
        if not decision.applies:
            continue
        state = "on by default in the recipe" if option.default_on else "opt-in"
        words = " ".join([*(shlex.quote(e) for e in option.env), *([option.flag] if option.flag else [])])
        lines.append(f"    {option.name} ({state}): {words or '-'}")
        if option.description:
            lines.append(f"        {option.description}")
        if option.applies_when is not None:
            lines.append(f"        scope: {describe_scope(option.applies_when)}")
        data.append({**to_plain(option), "layer": origin.layer, "source": origin.file})
    return data


def _version_here(minimum: str | None, engine_version: str | None) -> str:
    if minimum is None:
        return ""
    if engine_version is None:
        return " (the engine version is not given: not checked)"
    from packaging.version import InvalidVersion, Version

    try:
        ok = Version(engine_version) >= Version(minimum)
    except InvalidVersion:
        return ""
    return f" ({engine_version} here: {'ok' if ok else 'too old'})"


_MINIMUM = re.compile(r"^<\s*([0-9][^,\s]*)$")


def minimum_engine_version(entry: ModelEntry) -> str | None:
    """The engine version an entry's `refuse` requirement scoped `engine_version: '<X'` asks for (the highest)."""
    found: list[str] = []
    for requirement in entry.required_flags:
        scope = requirement.applies_when
        if requirement.refuse is None or scope is None or scope.engine_version is None:
            continue
        if scope.gpus is None and scope.not_gpus is None and scope.compute_capability is None:
            match = _MINIMUM.match(scope.engine_version.strip())
            if match:
                found.append(match.group(1))
    if not found:
        return None
    from packaging.version import InvalidVersion, Version

    try:
        return max(found, key=Version)
    except InvalidVersion:
        return found[-1]


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
    if scope.not_gpus is not None:
        parts.append("not on GPUs " + " or ".join(scope.not_gpus))
    return ", ".join(parts) or "everywhere"
