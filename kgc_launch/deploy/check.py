"""Each launch a deploy scan found, judged as `kgc-launch check --serve-args` and the launcher would judge it.

Per launch: its model (from the file, or `--model`); the registry check (`check_launch`) with the engine's
arguments parsed as the engine reads them and the environment the file gives it; with `--hardware`, the
engine's own resolver on the GPUs the manifest asks for (`kgc_launch.deploy.resolve`). The answer is a
`LaunchResult` for the report.

Fail-closed: a requirement on a variable whose value is not in the file (a Secret, a ConfigMap key, the
shell running compose) cannot be decided, and neither can a flag whose value is built from one; such a
launch is `error` (not evaluated, exit 3), never a pass.

A launch through kgc-launch is judged as that kgc-launch would judge it (`kgc_launch.deploy.wrapper`): its
own `--hardware` replaces the check's for that launch, its `--registry` (or `$KNOWN_GOOD_CONFIG_REGISTRY`)
replaces the check's registry where the file is readable here (else the registry check is not evaluated),
its `--require-registered`, `--set`, `--workload`, `--ferrum-features` apply, and its own options after the
engine are the usage error it would stop on.

What the file itself shows the engine would reject (args that repeat the image's `vllm serve`) is a
refusal. The hardware checks run only where they can mean something (`hardware_skip`): never on a launch
that asks for another vendor's devices, nor without a device count for a Kubernetes-scheduled launch;
a launch whose hardware checks did not run says why (`LaunchResult.hardware`), and is counted apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from kgc_launch.deploy.launch import Launch, has_unexpanded
from kgc_launch.deploy.model_source import choose_model, is_hub_id
from kgc_launch.deploy.models import ModelReader
from kgc_launch.deploy.report import REGISTRY, LaunchResult
from kgc_launch.deploy.resolve import hardware_skip, judge_engine, launch_inventory, stated_gpus_finding
from kgc_launch.deploy.stated_version import StatedVersion, exact_release, from_image, releases_of
from kgc_launch.deploy.wrapper import WrapperOptions, wrapper_options
from kgc_launch.engines import engine_adapter
from kgc_launch.errors import KgcError
from kgc_launch.findings import Finding, Severity, first_sentence, is_paste_ready
from kgc_launch.hardware.inventory import Inventory
from kgc_launch.knowngood.check import CheckReport, check_launch
from kgc_launch.knowngood.check import Finding as Requirement
from kgc_launch.knowngood.launch_check import registry_finding
from kgc_launch.knowngood.registry import Registry
from kgc_launch.launch_options import LaunchOptions
from kgc_launch.model.facts import ModelFacts
from kgc_launch.serve_args import ServeArgs
from kgc_launch.vllm.args import NOT_IN_NEWEST


@dataclass(frozen=True)
class CheckSettings:
    """What a deploy check runs with; the same for every launch of the run."""

    registry: Registry
    hardware: Inventory | None
    """The node type (`--hardware`); each launch gets as many of its GPUs as its manifest asks for."""
    engine_version: str | None
    model: str | None = None
    """`--model`: overrides the model each launch names (and fills it where the file does not say)."""
    require_registered: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    """`--env`: values the files do not hold (a Secret's, a ConfigMap's), over each launch's environment."""
    environ: Mapping[str, str] = field(default_factory=dict)
    """This machine's environment: where the Hugging Face cache is."""
    model_map: Mapping[str, str] = field(default_factory=dict)
    """`--model-map PATH=ORG/NAME`: the model a path inside the container holds."""


