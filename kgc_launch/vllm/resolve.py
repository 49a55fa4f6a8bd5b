"""The vLLM resolver: pure decisions and checks for one `vllm serve`, before anything starts.

Inputs are data (parsed arguments, the GPU inventory, the model's facts, the environment, the installed
vLLM version); the output is a `VllmResolution`. No I/O beyond reading the
shipped rules once. Unknown facts never raise and never refuse by themselves: they become decisions that
say what was assumed, and one warning listing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kgc_launch.findings import Finding
from kgc_launch.hardware.inventory import ClusterStatus, Inventory
from kgc_launch.model.facts import MemoryPlan, ModelFacts
from kgc_launch.records import AutoConfigDecision, AutoConfigSource, to_plain
from kgc_launch.serve_args import ServeArgs
from kgc_launch.versions import parse_engine_version
from kgc_launch.vllm.attention import decide_attention
from kgc_launch.vllm.capacity import decide_capacity
from kgc_launch.vllm.context import ResolveContext
from kgc_launch.vllm.multinode import decide_placement
from kgc_launch.vllm.parallel import decide_devices, decide_parallel
from kgc_launch.vllm.precision import decide_precision
from kgc_launch.vllm.rules import RuleSet, load_rules


@dataclass
class VllmResolution:
    """What vLLM will run with, why, and what stops it (refusals) or may hurt it (warnings)."""

    decisions: list[AutoConfigDecision] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    env_changes: dict[str, str] = field(default_factory=dict)
    """Variables the launcher sets before exec (each also recorded as a decision)."""
    memory_plan: MemoryPlan | None = None
    """vLLM's memory accounting with the decided values; None when it could not be made."""
    engine_version: str | None = None
    platform: str = "cuda"

    @property
    def refusals(self) -> list[Finding]:
        return [problem for problem in self.problems if problem.severity == "refuse"]

    @property
    def warnings(self) -> list[Finding]:
        return [problem for problem in self.problems if problem.severity == "warn"]

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    def decision(self, selection: str) -> AutoConfigDecision | None:
        return next((d for d in self.decisions if d.selection == selection), None)

    def to_plain(self) -> dict[str, Any]:
        return {
            "engine_version": self.engine_version,
            "platform": self.platform,
            "decisions": [to_plain(decision) for decision in self.decisions],
            "problems": [problem.to_json() for problem in self.problems],
            "env_changes": dict(sorted(self.env_changes.items())),
        }


def resolve_vllm(
    serve_args: ServeArgs,
    inventory: Inventory,
    model: ModelFacts,
    *,
    environ: Mapping[str, str],
    engine_version: str | None,
    platform: str = "cuda",
    rules: RuleSet | None = None,
    cluster: ClusterStatus | None = None,
) -> VllmResolution:
    """Decide and check a `vllm serve` configuration against the GPUs, the model and the vLLM version."""
    ctx = ResolveContext(
        args=serve_args,
        inventory=inventory,
        model=model,
        environ=environ,
        version=parse_engine_version(engine_version),
        platform=platform,
        rules=rules if rules is not None else load_rules(),
        cluster=cluster,
    )
    _record_engine_version(ctx)
    if model.source == "unknown":
        ctx.note_unknown(f"the model ({model.notes[0]})" if model.notes else "the model (no config.json was read)")
    decide_devices(ctx)
    decide_placement(ctx)
    decide_precision(ctx)
    decide_parallel(ctx)
    decide_attention(ctx)
    decide_capacity(ctx)
    if ctx.unknown:
        ctx.check("facts-unknown", lambda _variant: {"unknown": "; ".join(ctx.unknown)})
    return VllmResolution(
        decisions=ctx.decisions,
        problems=ctx.problems,
        env_changes=ctx.env_changes,
        memory_plan=ctx.memory_plan,
        engine_version=engine_version,
        platform=platform,
    )


def _record_engine_version(ctx: ResolveContext) -> None:
    version = ctx.version
    if version is None:
        ctx.note_unknown("the vLLM version (version-dependent refusals become warnings)")
        ctx.decide("engine_version", "unknown", AutoConfigSource.DEFAULT)
        return
    if not version.known:
        ctx.note_unknown(f"the release of vLLM {version.text} ({version.why_inexact()})")
    ctx.decide("engine_version", version.text, AutoConfigSource.DEFAULT, source_key="vllm.__version__")
