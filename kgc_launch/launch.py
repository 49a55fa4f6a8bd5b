"""The launch pipeline: engine args -> hardware -> model -> resolve -> registry check -> artifacts -> exec.

`plan_launch` does everything but the exec and returns a `LaunchPlan`; `exec_plan` replaces this process
with the engine (no shell: the server takes over the PID, and signals reach it directly). Nothing here
prints: the command module tells the user.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgc_launch.engines import EngineCommand, detect_engine, engine_version, find_executable
from kgc_launch.errors import EngineNotFound
from kgc_launch.findings import Finding, refusals
from kgc_launch.hardware.inventory import Inventory
from kgc_launch.launch_options import LaunchOptions
from kgc_launch.model.facts import ModelFacts
from kgc_launch.records import AutoConfigDecision


@dataclass
class EnginePlan:
    """What an engine's planner decided (see `kgc_launch.vllm.launch` and `kgc_launch.ferrum.launch`)."""

    document: dict[str, Any]
    """The effective-config document."""
    decisions: list[AutoConfigDecision]
    env_hash: str
    argv: list[str]
    """The final engine command line."""
    env_changes: dict[str, str]
    findings: list[Finding]
    registry_args: Any
    """The serve arguments as `ServeArgs`, for the registry check."""
    model_ids: list[str]
    details: dict[str, Any] = field(default_factory=dict)
    """Engine-specific facts for the launch record (memory plan, runtime sources, ...)."""


@dataclass(frozen=True)
class PlanContext:
    """What an engine's planner works from: the launch's options, the engine command, and what was found for it."""

    options: LaunchOptions
    command: EngineCommand
    inventory: Inventory
    version: str | None
    version_source: str
    environ: Mapping[str, str]
    cwd: Path
    lap: Callable[[str], None]
    """Records the time since the last lap under a phase name (`model`, `resolve`)."""


@dataclass
class LaunchPlan:
    command: EngineCommand
    executable: str | None
    engine_version: str | None
    engine_version_source: str
    inventory: Inventory
    facts: ModelFacts | None
    engine: EnginePlan
    registry_path: str | None
    registry_report: dict[str, Any] | None
    artifacts_dir: Path
    findings: list[Finding]
    timings_ms: dict[str, float]

    @property
    def refused(self) -> bool:
        return bool(refusals(self.findings))

    def exec_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        env = dict(environ)
        env.update(self.engine.env_changes)
        env["KGC_EFFECTIVE_CONFIG"] = str(self.artifacts_dir / "effective_config.json")
        env["KGC_ENV_HASH"] = self.engine.env_hash
        return env


class _Clock:
    """Phase timings of a launch, counted from when kgc-launch's code started (imports included)."""

    def __init__(self) -> None:
        from kgc_launch.cli import STARTED

        self.start = STARTED
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {"imports": round((self.last - STARTED) * 1000, 2)}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self.last) * 1000, 2)
        self.last = now

    def total(self) -> dict[str, float]:
        return {**self.laps, "total": round((time.perf_counter() - self.start) * 1000, 2)}


def plan_launch(options: LaunchOptions, engine_argv: list[str], environ: Mapping[str, str], cwd: Path) -> LaunchPlan:
    """Everything up to the exec. Input problems raise (`InputError`, exit 3); refusals are findings."""
    clock = _Clock()
    command = detect_engine(engine_argv, options.engine)
    findings: list[Finding] = []
    try:
        executable: str | None = find_executable(command, environ)
    except EngineNotFound:
        if not options.dry_run:
            raise
        executable = None
        program = command.argv[0]
        findings.append(
            Finding("warn", f"no {program!r} executable found (a real launch would exit 127)", origin="launcher")
        )
    version, version_source = engine_version(command, executable)
    clock.lap("engine")

    from kgc_launch.hardware.select import select_hardware

    # SM counts from the table, not cuInit: initialising the CUDA driver can take seconds on a big node.
    inventory = select_hardware(options.hardware, environ, use_cuda_driver=False)
    clock.lap("hardware")

    if command.engine == "vllm":
        from kgc_launch.vllm.launch import plan_vllm as plan_engine
    else:
        from kgc_launch.ferrum.launch import plan_ferrum as plan_engine
    context = PlanContext(options, command, inventory, version, version_source, environ, cwd, clock.lap)
    facts, engine_plan = plan_engine(context)
    findings += engine_plan.findings

    registry_path, report, registry_findings = _check_registry(
        options, command, engine_plan, version, inventory, environ, cwd
    )
    findings += registry_findings
    clock.lap("registry")

    from kgc_launch.launch_artifacts import choose_artifacts_dir

    artifacts_dir = choose_artifacts_dir(options.artifacts_dir, cwd, facts, engine_plan)
    if command.engine == "ferrum":
        from kgc_launch.ferrum.launch import with_engine_artifact_flags

        engine_plan.argv = with_engine_artifact_flags(engine_plan.argv, artifacts_dir)
    plan = LaunchPlan(
        command=command,
        executable=executable,
        engine_version=version,
        engine_version_source=version_source,
        inventory=inventory,
        facts=facts,
        engine=engine_plan,
        registry_path=registry_path,
        registry_report=report,
        artifacts_dir=artifacts_dir,
        findings=findings,
        timings_ms={},
    )
    from kgc_launch.launch_artifacts import write_launch_artifacts

    plan.timings_ms = clock.total()
    write_launch_artifacts(plan, environ)
    return plan


def _check_registry(
    options: LaunchOptions,
    command: EngineCommand,
    engine_plan: EnginePlan,
    version: str | None,
    inventory: Inventory,
    environ: Mapping[str, str],
    cwd: Path,
) -> tuple[str, dict[str, Any], list[Finding]]:
    from kgc_launch.knowngood.launch_check import check_for_launch

    return check_for_launch(
        registry=options.registry,
        no_recipes=options.no_recipes,
        model_ids=engine_plan.model_ids,
        serve_args=engine_plan.registry_args,
        env={**environ, **engine_plan.env_changes},
        engine=command.engine,
        engine_version=version,
        inventory=inventory,
        require_registered=options.require_registered,
        environ=environ,
        cwd=cwd,
    )


def exec_plan(plan: LaunchPlan, environ: Mapping[str, str]) -> None:
    """Replace this process with the engine. Returns only by raising."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    executable = plan.executable or plan.engine.argv[0]
    try:
        os.execve(executable, plan.engine.argv, plan.exec_env(environ))
    except FileNotFoundError:
        raise EngineNotFound(f"engine executable not found: {executable}", hint="check PATH") from None
    except PermissionError:
        raise EngineNotFound(f"engine executable is not executable: {executable}", hint="chmod +x it") from None