class DeployChecker:
    """Checks launches one by one; the registry is loaded once and each model read once per run."""

    def __init__(self, settings: CheckSettings) -> None:
        self.settings = settings
        self.models = ModelReader(settings.environ)
        self.registries: dict[Path, Registry] = {}

    def check(self, launch: Launch) -> LaunchResult:
        try:
            return self._check(launch)
        except KgcError as error:  # what the launcher would stop on before deciding anything
            hint = f" ({error.hint})" if error.hint else ""
            return LaunchResult(launch, "error", error=f"{error}{hint}")

    def _check(self, launch: Launch) -> LaunchResult:
        settings = self.settings
        if launch.unevaluated is not None:
            return LaunchResult(launch, "error", error=launch.unevaluated)
        choice = choose_model(launch, settings.model, settings.model_map)
        model = choice.model
        rejections = [Finding("refuse", text, origin="vllm-args") for text in launch.rejections]
        if model is None:
            why = f"the model is not known ({choice.why}); pass --model ID or --model-map PATH=ORG/NAME"
            # What vLLM's own parser refuses does not depend on the model: a certain refusal is said, not hidden.
            unread = LaunchResult(launch, "fail", findings=rejections, notes=[why])
            parser_findings(
                unread,
                registry_args(
                    launch, settings.engine_version, stated_releases(launch, settings.engine_version, unread)
                ),
            )
            if any(finding.severity == "refuse" for finding in unread.findings):
                unread.findings = [finding for finding in unread.findings if finding.severity == "refuse"]
                return unread
            return LaunchResult(launch, "error", error=why)
        wrapped = wrapper_options(launch)
        env = {**launch.known_env(), **settings.env}
        unknown = {name: why for name, why in launch.unknown_env().items() if name not in settings.env}
        result = LaunchResult(launch, "pass", findings=rejections, notes=list(wrapped.notes))
        result.model, result.model_source = model, choice.source
        undecided = list(wrapped.undecided)
        if wrapped.stop is not None:
            result.findings.append(Finding("refuse", wrapped.stop, origin="launcher"))
        inventory = self._inventory(launch, wrapped, result, undecided)
        registry = self._registry(wrapped, result, undecided)
        among = stated_releases(launch, settings.engine_version, result)
        serve_args = registry_args(launch, settings.engine_version, among)
        # The release the file pins is the one the launcher in that image reads: the engine's rules are judged
        # at it, and the registry's requirements at it as well as at the version the check was given.
        pinned = None if settings.engine_version else exact_release(file_statements(launch))
        report = None
        if registry is not None:

            def registry_check(version: str | None) -> CheckReport:
                return check_launch(
                    registry,
                    model_ids=model_ids(model, launch, serve_args),
                    serve_args=serve_args,
                    env=env,
                    engine=launch.engine,
                    engine_version=version,
                    gpus=None if inventory is None or not inventory.visible else gpu_scope(inventory),
                    require_registered=settings.require_registered or wrapped.options.require_registered,
                )

            report = registry_check(settings.engine_version)
            if pinned is not None:
                report = with_pinned_release(report, registry_check(pinned))
            result.notes += report.notes
            undecided += registry_findings(result, report, unknown)
        if inventory is not None:
            undecided += self._engine(result, launch, model, serve_args, inventory, env, wrapped.options, pinned)
        elif (stated := stated_gpus_finding(launch, serve_args, {*env, *unknown})) is not None:
            result.findings.append(stated)
        # What the engine's own parser rejects is rejected on any hardware, as the version the file states reads it.
        undecided += parser_findings(result, serve_args)
        if launch.engine == "vllm" and inventory is None:
            self._checkpoint(result, model, serve_args)
        if unknown:
            values = ", ".join(f"{name} ({why})" for name, why in unknown.items())
            result.notes.append(f"values not in the file: {values}")
        return finish(result, report.fix if report is not None else None, undecided)

    def _inventory(
        self, launch: Launch, wrapped: WrapperOptions, result: LaunchResult, undecided: list[str]
    ) -> Inventory | None:
        """The GPUs the launch is planned for: its kgc-launch's `--hardware` as given (the launcher does not
        probe then), else as many of the check's `--hardware` as the manifest asks for, else none."""
        spec = wrapped.options.hardware
        if spec is None:
            skip = hardware_skip(self.settings.hardware, launch)
            result.hardware = skip
            hardware = self.settings.hardware
            return None if hardware is None or skip is not None else launch_inventory(hardware, launch)
        from kgc_launch.hardware.presets import is_preset_spec
        from kgc_launch.hardware.select import hardware_from_spec

        if not is_preset_spec(spec) and not Path(spec).is_file():
            undecided.append(f"not evaluated: hardware file {spec} is inside the container (not readable here)")
            return None
        inventory = hardware_from_spec(spec)
        overrides = " (it replaces the check's --hardware for this launch)" if self.settings.hardware else ""
        result.notes.append(
            f"hardware: {wrapped.options.described('hardware', spec)}, as its kgc-launch is told{overrides}"
        )
        if launch.gpus is not None and launch.gpus * (launch.nodes or 1) != len(inventory.visible):
            message = (
                f"its kgc-launch plans for {len(inventory.visible)} GPU(s) ({spec}), but the file gives the "
                f"container {launch.gpus}"
            )
            result.findings.append(Finding("warn", message, origin="launcher"))
        return inventory

    def _registry(self, wrapped: WrapperOptions, result: LaunchResult, undecided: list[str]) -> Registry | None:
        """The registry its kgc-launch is given, where this machine can read it; else the check's."""
        if wrapped.registry is None:
            return self.settings.registry
        path = Path(wrapped.registry)
        if not path.is_file():
            undecided.append(f"not evaluated: registry {path} is inside the container (not readable here)")
            return None
        if path not in self.registries:
            from kgc_launch.knowngood.load import load_registry

            self.registries[path] = load_registry(path)
        result.notes.append(f"registry: {path}, as its kgc-launch is told (instead of the check's)")
        return self.registries[path]

    def _checkpoint(self, result: LaunchResult, model: str, serve_args: ServeArgs) -> None:
        """Where the engine's resolver does not run (no hardware): its rule on `--quantization awq` (gptq, marlin)
        and a checkpoint that is not of that method, which vLLM refuses on any hardware when it loads the weights."""
        from kgc_launch.vllm.precision import CHECKPOINT_CONFIG_RULE, checkpoint_config_missing
        from kgc_launch.vllm.problems import evaluate_rule
        from kgc_launch.vllm.rules import load_rules

        method = serve_args.get("quantization")
        if not isinstance(method, str):
            return
        revision = serve_args.get("revision")
        facts = self.models.read(model, revision if isinstance(revision, str) else None, local_paths=False).facts
        if facts is None:
            return
        rule = load_rules().get(CHECKPOINT_CONFIG_RULE)
        found = evaluate_rule(rule, None, lambda variant: checkpoint_config_missing(facts, method, rule, variant))
        if found is not None:
            result.findings.append(found)

    def _engine(
        self,
        result: LaunchResult,
        launch: Launch,
        model: str,
        serve_args: ServeArgs,
        inventory: Inventory,
        env: Mapping[str, str],
        options: LaunchOptions,
        pinned: str | None,
    ) -> list[str]:
        """Run the engine's resolver (at the check's `--engine-version`, else the release the file `pinned`); what
        stops it from running at all is returned (not evaluated)."""
        revision = serve_args.get("revision")
        read = self.models.read(
            model, revision if isinstance(revision, str) else None, local_paths=model == self.settings.model
        )
        if read.note:
            result.notes.append(read.note)
        if read.facts is None:
            return [f"the model cannot be read: {read.error}"]
        facts = read.facts
        if facts.source == "unknown" and not is_hub_id(model):
            result.hardware = (
                f"the model {model} is a path inside the container, its config is not read here (name it with "
                "--model-map PATH=ORG/NAME or the annotation kgc-launch.io/model): only the checks that need "
                "no model facts ran"
            )
        elif facts.source == "unknown":
            result.hardware = (
                f"the model {model}'s config is not known here (neither in the Hugging Face cache nor in the "
                "shipped catalog): only the checks that need no model facts ran"
            )

        def lookup(_model: str, _revision: str | None, _config: str | None) -> ModelFacts:
            return facts  # the model this check names for the launch (`--model` wins over the file's)

        verdict = judge_engine(
            launch.engine,
            launch.args,
            inventory,
            lookup,
            options,
            environ=env,
            engine_version=self.settings.engine_version or pinned,
            version_source=None if self.settings.engine_version or pinned is None else "stated by the deploy file",
        )
        result.findings += verdict.findings
        result.notes += verdict.notes
        return verdict.undecided


