"""What a launch decided, as plain data: the types the pipeline and the engine adapters exchange.

Types only: no behaviour beyond small derived views, and no imports of the parts that fill them in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgc_launch.findings import Finding, refusals

if TYPE_CHECKING:
    from kgc_launch.engines import EngineCommand
    from kgc_launch.hardware.inventory import Inventory
    from kgc_launch.launch_options import LaunchOptions
    from kgc_launch.model.facts import ModelFacts
    from kgc_launch.records import AutoConfigDecision
    from kgc_launch.serve_args import ServeArgs


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
    registry_args: ServeArgs
    """The serve arguments in the registry's common format."""
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
