"""What a launch decided, as plain data: the types the pipeline and the engine adapters exchange.

Types only: no behaviour beyond small derived views, and no imports of the parts that fill them in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kgc_launch.findings import Finding, refusals

if TYPE_CHECKING:
    from kgc_launch.hardware.inventory import Inventory
    from kgc_launch.knowngood.check import CheckReport
    from kgc_launch.launch_options import LaunchOptions
    from kgc_launch.model.facts import ModelFacts
    from kgc_launch.records import AutoConfigDecision
    from kgc_launch.serve_args import ServeArgs


@dataclass(frozen=True)
class EngineCommand:
    engine: str
    """`vllm` or `ferrum`."""
    argv: list[str]
    """The whole engine command line, as given."""
    prefix: list[str]
    """The part before the engine's own arguments (`vllm serve`, `python -m ...api_server`, `ferrum serve`)."""
    serve_args: list[str]
    """The engine's own arguments, after `serve` (or after the module)."""


ModelLookup = Callable[[str, "str | None", "str | None"], "ModelFacts"]
"""(model, revision, hf_config_path) -> its facts (`source == "unknown"` when not found, with the reason);
raises InputError for a bad local path."""


@dataclass
class EnginePlan:
    """What an engine's planner decided (see `kgc_launch.vllm.adapter` and `kgc_launch.ferrum.adapter`)."""

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
    unknown_options: dict[str, str] = field(default_factory=dict)
    """Options left out because their value holds a placeholder (`PlanContext.placeholders`), as written."""


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
    read_model: ModelLookup
    """The model's facts as this run reads them (a launch: this machine; a deploy check: its cached reader)."""
    local_files: bool = True
    """Whether files the engine would read from its working directory (`--config`, `./ferrum.toml`) are read:
    a launch reads them; a deploy check cannot (they live in the container)."""
    probe_cluster: bool = False
    """Whether a Ray launch may read the live Ray cluster (a launch without --hardware); a deploy check or a
    launch on named hardware plans for the GPUs given."""
    placeholders: bool = False
    """Whether option values may hold placeholders (`$(VAR)` in a manifest): such options are left out of
    what the resolver sees and listed in `EnginePlan.unknown_options`."""


@dataclass
class LaunchDecision:
    """What the engine adapter and the registry decided for one launch: shared by a launch and a deploy check."""

    facts: ModelFacts | None
    engine: EnginePlan
    registry_report: CheckReport
    findings: list[Finding]

    @property
    def refused(self) -> bool:
        return bool(refusals(self.findings))


class EngineAdapter(Protocol):
    """One engine's part of a launch (`kgc_launch.vllm.adapter`, `kgc_launch.ferrum.adapter`)."""

    def registry_args(
        self, tokens: list[str], version: str | None = None, among: Sequence[str] | None = None
    ) -> ServeArgs:
        """The engine's arguments as the registry compares them (no file is read), as the engine `version` (or
        each release of `among`, a range a deploy file states) reads them; None: as every known release does."""
        ...

    def plan(self, ctx: PlanContext) -> tuple[ModelFacts | None, EnginePlan]:
        """Parse, read the model, resolve and record: everything the engine will run with, and why."""
        ...

    def finish_argv(self, argv: list[str], artifacts_dir: Path) -> list[str]:
        """The final command line once the artifacts directory is known."""
        ...


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
