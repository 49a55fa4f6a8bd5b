"""The launch pipeline: engine args -> hardware -> model -> resolve -> registry check -> artifacts -> exec.

`plan_launch` does everything but the exec and returns a `LaunchPlan`; `exec_plan` replaces this process
with the engine (no shell: the server takes over the PID, and signals reach it directly). Nothing here
prints: the command module tells the user.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kgc_launch import STARTED, startup
from kgc_launch.engines import detect_engine, engine_adapter, engine_version, find_executable
from kgc_launch.errors import EngineNotFound
from kgc_launch.findings import Finding
from kgc_launch.knowngood.launch_check import launch_findings
from kgc_launch.launch_options import LaunchOptions
from kgc_launch.plan import EnginePlan, LaunchDecision, LaunchPlan, PlanContext

if TYPE_CHECKING:
    from kgc_launch.knowngood.check import CheckReport
    from kgc_launch.knowngood.registry import Registry
    from kgc_launch.model.facts import ModelFacts


class _Clock:
    """Phase timings of a launch, counted from when kgc-launch's code started (imports included)."""

    def __init__(self) -> None:
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

    from kgc_launch.knowngood.layers import open_layered
    from kgc_launch.knowngood.load import locate_registry
    from kgc_launch.model.metadata import read_model

    def lookup(model: str, revision: str | None, hf_config_path: str | None) -> ModelFacts:
        # Not on disk nor cached: vLLM would download it, so its metadata is read from the Hub first
        # (within KGC_HUB_TIMEOUT; HF_HUB_OFFLINE=1 or KGC_NO_HUB=1: not asked).
        return read_model(model, revision=revision, environ=environ, hub=True, hf_config_path=hf_config_path)

    context = PlanContext(
        options, command, inventory, version, version_source, environ, cwd, clock.lap, lookup, probe_cluster=True
    )
    registry_path = locate_registry(options.registry, environ, cwd)
    registry = open_layered(registry_path, no_recipes=options.no_recipes, environ=environ)
    decision = decide_launch(context, registry)
    clock.lap("registry")

    from kgc_launch.launch_artifacts import choose_artifacts_dir, write_launch_artifacts

    engine_plan = decision.engine
    inventory = engine_plan.details.pop("inventory", inventory)  # a Ray launch: the cluster it joins
    artifacts_dir = choose_artifacts_dir(options.artifacts_dir, cwd, decision.facts, engine_plan)
    engine_plan.argv = engine_adapter(command.engine).finish_argv(engine_plan.argv, artifacts_dir)
    plan = LaunchPlan(
        command=command,
        executable=executable,
        engine_version=version,
        engine_version_source=version_source,
        inventory=inventory,
        facts=decision.facts,
        engine=engine_plan,
        registry_path=str(registry_path),
        registry_report=decision.registry_report.to_json(),
        artifacts_dir=artifacts_dir,
        findings=findings + decision.findings,
        timings_ms={},
    )
    plan.timings_ms = clock.total()
    write_launch_artifacts(plan, environ)
    return plan


def decide_launch(ctx: PlanContext, registry: Registry) -> LaunchDecision:
    """The engine's plan and the registry's verdict for one launch: what a launch and a deploy check share."""
    facts, engine_plan = engine_adapter(ctx.command.engine).plan(ctx)
    report = check_registry(ctx, engine_plan, registry)
    return LaunchDecision(facts, engine_plan, report, engine_plan.findings + launch_findings(report))


def check_registry(ctx: PlanContext, engine_plan: EnginePlan, registry: Registry) -> CheckReport:
    from kgc_launch.knowngood.check import check_launch

    visible = ctx.inventory.visible
    sizes = [device.memory_total_bytes for device in visible]
    return check_launch(
        registry,
        model_ids=engine_plan.model_ids,
        serve_args=engine_plan.registry_args,
        env={**ctx.environ, **engine_plan.env_changes},
        engine=ctx.command.engine,
        engine_version=ctx.version,
        gpus=[(device.name, device.compute_capability) for device in visible] if visible else None,
        require_registered=ctx.options.require_registered,
        gpu_memory_bytes=sum(size for size in sizes if size is not None) if visible and None not in sizes else None,
    )


def exec_plan(plan: LaunchPlan, environ: Mapping[str, str]) -> None:
    """Replace this process with the engine. Returns only by raising."""
    startup.before_exec()
    executable = plan.executable or plan.engine.argv[0]
    try:
        os.execve(executable, plan.engine.argv, plan.exec_env(environ))
    except FileNotFoundError:
        raise EngineNotFound(f"engine executable not found: {executable}", hint="check PATH") from None
    except PermissionError:
        raise EngineNotFound(f"engine executable is not executable: {executable}", hint="chmod +x it") from None
