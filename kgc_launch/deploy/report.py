"""Reports of a deploy check: one result per launch, in `text`, `json`, `sarif` or `github` form.

The check fills a `LaunchResult` per launch: its verdict and its findings (`kgc_launch.findings.Finding`, the
launch's own vocabulary: missing REQUIRED flags of the registry with why and how to fix, what the engine or
kgc-launch would refuse on the given hardware, warnings); the formatters add what the scan said:
files that could not be read, things that mention an engine but are not a launch, and PATH arguments that
hold no launch at all (an error, or with `empty_ok` a note: pre-commit hands over files that are not
deployments). Each file's status is said: launches, no launch, or not evaluated with why (a file that
mentions an engine but from which no launch could be read); and each launch whose hardware checks did not
run says why ("registry checked; hardware checks not evaluated: WHY"), counted apart in the summary.
- `text`: compiler-style lines; it ends with one paste-ready line per failing launch;
- `json`: the findings per launch (`findings`, each `Finding.to_json`), and the views of them that came
  first (`missing`, `refusals`, `warnings`);
- `sarif`: SARIF 2.1.0 for code-scanning upload (`github/codeql-action/upload-sarif`), one result per
  finding, unreadable file and note, each at its file and line; a finding's rule is its kind (`_rule_key`),
  its `origin:rule_id` is in the result's `properties`;
- `github`: workflow commands (`::error file=F,line=L,title=T::message`) that annotate a pull request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from kgc_launch import __version__
from kgc_launch.deploy.launch import Launch
from kgc_launch.deploy.scan import ScanResult
from kgc_launch.errors import EXIT_INPUT, EXIT_OK, EXIT_VERDICT_NO, InputError
from kgc_launch.findings import Finding, finding_text

Verdict = Literal["pass", "fail", "error"]
Format = Literal["text", "json", "sarif", "github"]
FORMATS: tuple[Format, ...] = ("text", "json", "sarif", "github")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kgc-launch/kgc-launch"


REGISTRY = "registry"


def is_missing_flag(finding: Finding) -> bool:
    """A requirement of the registry the launch lacks (refuse: REQUIRED, warn: recommended): origin `registry`,
    the requirement as written (`--disable-custom-all-reduce`, `NAME=VALUE`) as its rule id. The registry's
    other finding, an unregistered model under `--require-registered`, has no rule id."""
    return finding.origin == REGISTRY and bool(finding.rule_id)


def who_refuses(finding: Finding) -> str:
    """Who refuses, as the report names it."""
    if finding.origin == "vllm-rule":
        return f"vLLM rule {finding.rule_id}"
    if finding.origin == "vllm-args":
        return f"vLLM's argument parser ({finding.rule_id})" if finding.rule_id else "vLLM's argument parser"
    return {"ferrum-resolver": "ferrum resolver", "launcher": "kgc-launch"}.get(finding.origin, finding.origin)


@dataclass
class LaunchResult:
    """The check's answer for one launch."""

    launch: Launch
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    """What is wrong with the launch, as its finder said it: the registry's missing flags (`is_missing_flag`),
    the refusals and warnings of the engine's parser and rules, the ferrum resolver and kgc-launch."""
    error: str | None = None
    """Why the launch could not be evaluated (verdict `error`): an unknown model, unreadable args."""
    notes: list[str] = field(default_factory=list)
    """What the check could not know or chose not to check (unknown environment values, an unregistered
    model): not a problem with the launch but a limit of the check, so not a finding; shown in the text and
    JSON reports, not as annotations."""
    fix: str = ""
    """Everything to add or change, as one paste-ready line (NAME=VALUE words first); empty when nothing."""
    model: str | None = None
    """The model the launch was checked as (None: not known)."""
    model_source: str | None = None
    """Which statement gave the model when not the command line itself (a download, an annotation, ...)."""
    hardware: str | None = None
    """Why the hardware checks (the engine's resolver on the GPUs) did not run, or ran only in part; None
    when they ran (or when the launch was not evaluated at all)."""

    @property
    def hardware_unevaluated(self) -> bool:
        return self.verdict == "pass" and self.hardware is not None

    @property
    def missing(self) -> list[Finding]:
        """The registry's requirements the launch lacks (the REQUIRED ones refuse, the recommended warn)."""
        return [finding for finding in self.findings if is_missing_flag(finding)]

    @property
    def refusals(self) -> list[Finding]:
        """What stops the launch although it is not a missing registry flag."""
        return [f for f in self.findings if f.severity == "refuse" and not is_missing_flag(f)]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warn" and not is_missing_flag(f)]