# vLLM's quantization methods whose settings come only from the checkpoint (`get_config_filenames()` names a
# file, and `get_quant_config` raises "Cannot find the config file for METHOD" without one), unlike `fp8` or
# `bitsandbytes`, which quantize an unquantized checkpoint as it loads.


def parser_findings(result: LaunchResult, serve_args: ServeArgs) -> list[str]:
    """The engine parser's verdicts on the arguments (vLLM's flag vocabulary), as the launch would give them;
    returns what cannot be decided here. A verdict on a value the file does not hold (`--port $PORT`, set when
    the container starts) is noted. An option that older releases accept and the newest refuses, in a launch
    whose vLLM version is not known (no `--engine-version`, no statement in the file, an image tag `latest`),
    makes the launch not evaluated: it starts on the releases that accept it and fails on the newest."""
    undecided: list[str] = []
    for finding in serve_args.problems:
        if has_unexpanded(finding.message):
            result.notes.append(f"not checked: {finding.message}; the value is not in the file")
        elif finding.rule_id == NOT_IN_NEWEST:
            fix = f" ({finding.fix} there)" if finding.fix else ""
            undecided.append(
                f"{finding.message}{fix}, and no vLLM version is known for this launch: state it (an image "
                "tag, a pip requirement, the project's requirements) or pass --engine-version"
            )
        else:
            result.findings.append(finding)
    return undecided


