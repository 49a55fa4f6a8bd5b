"""`kgc-launch [LAUNCH OPTIONS] [--] ENGINE ENGINE-ARGS...`: plan, then exec, refuse, or show (dry run)."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from kgc_launch.errors import EXIT_REFUSED
from kgc_launch.findings import format_refusal
from kgc_launch.launch import exec_plan, plan_launch
from kgc_launch.launch_options import parse_launch_argv
from kgc_launch.plan import LaunchPlan


def run_launch(argv: list[str]) -> int:
    parsed = parse_launch_argv(argv, os.environ)
    if parsed is None:
        return 0
    options, engine_argv = parsed
    from kgc_launch.hardware.lws import is_ray_node_command, run_ray_node

    if is_ray_node_command(engine_argv):  # an LWS worker's `ray start` under the same ENTRYPOINT
        return run_ray_node(engine_argv, os.environ, dry_run=options.dry_run, quiet=options.quiet)
    plan = plan_launch(options, engine_argv, os.environ, Path.cwd())
    exit_code = EXIT_REFUSED if plan.refused else 0
    if options.dry_run:
        if options.json:
            print(json.dumps(dry_run_report(plan, exit_code), indent=2, ensure_ascii=False))
        else:
            print(dry_run_text(plan))
    if plan.refused:
        print(
            format_refusal(shlex.join(plan.command.argv[:3]), plan.findings, str(plan.artifacts_dir)), file=sys.stderr
        )
        return exit_code
    if options.dry_run:
        return 0
    if not options.quiet:
        print(summary_line(plan), file=sys.stderr)
    exec_plan(plan, os.environ)
    return 0  # not reached: exec_plan replaces the process or raises


def summary_line(plan: LaunchPlan) -> str:
    devices = plan.inventory.visible
    hardware = f"{len(devices)}x {devices[0].name}" if devices else "no GPU"
    registry = (plan.registry_report or {}).get("verdict", "not checked")
    warnings = sum(1 for finding in plan.findings if finding.severity == "warn")
    return (
        f"kgc-launch: {plan.command.engine} {plan.engine_version or '(version unknown)'} on {hardware}: "
        f"{len(plan.engine.decisions)} decisions, {warnings} warnings, registry {registry}, "
        f"{plan.engine.env_hash[:19]}, artifacts {plan.artifacts_dir}, "
        f"{plan.timings_ms.get('total', 0):.0f} ms in kgc-launch"
    )


def dry_run_report(plan: LaunchPlan, exit_code: int) -> dict[str, Any]:
    environ = dict(os.environ)
    exec_env = plan.exec_env(environ)
    return {
        "would_exec": not plan.refused,
        "exit_code": exit_code,
        "executable": plan.executable,
        "argv": plan.engine.argv,
        "env_changes": {k: v for k, v in sorted(exec_env.items()) if environ.get(k) != v},
        "engine": plan.command.engine,
        "engine_version": plan.engine_version,
        "env_hash": plan.engine.env_hash,
        "decisions": [decision.to_plain() for decision in plan.engine.decisions],
        "findings": [finding.to_json() for finding in plan.findings],
        "registry": {"path": plan.registry_path, "report": plan.registry_report},
        "artifacts_dir": str(plan.artifacts_dir),
        "timings_ms": plan.timings_ms,
    }


def dry_run_text(plan: LaunchPlan) -> str:
    environ = dict(os.environ)
    exec_env = plan.exec_env(environ)
    lines = [
        f"engine: {plan.command.engine} {plan.engine_version or '(version unknown)'}  [{plan.engine_version_source}]",
        f"hardware: {plan.inventory.source_detail or plan.inventory.source}, "
        f"{len(plan.inventory.visible)} visible device(s)",
        "decisions:",
    ]
    rows = [
        (d.selection, d.selected, d.source.value + (f" ({d.source_key})" if d.source_key else ""))
        for d in plan.engine.decisions
    ]
    width = [max((len(row[i]) for row in rows), default=0) for i in range(2)]
    lines += [f"  {a:<{width[0]}}  {b:<{width[1]}}  {c}" for a, b, c in rows]
    if plan.findings:
        lines.append("findings:")
        lines += [f"  {f.severity}: {f.message}" + (f"  (fix: {f.fix})" if f.fix else "") for f in plan.findings]
    verdict = "would be refused (exit 78)" if plan.refused else "would exec (the engine takes over this PID)"
    lines.append(f"command: {verdict}")
    lines.append(f"  {shlex.join(plan.engine.argv)}")
    lines.append("environment changes:")
    lines += [f"  {k}={shlex.quote(v)}" for k, v in sorted(exec_env.items()) if environ.get(k) != v]
    lines.append(f"registry: {plan.registry_path} ({(plan.registry_report or {}).get('verdict', 'not checked')})")
    lines.append(f"artifacts: {plan.artifacts_dir}")
    return "\n".join(lines)