@dataclass(frozen=True)
class _Rule:
    id: str
    name: str
    text: str
    level: str


_RULES = {
    "missing": _Rule(
        "KGC001", "MissingRequiredFlag", "An engine launch lacks a REQUIRED flag of the registry", "error"
    ),
    "warning": _Rule("KGC002", "LaunchWarning", "The check has a warning about an engine launch", "warning"),
    "error": _Rule("KGC003", "LaunchNotEvaluated", "An engine launch could not be evaluated", "error"),
    "unreadable": _Rule("KGC004", "UnreadableDeployFile", "A deploy file could not be read or parsed", "error"),
    "note": _Rule("KGC005", "UnreadableLaunch", "Something mentions an engine but is not a readable launch", "note"),
    "empty": _Rule("KGC006", "NoLaunchFound", "A path given to the check holds no engine launch", "warning"),
    "refused": _Rule(
        "KGC007", "LaunchWouldBeRefused", "The engine or kgc-launch would refuse this launch on the hardware", "error"
    ),
    "hardware": _Rule(
        "KGC008",
        "HardwareNotEvaluated",
        "The registry check ran, the hardware checks did not (no --hardware, another accelerator, no GPU count, "
        "no model facts)",
        "warning",
    ),
    "file": _Rule(
        "KGC009", "FileNotEvaluated", "A deploy file mentions an engine but no launch could be read from it", "error"
    ),
}
FIX_LABEL = "paste-ready, per failing launch (flags go into the engine's arguments, NAME=VALUE into its environment):"


def report_exit_code(
    results: Sequence[LaunchResult],
    scan: ScanResult | None = None,
    *,
    empty_ok: bool = False,
    require_evaluated: bool = False,
) -> int:
    """1 when a launch fails; else 3 when something could not be evaluated (a file, a launch, a file that
    mentions an engine without a readable launch or an empty PATH unless `empty_ok`, a launch whose hardware
    checks did not run with `require_evaluated`); else 0."""
    if any(result.verdict == "fail" for result in results):
        return EXIT_VERDICT_NO
    if any(result.verdict == "error" for result in results):
        return EXIT_INPUT
    if require_evaluated and any(result.hardware_unevaluated for result in results):
        return EXIT_INPUT
    if scan is not None and scan.errors:
        return EXIT_INPUT
    if scan is not None and not empty_ok and (scan.empty_paths or scan.count("not evaluated")):
        return EXIT_INPUT
    return EXIT_OK


def format_report(
    results: Sequence[LaunchResult],
    fmt: Format,
    *,
    scan: ScanResult | None = None,
    empty_ok: bool = False,
    about: Mapping[str, str] | None = None,
) -> str:
    """The report in one of `FORMATS` (each ends with a newline).

    `empty_ok` reports a PATH without launches as a note instead of a problem; `about` says what the check
    ran with (`registry`, `hardware`, `engine version`): lines at the top of the text report, `check` in
    JSON, the run's `properties` in SARIF.
    """
    formatter = {"text": format_text, "json": format_json, "sarif": format_sarif, "github": format_github}[fmt]
    return formatter(results, scan=scan, empty_ok=empty_ok, about=about or {})


# --- text --------------------------------------------------------------------------------------------------