def registry_args(launch: Launch, version: str | None = None, among: Sequence[str] | None = None) -> ServeArgs:
    """The arguments as the registry check compares them, exactly as the launcher builds them per engine, read
    as vLLM `version` (`--engine-version`) or each release of `among` (what the file states) reads them."""
    return engine_adapter(launch.engine).registry_args(launch.args, version, among)


def stated_releases(launch: Launch, given: str | None, result: LaunchResult) -> tuple[str, ...] | None:
    """The flag vocabulary's releases the file's own statements of the vLLM version allow (an exact image tag,
    a pip requirement), each said as a decision with its evidence; None when the check was given the version
    (`--engine-version` wins) or the file states none. The flags are judged by them, and the resolver's rules by
    the one release they pin (`exact_release`); the registry's version scopes at the version the check was
    given, and at that one release too (`with_pinned_release`)."""
    stated = file_statements(launch)
    if not stated:
        return None
    evidence = "; ".join(item.describe() for item in stated)
    if given is not None:
        result.notes.append(f"vLLM version stated: {evidence}; --engine-version {given} is used instead")
        return None
    releases = releases_of(stated)
    pinned = exact_release(stated)
    rules = f", and the engine's rules as vLLM {pinned} applies them" if pinned else ""
    scopes = "still apply as for an unknown version"
    scopes = f"apply as for an unknown version and as for vLLM {pinned}" if pinned else scopes
    if not releases:
        result.notes.append(
            f"vLLM version stated: {evidence}; no release of the flag vocabulary fits it, so the flags "
            f"are judged against every known release{rules} (the registry's version-scoped requirements {scopes})"
        )
        return None
    span = releases[0] if len(releases) == 1 else f"{releases[0]}-{releases[-1]}"
    result.notes.append(
        f"vLLM version stated: {evidence}: its flags are judged as vLLM {span} reads them{rules} (the "
        f"registry's version-scoped requirements {scopes}; --engine-version sets it)"
    )
    return releases


def file_statements(launch: Launch) -> list[StatedVersion]:
    """What the file says of the vLLM version a vLLM launch runs: its own statements and its image's tag."""
    if launch.engine != "vllm":
        return []
    stated = list(launch.stated_versions)
    tagged = from_image(launch.image, f"{launch.file}:{launch.container_line or launch.line or 1}")
    if tagged is not None and not any(item.evidence == tagged.evidence for item in stated):
        stated.append(tagged)
    return stated


def model_ids(model: str, launch: Launch, serve_args: ServeArgs) -> list[str]:
    """The ids the registry may know the model by: the check's model, the file's, `--served-model-name`."""
    names = serve_args.get("served-model-name")
    served = names if isinstance(names, list) else [names] if isinstance(names, str) else []
    ids = [model, launch.model, serve_args.model, *served]
    return list(dict.fromkeys(i for i in ids if i and not has_unexpanded(i)))


