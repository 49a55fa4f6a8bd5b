"""`kgc-launch [LAUNCH OPTIONS] [--] ENGINE ENGINE-ARGS...`: plan, then exec, refuse, or show (dry run).

Before anything is planned or written, the grammar: the engine's own help and version (`vllm serve
--help`, `vllm --version`) are run untouched; kgc-launch's options after the engine are a usage error
that shows the corrected command (the engine would otherwise receive `--dry-run` and start); a launch
without a model is a usage error too.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from kgc_launch import startup
from kgc_launch.engines import ADAPTERS, detect_engine, engine_adapter, find_executable, recognise
from kgc_launch.errors import EXIT_REFUSED, EngineNotFound, UsageError
from kgc_launch.findings import format_refusal
from kgc_launch.launch import exec_plan, plan_launch
from kgc_launch.launch_options import LaunchOptions, misplaced_options, parse_launch_argv
from kgc_launch.plan import EngineCommand, LaunchPlan

# ferrum's options before its subcommand (`ferrum -v serve`), as `kgc_launch.engines` reads them.
_FERRUM_GLOBAL = ("-v", "--verbose")


def run_launch(argv: list[str]) -> int:
    parsed = parse_launch_argv(argv, os.environ)
    if parsed is None:
        return 0
    options, engine_argv = parsed
    if engine_argv and Path(engine_argv[0]).name == "ray":  # an LWS worker's `ray start` under the ENTRYPOINT
        from kgc_launch.hardware.lws import is_ray_node_command, run_ray_node

        if is_ray_node_command(engine_argv):
            return run_ray_node(engine_argv, os.environ, dry_run=options.dry_run, quiet=options.quiet)
    ours = argv[: len(argv) - len(engine_argv)]
    if asks_the_engine_itself(engine_argv, options.engine):
        return run_engine_itself(engine_argv, options)
    command = detect_engine(engine_argv, options.engine)
    check_grammar(command, ours)
    plan = plan_launch(options, engine_argv, os.environ, Path.cwd())
    exit_code = EXIT_REFUSED if plan.refused else 0
    if options.dry_run:
        if options.json:
            print(json.dumps(dry_run_report(plan, exit_code, options), indent=2, ensure_ascii=False))
        else:
            print(dry_run_text(plan, options))
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


def asks_the_engine_itself(argv: list[str], forced: str | None) -> bool:
    """`vllm serve --help` (`-h`, `--help=...`), `vllm --help`, `vllm --version`, and ferrum's: the engine's
    own help or version, which kgc-launch passes through untouched."""
    command = recognise(argv, forced)
    if command is not None:
        return any(_is_help(token) for token in command.serve_args)
    if not argv:
        return False
    name = Path(argv[0]).name
    engine = forced or (name if name in ADAPTERS else None)
    if engine is None:
        return False
    rest = [token for token in argv[1:] if engine != "ferrum" or token not in _FERRUM_GLOBAL]
    return bool(rest) and (_is_help(rest[0]) or rest[0] == "--version")


def _is_help(token: str) -> bool:
    return token in ("-h", "--help") or token.startswith("--help=")


def run_engine_itself(argv: list[str], options: LaunchOptions) -> int:
    """Exec the engine with exactly `argv`: no probe, no registry, no artifacts (a dry run says what would run)."""
    name = Path(argv[0]).name
    command = EngineCommand(options.engine or (name if name in ADAPTERS else "vllm"), argv, argv[:1], argv[1:])
    if options.dry_run:
        print(f"command: would exec the engine's own help or version, untouched\n  {shlex.join(argv)}")
        return 0
    executable = find_executable(command, os.environ)
    startup.before_exec()
    try:
        os.execv(executable, argv)
    except OSError as error:
        raise EngineNotFound(f"cannot run {executable}: {error.strerror}", hint="check PATH") from None
    return 0  # not reached


def check_grammar(command: EngineCommand, ours: list[str]) -> None:
    """Usage errors (exit 2) a launch must stop on before planning: kgc-launch's options after the engine,
    and no model. Each says the corrected command."""
    misplaced = misplaced_options(command.engine, command.serve_args)
    start = len(command.prefix)
    if misplaced:
        moved = [token for begin, end in misplaced for token in command.serve_args[begin:end]]
        kept = [token for index, token in enumerate(command.serve_args) if not _inside(index, misplaced)]
        before = ours[:-1] if ours[-1:] == ["--"] else ours
        corrected = ["kgc-launch", *before, *moved, *ours[len(before) :], *command.argv[:start], *kept]
        names = sorted({command.serve_args[begin].partition("=")[0] for begin, _ in misplaced})
        raise UsageError(
            f"launch options go before the engine: {shlex.join(corrected)}",
            hint=f"{', '.join(names)} after '{shlex.join(command.prefix)}' would go to {command.engine}, "
            "which has no such option; everything after the engine is the engine's",
        )
    args = engine_adapter(command.engine).registry_args(command.serve_args)
    if args.model is None and args.config_file is None:
        fixed = ["kgc-launch", *ours, *command.argv[:start], "MODEL", *command.serve_args]
        raise UsageError("no model given", hint=f"name the model to serve: {shlex.join(fixed)}")


def _inside(index: int, spans: list[tuple[int, int]]) -> bool:
    return any(begin <= index < end for begin, end in spans)


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


def settings(options: LaunchOptions) -> dict[str, dict[str, Any]]:
    """Each launch option that was set, with where it came from (`--hardware`, `from KGC_HARDWARE`, ...)."""
    from kgc_launch.launch_options import OPTIONS

    return {
        spec.name: {"value": getattr(options, spec.attribute), "from": options.origins[spec.slug]}
        for spec in OPTIONS
        if spec.slug in options.origins
    }


def registry_origin(plan: LaunchPlan, options: LaunchOptions) -> str:
    """How the registry was found: the option's origin, else the search's (`found from DIR`, `shipped ...`)."""
    if "registry" in options.origins:
        return options.origins["registry"]
    from kgc_launch.knowngood.locate import find_registry

    return find_registry(None, os.environ, Path.cwd()).source


def dry_run_report(plan: LaunchPlan, exit_code: int, options: LaunchOptions | None = None) -> dict[str, Any]:
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
        "registry": {
            "path": plan.registry_path,
            "from": None if options is None else registry_origin(plan, options),
            "report": plan.registry_report,
        },
        "artifacts_dir": str(plan.artifacts_dir),
        "settings": {} if options is None else settings(options),
        "timings_ms": plan.timings_ms,
    }


def dry_run_text(plan: LaunchPlan, options: LaunchOptions | None = None) -> str:
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
    verdict = (plan.registry_report or {}).get("verdict", "not checked")
    found = "" if options is None else f" ({registry_origin(plan, options)})"
    lines.append(f"registry: {plan.registry_path}{found}: {verdict}")
    lines.append(f"artifacts: {plan.artifacts_dir}")
    chosen = {} if options is None else settings(options)
    if chosen:
        lines.append("settings:")
        for name, item in chosen.items():
            given = f"{name} {_shown(item['value'])}".rstrip()
            lines.append(f"  {given}  ({item['from']})")
    return "\n".join(lines)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "" if value else "(off)"
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