def format_text(
    results: Sequence[LaunchResult],
    *,
    scan: ScanResult | None = None,
    empty_ok: bool = False,
    about: Mapping[str, str] | None = None,
) -> str:
    lines = [f"{key}: {value}" for key, value in (about or {}).items()]
    for result in results:
        launch = result.launch
        model = result.model or launch.model or f"model unknown: {launch.model_why}"
        where = f" (from {launch.template})" if launch.template else ""
        lines.append(f"{launch.location}{where}: {launch.object} ({launch.engine}, {model}): {result.verdict.upper()}")
        if result.model_source:
            lines.append(f"  model: {result.model} (from {result.model_source})")
        for missing in result.missing:
            lines.append(f"  missing {missing.rule_id} ({_level(missing)}): {finding_text(missing, fix_indent='    ')}")
        for refusal in result.refusals:
            lines.append(f"  refused ({who_refuses(refusal)}): {finding_text(refusal, fix_indent='    ')}")
        lines += [f"  warning: {finding_text(warning)}" for warning in result.warnings]
        if result.error:
            lines.append(f"  not evaluated: {result.error}")
        if result.hardware_unevaluated:
            lines.append(f"  registry checked; hardware checks not evaluated: {result.hardware}")
        lines += [f"  note: {note}" for note in result.notes]
    if scan is not None:
        for error in scan.errors:
            lines.append(f"{error}" + (f"\n  hint: {error.hint}" if error.hint else ""))
        lines += [f"note: {note}" for note in scan.notes if not note.unevaluated]
        for report in scan.files:
            if report.status == "not evaluated" and not any(error.path == report.path for error in scan.errors):
                lines.append(f"{report.path}: not evaluated: {report.why}")
        lines += [f"{s.path}: skipped: {s.reason}" for s in scan.skipped]
        for path in scan.empty_paths:
            message = _empty_message(path.files, path.exists)
            if empty_ok:
                lines.append(f"note: {path.path}: {message}")
            else:
                lines.append(f"{path.path}: {message}\n  hint: {_EMPTY_HINT}")
    lines.append(_summary(results, scan))
    fixes = [result for result in results if result.verdict == "fail" and result.fix]
    if fixes:
        # Last, so that the final line of a one-launch report is the line to paste (as `check --serve-args`).
        lines.append(FIX_LABEL)
        for result in fixes:
            lines += [f"{result.launch.location}: {result.launch.object}:", result.fix]
    return "\n".join(lines) + "\n"


_EMPTY_HINT = "name the deploy files, or a directory holding them; --no-launch-ok makes this a note (for pre-commit)"


def _empty_message(files: Sequence[str], exists: bool) -> str:
    if not exists:
        return "no engine launch found: nothing matches this path"
    return f"no engine launch found ({len(files)} file{'s' if len(files) != 1 else ''} looked at)"


def _summary(results: Sequence[LaunchResult], scan: ScanResult | None) -> str:
    counts = {verdict: sum(r.verdict == verdict for r in results) for verdict in ("pass", "fail", "error")}
    files = len({r.launch.file for r in results})
    registry_only = sum(r.hardware_unevaluated for r in results)
    text = (
        f"{len(results)} launch{'es' if len(results) != 1 else ''} in {files} file{'s' if files != 1 else ''}: "
        f"{counts['pass']} pass, {counts['fail']} fail, {counts['error']} not evaluated"
    )
    if registry_only:
        text += f"; hardware checks not evaluated for {registry_only} of the passes"
    if scan is not None and scan.files:
        text += (
            f"; files: {scan.count('launches')} with launches, {scan.count('no launch')} without, "
            f"{scan.count('not evaluated')} not evaluated"
        )
    if scan is not None and scan.errors:
        text += f" ({len(scan.errors)} could not be read)"
    return text


# --- json --------------------------------------------------------------------------------------------------


def format_json(
    results: Sequence[LaunchResult],
    *,
    scan: ScanResult | None = None,
    empty_ok: bool = False,
    about: Mapping[str, str] | None = None,
) -> str:
    document: dict[str, Any] = {
        "version": 1,
        "tool": {"name": "kgc-launch", "version": __version__},
        "check": dict(about or {}),
        "summary": {
            "launches": len(results),
            "pass": sum(r.verdict == "pass" for r in results),
            "fail": sum(r.verdict == "fail" for r in results),
            "error": sum(r.verdict == "error" for r in results),
            "hardware_not_evaluated": sum(r.hardware_unevaluated for r in results),
        },
        "results": [
            {
                "launch": result.launch.to_dict(),
                "verdict": result.verdict,
                "model": result.model,
                "model_source": result.model_source,
                "hardware": {"evaluated": result.hardware is None, "why": result.hardware}
                if result.verdict != "error"
                else {"evaluated": False, "why": "the launch was not evaluated"},
                "missing": [_missing_json(missing) for missing in result.missing],
                "refusals": [
                    {"message": refusal.message, "fix": refusal.fix, "source": who_refuses(refusal)}
                    for refusal in result.refusals
                ],
                "warnings": [finding_text(warning) for warning in result.warnings],
                "error": result.error,
                "notes": list(result.notes),
                "fix": result.fix,
                "findings": [finding.to_json() for finding in result.findings],
            }
            for result in results
        ],
    }
    if scan is not None:
        document["summary"].update(
            files_scanned=scan.files_scanned,
            files_skipped=scan.files_skipped,
            files_with_launches=scan.files_with_launches,
            files_unreadable=len(scan.errors),
        )
        document["summary"].update(
            files_with_launches=scan.count("launches"),
            files_without_launch=scan.count("no launch"),
            files_not_evaluated=scan.count("not evaluated"),
        )
        document["files"] = [
            {"file": report.path, "status": report.status, "why": report.why, "launches": report.launches}
            for report in scan.files
        ]
        document["errors"] = [_error_dict(error) for error in scan.errors]
        document["notes"] = [
            {"file": n.file, "line": n.line, "text": n.text, "unevaluated": n.unevaluated} for n in scan.notes
        ]
        document["skipped"] = [{"file": s.path, "reason": s.reason} for s in scan.skipped]
        document["paths"] = [
            {"path": p.path, "exists": p.exists, "files": len(p.files), "launches": p.launches} for p in scan.paths
        ]
        document["summary"]["paths_without_launches"] = len(scan.empty_paths)
    return json.dumps(document, indent=2) + "\n"