def gpu_scope(inventory: Inventory) -> list[tuple[str, str | None]]:
    return [(device.name, device.compute_capability) for device in inventory.visible]


def registry_findings(result: LaunchResult, report: CheckReport, unknown: Mapping[str, str]) -> list[str]:
    """Fill `result` from the registry's report; returns the requirements that cannot be decided here."""
    undecided: list[str] = []
    pairs: list[tuple[Requirement, Severity]] = [(f, "refuse") for f in report.missing_required]
    pairs += [(f, "warn") for f in report.warnings]
    for requirement, severity in pairs:
        blind = _undecidable(requirement, unknown)
        if blind is not None and severity == "refuse":
            undecided.append(f"the registry requires {requirement.flag} ({requirement.severity}), and {blind}")
        elif blind is not None:
            result.notes.append(f"the registry recommends {requirement.flag} (perf); {blind}")
        else:
            # The requirement as written is its rule id: what `missing` names, as `kgc-launch show` lists it.
            found = registry_finding(
                requirement, severity, _why(requirement), origin=REGISTRY, rule_id=requirement.flag
            )
            result.findings.append(found)
    if not report.registered:
        if report.passed:
            result.notes.append(report.reason or "the model is not registered: nothing to check")
        else:
            result.findings.append(Finding("refuse", report.reason or "the model is not registered", origin=REGISTRY))
    return undecided


def with_pinned_release(report: CheckReport, pinned: CheckReport) -> CheckReport:
    """The registry's verdict at the version the check was given (`report`) and at the release the file pins:
    what either finds missing. A requirement scoped to other releases still applies (a statement never relaxes
    the registry), and one the pinned release decides (its minimum version) applies as the launcher in that
    image applies it, instead of staying undecided."""
    known = {(item.flag, item.layer) for item in report.missing_required}
    added = [item for item in pinned.missing_required if (item.flag, item.layer) not in known]
    if not added:
        return report
    decided = {(item.flag, item.layer) for item in added}
    fixes = [report.fix, *(item.fix for item in added if is_paste_ready(item.fix))]
    return replace(
        report,
        verdict="fail",
        reason=report.reason or pinned.reason,
        missing_required=[*report.missing_required, *added],
        not_evaluated=[item for item in report.not_evaluated if (item.flag, item.layer) not in decided],
        fix=" ".join(fix for fix in fixes if fix),
    )


def _undecidable(finding: Requirement, unknown: Mapping[str, str]) -> str | None:
    """Why a missing requirement cannot be decided from the file, or None when the file settles it."""
    if finding.kind == "env":
        name = finding.flag.partition("=")[0].strip()
        if name in unknown:
            return f"the value of {name} is not in the file ({unknown[name]})"
        return None
    built = [conflict for conflict in finding.conflicts if has_unexpanded(conflict)]
    if built:
        return f"the launch sets {built[0]}, whose value is not in the file"
    return None


def _why(finding: Requirement) -> str:
    """One line, as the launcher words it: the first sentence of the registry's why (`kgc-launch show` has
    the rest and the evidence) and what in the launch contradicts it."""
    why = first_sentence(finding.why).rstrip(".") if finding.why else "required by the registry"
    text = f"[{finding.severity}] {why}"
    if finding.conflicts:
        text += f"; the launch has {'; '.join(finding.conflicts)}"
    return text


def finish(result: LaunchResult, registry_fix: str | None, undecided: list[str]) -> LaunchResult:
    """The verdict and the paste-ready line: a definite failure wins over what could not be decided."""
    failing = any(finding.severity == "refuse" for finding in result.findings)
    if undecided:
        result.error = "; ".join(undecided)
    result.verdict = "fail" if failing else "error" if undecided else "pass"
    fixes = [registry_fix] + [r.fix for r in result.refusals if r.fix and is_paste_ready(r.fix)]
    words = [fix for fix in dict.fromkeys(fixes) if fix]
    # NAME=VALUE words first, as in every paste-ready line of kgc-launch.
    result.fix = " ".join(sorted(words, key=lambda fix: fix.startswith("-")))
    return result
