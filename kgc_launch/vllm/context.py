"""The resolver's working state: its inputs, and what it has decided and found so far.

The deciding modules (`precision`, `parallel`, `capacity`, `attention`) read facts through this one
object and append decisions and problems to it, so each of them stays a list of small pure steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kgc_launch.errors import UsageError
from kgc_launch.findings import Finding
from kgc_launch.hardware.capability import Capability, parse_capability
from kgc_launch.hardware.inventory import ClusterStatus, Device, Inventory
from kgc_launch.model.facts import MemoryPlan, ModelFacts
from kgc_launch.records import AutoConfigDecision, AutoConfigSource, RejectedCandidate
from kgc_launch.runtime import RuntimeConfigEffect
from kgc_launch.serve_args import ServeArgs
from kgc_launch.versions import EngineVersion
from kgc_launch.vllm.args import canonical_name
from kgc_launch.vllm.problems import Trigger, evaluate_rule
from kgc_launch.vllm.rules import RuleSet

CORRECTNESS = RuntimeConfigEffect.CORRECTNESS
PERFORMANCE = RuntimeConfigEffect.PERFORMANCE
MEMORY = RuntimeConfigEffect.MEMORY


def capability_text(capability: Capability) -> str:
    return str(capability)


@dataclass
class ResolveContext:
    """Inputs of one resolution plus what it has decided so far."""

    args: ServeArgs
    inventory: Inventory
    model: ModelFacts
    environ: Mapping[str, str]
    version: EngineVersion | None
    platform: str
    rules: RuleSet
    cluster: ClusterStatus | None = None
    """When the inventory is not a cluster: what the launch found about the Ray cluster (none, unreadable)."""
    memory_plan: MemoryPlan | None = None
    """Planned from the decided values (`capacity.plan_memory`), once they are decided."""
    decisions: list[AutoConfigDecision] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    env_changes: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    """Facts that were missing; reported once, as a warning, at the end."""
    resolved: dict[str, str] = field(default_factory=dict)
    """Values later steps need (the effective dtype, TP size, max_model_len...), by selection name."""

    # -- facts ------------------------------------------------------------------------------------
    @property
    def on_cuda(self) -> bool:
        return self.platform == "cuda"

    @property
    def devices(self) -> list[Device]:
        return list(self.inventory.visible)

    @property
    def gpu_info_known(self) -> bool:
        """False when no probe, preset or file described the GPUs (an empty list then means nothing)."""
        return self.inventory.source != "none"

    def weakest_device(self) -> tuple[Device, Capability] | None:
        """The visible device with the lowest known compute capability: the one a check fails on."""
        known = [(device, cap) for device in self.devices if (cap := parse_capability(device.compute_capability))]
        return min(known, key=lambda item: item[1]) if known else None

    def note_unknown(self, what: str) -> None:
        if what not in self.unknown:
            self.unknown.append(what)

    # -- options ----------------------------------------------------------------------------------
    def source_of(self, option: str) -> tuple[AutoConfigSource, str]:
        name = canonical_name(option)
        if name in self.args.from_config_file:
            return AutoConfigSource.CONFIG_FILE, f"--{name}"
        return AutoConfigSource.CLI, f"--{name}"

    def option_text(self, option: str) -> str | None:
        """A single-valued option as text; None when unset or not a plain value (a bare `--flag`)."""
        value = self.args.get(option)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        return value if isinstance(value, str) else None

    def option_int(self, option: str, *, example: str) -> int | None:
        """An integer option, or None when unset; a value vLLM's parser would reject becomes a refusal."""
        if not self.args.has(option):
            return None
        try:
            return self.args.int_value(option)
        except UsageError:
            self._invalid(option, "an integer", example)
            return None

    def option_float(self, option: str, *, example: str) -> float | None:
        if not self.args.has(option):
            return None
        try:
            value = self.args.float_value(option)
        except UsageError:
            value = None
        if value is None or value != value:  # NaN: a bare flag or a list
            self._invalid(option, "a number", example)
            return None
        return value

    def _invalid(self, option: str, expected: str, example: str) -> None:
        name = canonical_name(option)
        shown = self.args.options.get(name)
        fields = {"option": name, "value": str(shown), "expected": expected, "example": example}
        self.check("option-value-invalid", lambda _variant: fields)

    # -- results ----------------------------------------------------------------------------------
    def check(self, rule_id: str, trigger: Trigger) -> Finding | None:
        """Evaluate one rule of the shipped data and keep the problem it yields."""
        problem = evaluate_rule(self.rules.get(rule_id), self.version, trigger)
        if problem is not None:
            self.problems.append(problem)
        return problem

    def decide(
        self,
        selection: str,
        selected: str,
        source: AutoConfigSource,
        *,
        source_key: str | None = None,
        candidates: Iterable[str] = (),
        rejected: Iterable[tuple[str, str]] = (),
        affects: Iterable[RuntimeConfigEffect] = (PERFORMANCE,),
    ) -> AutoConfigDecision:
        """Record a decision in ferrum's shape; candidates always include the selected value."""
        listed = list(dict.fromkeys([*candidates, selected]))
        decision = AutoConfigDecision(
            schema_version=1,
            selection=selection,
            selected=selected,
            source=source,
            source_key=source_key,
            candidates=listed,
            rejected=[RejectedCandidate(value=value, reason=reason) for value, reason in rejected],
            affects=sorted(set(affects), key=lambda effect: effect.rank),
        )
        self.decisions.append(decision)
        self.resolved[selection] = selected
        return decision