def _missing_json(missing: Finding) -> dict[str, Any]:
    return {"flag": missing.rule_id, "severity": _level(missing), "why": missing.message, "fix": missing.fix}


def _level(finding: Finding) -> str:
    """The finding's severity as SARIF, GitHub and the reports' `missing` say it."""
    return "error" if finding.severity == "refuse" else "warning"


def _error_dict(error: InputError) -> dict[str, Any]:
    return {"file": error.path, "line": error.line, "field": error.field, "message": error.message, "hint": error.hint}


# --- sarif -------------------------------------------------------------------------------------------------


def format_sarif(
    results: Sequence[LaunchResult],
    *,
    scan: ScanResult | None = None,
    empty_ok: bool = False,
    about: Mapping[str, str] | None = None,
) -> str:
    """SARIF 2.1.0: one run of the `kgc-launch` driver with the rules above and a result per finding."""
    rule_index = {key: position for position, key in enumerate(_RULES)}
    sarif_results: list[dict[str, Any]] = []

    def add(
        key: str, level: str, text: str, file: str | None, line: int | None, finding: Finding | None = None
    ) -> None:
        rule = _RULES[key]
        entry: dict[str, Any] = {
            "ruleId": rule.id,
            "ruleIndex": rule_index[key],
            "level": level,
            "message": {"text": text},
        }
        if file is not None:
            location: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(file)}}
            if line is not None and line >= 1:
                location["region"] = {"startLine": line}
            entry["locations"] = [{"physicalLocation": location}]
        if finding is not None:
            entry["properties"] = {"origin": finding.source}
        sarif_results.append(entry)

    for result in results:
        launch = result.launch
        file, line = annotation_place(launch)
        where = f"{launch.object} ({launch.engine} serve {result.model or launch.model or '?'})"
        if file != launch.file:
            where += f" (line {launch.line} of the rendered stream)"
        for finding in _in_report_order(result):
            key = _rule_key(finding)
            text = f"{where}: missing {finding.rule_id}: " if key == "missing" else f"{where}: "
            add(key, _level(finding), text + _annotation(finding), file, line, finding)
        if result.error or result.verdict == "error":
            add(
                "error",
                "error",
                f"{where}: not evaluated: {result.error or 'unknown reason'}",
                file,
                line,
            )
        if result.hardware_unevaluated:
            text = f"{where}: registry checked; hardware checks not evaluated: {result.hardware}"
            add("hardware", "warning", text, file, line)
    if scan is not None:
        for error in scan.errors:
            text = error.message + (f" (hint: {error.hint})" if error.hint else "")
            add("unreadable", "error", text, error.path, error.line)
        for note in scan.notes:
            if not note.unevaluated:
                add("note", "note", note.text, note.file, note.line)
        for report in scan.files:
            if report.status == "not evaluated" and not any(error.path == report.path for error in scan.errors):
                add("file", "note" if empty_ok else "error", f"not evaluated: {report.why}", report.path, None)
        for path in scan.empty_paths:
            level = "note" if empty_ok else "warning"
            add("empty", level, f"{path.path}: {_empty_message(path.files, path.exists)}", None, None)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "kgc-launch",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [
                    {
                        "id": rule.id,
                        "name": rule.name,
                        "shortDescription": {"text": rule.text},
                        "defaultConfiguration": {"level": rule.level},
                    }
                    for rule in _RULES.values()
                ],
            }
        },
        "results": sarif_results,
    }
    if about:
        run["properties"] = dict(about)
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2) + "\n"


