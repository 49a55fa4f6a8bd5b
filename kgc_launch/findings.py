"""What a launch found wrong, from any source, and how it is told to the user.

The one vocabulary for "something is wrong" (severity, origin and rule id, message, fix, evidence): vLLM's
rules, the known-good registry, the ferrum resolver and the launcher itself all report `Finding`s, so a
refusal is one short block: what is wrong, the paste-ready fix for each, where the artifacts are, and one
line with every fix together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Severity = Literal["refuse", "warn"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    message: str
    """What is wrong, in one line, with the numbers that make it wrong."""
    fix: str | None = None
    """Paste-ready text to add or change (a flag, `NAME=VALUE`), when there is one; else advice in words."""
    origin: str = ""
    """Who found it: `vllm-rule`, `registry`, `ferrum-resolver`, `launcher`, `vllm-args`."""
    rule_id: str = ""
    """The rule within its origin (a vLLM rule's id, e.g. `kv-cache-does-not-fit`), when there is one."""
    evidence: tuple[str, ...] = ()
    vllm_says: str | None = None
    """vLLM's own words for the same failure."""
    note: str | None = None
    """Why a refusal was downgraded to a warning, or what the severity rests on."""

    @property
    def source(self) -> str:
        """`origin:rule_id` (e.g. `vllm-rule:kv-cache-does-not-fit`), or the origin alone."""
        return f"{self.origin}:{self.rule_id}" if self.rule_id else self.origin

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
            "origin": self.source,
            "rule_id": self.rule_id or None,
            "evidence": list(self.evidence),
            "vllm_says": self.vllm_says,
            "note": self.note,
        }


def refusals(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == "refuse"]


def format_refusal(command: str, findings: list[Finding], artifacts_dir: str | None) -> str:
    """The block printed on stderr when a launch is refused."""
    blocking = refusals(findings)
    lines = [f"kgc-launch: refusing to start {command}: {len(blocking)} problem(s)"]
    lines += [f"  - {finding_text(finding, tag=finding.source, fix_indent='      ')}" for finding in blocking]
    warnings = [finding for finding in findings if finding.severity == "warn"]
    if warnings:
        lines.append(f"  ({len(warnings)} warning(s) in the decision trace)")
    if artifacts_dir:
        lines.append(f"  artifacts: {artifacts_dir}")
    fixes = [finding.fix for finding in blocking if finding.fix and is_paste_ready(finding.fix)]
    if fixes:
        lines.append(f"  add or change: {' '.join(dict.fromkeys(fixes))}")
    return "\n".join(lines)


def finding_text(finding: Finding, *, tag: str = "", fix_indent: str | None = None) -> str:
    """A finding as the reports write it: `message [tag] (fix: FIX)` on one line, or with `fix_indent` the
    fix on a line of its own (`INDENTfix: FIX`) under the message; the launch's refusal, the deploy check's
    report and `check --serve-args` all write findings through it."""
    text = finding.message + (f" [{tag}]" if tag else "")
    if not finding.fix:
        return text
    return text + (f"\n{fix_indent}fix: {finding.fix}" if fix_indent is not None else f" (fix: {finding.fix})")


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def is_paste_ready(fix: str) -> bool:
    """A fix that is command-line text (`--flag value`, `NAME=VALUE`), not advice in words."""
    return fix.startswith("-") or bool(_ASSIGNMENT.match(fix))


def first_sentence(text: str) -> str:
    """The first sentence of a long explanation, for a one-line message."""
    head, dot, _ = text.partition(". ")
    return head + ("." if dot else "")