def _rule_key(finding: Finding) -> str:
    """The finding's SARIF rule (`_RULES`): a missing registry flag KGC001, a refusal KGC007, a warning KGC002."""
    if is_missing_flag(finding):
        return "missing"
    return "refused" if finding.severity == "refuse" else "warning"


def _in_report_order(result: LaunchResult) -> list[Finding]:
    """Missing flags, then refusals, then warnings: the order of every report."""
    return [*result.missing, *result.refusals, *result.warnings]


def _annotation(finding: Finding) -> str:
    """A finding in a SARIF result or a GitHub annotation (after what and where): `message (who). Fix: FIX`
    for a refusal, `why. Fix: FIX` for a missing flag, `message (fix: FIX)` for a warning."""
    if finding.severity == "warn" and not is_missing_flag(finding):
        return finding_text(finding)
    who = "" if is_missing_flag(finding) else f" ({who_refuses(finding)})"
    return f"{finding.message}{who}" + (f". Fix: {finding.fix}" if finding.fix else "")


def annotation_place(launch: Launch) -> tuple[str, int | None]:
    """Where a SARIF result or GitHub annotation of `launch` goes: its file and line, except for a launch read
    from a rendered stream on stdin, which goes to its Helm template (`# Source:`) without a line (the
    stream's line is not a line of the template; the message says it)."""
    from kgc_launch.deploy.scan import STDIN_NAME

    if launch.file == STDIN_NAME and launch.template:
        return launch.template, None
    return launch.file, launch.line


def artifact_uri(file: str) -> str:
    """A relative URI for code scanning (paths under the working directory are made relative to it)."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return path.as_uri()
    return quote(path.as_posix())


# --- github ------------------------------------------------------------------------------------------------


def format_github(
    results: Sequence[LaunchResult],
    *,
    scan: ScanResult | None = None,
    empty_ok: bool = False,
    about: Mapping[str, str] | None = None,
) -> str:
    """GitHub Actions workflow commands: each finding annotates its file and line in the pull request."""
    lines: list[str] = []
    for result in results:
        launch = result.launch
        file, line = annotation_place(launch)
        for finding in _in_report_order(result):
            title = _GITHUB_TITLES[_rule_key(finding)].format(flag=finding.rule_id)
            text = f"{launch.object}: {_annotation(finding)}"
            lines.append(_command(_level(finding), file, line, title, text))
        if result.error or result.verdict == "error":
            text = f"{launch.object}: not evaluated: {result.error or 'unknown reason'}"
            lines.append(_command("error", file, line, "kgc-launch: launch not evaluated", text))
        if result.hardware_unevaluated:
            text = f"{launch.object}: registry checked; hardware checks not evaluated: {result.hardware}"
            lines.append(_command("warning", file, line, "kgc-launch: hardware not evaluated", text))
    if scan is not None:
        for error in scan.errors:
            text = error.message + (f" (hint: {error.hint})" if error.hint else "")
            lines.append(_command("error", error.path, error.line, "kgc-launch: cannot read", text))
        for note in scan.notes:
            if not note.unevaluated:
                lines.append(_command("notice", note.file, note.line, "kgc-launch", note.text))
        for report in scan.files:
            if report.status == "not evaluated" and not any(error.path == report.path for error in scan.errors):
                level = "notice" if empty_ok else "error"
                lines.append(
                    _command(level, report.path, None, "kgc-launch: not evaluated", f"not evaluated: {report.why}")
                )
        for path in scan.empty_paths:
            message = f"{path.path}: {_empty_message(path.files, path.exists)}"
            lines.append(_command("notice" if empty_ok else "warning", None, None, "kgc-launch: no launch", message))
    lines.append(_summary(results, scan))
    return "\n".join(lines) + "\n"


_GITHUB_TITLES = {
    "missing": "kgc-launch: missing {flag}",
    "refused": "kgc-launch: would be refused",
    "warning": "kgc-launch",
}


def _command(level: str, file: str | None, line: int | None, title: str, message: str) -> str:
    properties = []
    if file is not None:
        properties.append(f"file={_escape_property(file)}")
    if line is not None:
        properties.append(f"line={line}")
    properties.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(properties)}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


__all__ = [
    "FORMATS",
    "Format",
    "LaunchResult",
    "Verdict",
    "format_report",
    "report_exit_code",
]
