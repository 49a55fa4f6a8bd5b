"""Planning a `ferrum serve` launch with the ported resolver.

Runtime entries come from `--set` (cli), `FERRUM_*` variables (env) and the `[runtime]` table of
`./ferrum.toml` (config_file), with ferrum's precedence. ferrum silently ignores a `ferrum.toml` that does
not parse (unless `-v`), so keys an operator believes are set never reach the engine: the launcher
refuses that. The resolved entries are passed to ferrum as its environment, and ferrum is asked to write
its own effective config next to ours, so `kgc-launch diff` shows afterwards whether it agreed.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgc_launch.artifacts import effective_config_document
from kgc_launch.errors import UsageError
from kgc_launch.ferrum.args import FerrumServeArgs, parse_ferrum_serve_args
from kgc_launch.findings import Finding
from kgc_launch.hardware.inventory import Inventory
from kgc_launch.launch_options import LaunchOptions
from kgc_launch.model.facts import ModelFacts
from kgc_launch.plan import EngineAdapter, EnginePlan, PlanContext
from kgc_launch.records import (
    M3_QWEN3_30B_A3B_INT4_PRESET,
    CompiledKernelFeatures,
    ModelCapabilities,
    ResolvedFerrumConfig,
    WorkloadProfile,
    from_plain,
    to_plain,
)
from kgc_launch.runtime import RuntimeConfigSnapshot, RuntimeConfigSource
from kgc_launch.serve_args import ServeArgs

ENGINE_EFFECTIVE_CONFIG = "engine_effective_config.json"
ENGINE_DECISION_TRACE = "engine_decision_trace.jsonl"

# Cargo feature names (and the record's field names) -> CompiledKernelFeatures fields.
_FEATURES = {
    "cuda": "cuda",
    "vllm-paged-attn": "vllm_paged_attn",
    "vllm-paged-attn-v2": "vllm_paged_attn",
    "vllm-moe-marlin": "vllm_moe_marlin",
    "cuda-graph": "cuda_graph",
    "greedy-argmax": "greedy_argmax",
    "fa2-source": "fa2_source",
    "fa2-direct-ffi": "fa2_direct_ffi",
}


def compiled_features(names: list[str]) -> CompiledKernelFeatures:
    """`--ferrum-features cuda,vllm-moe-marlin` -> the record; unknown names are a usage error."""
    chosen: dict[str, bool] = {}
    for name in names:
        field = _FEATURES.get(name.strip().lower().replace("_", "-"))
        if field is None:
            raise UsageError(
                f"--ferrum-features: unknown feature {name!r}",
                hint=f"known: {', '.join(sorted(_FEATURES))}",
            )
        chosen[field] = True
    return replace(CompiledKernelFeatures.default(), **chosen)


def registry_args(tokens: list[str], version: str | None = None, among: Sequence[str] | None = None) -> ServeArgs:
    """ferrum's arguments in the shape the registry check compares (the same for a launch and a deploy check);
    its grammar has no per-release vocabulary, so `version` and `among` change nothing."""
    args = parse_ferrum_serve_args(tokens)
    return ServeArgs(model=args.model, options=dict(args.options))


def plan(ctx: PlanContext) -> tuple[ModelFacts | None, EnginePlan]:
    from kgc_launch.artifacts import env_hash

    args = parse_ferrum_serve_args(ctx.command.serve_args)
    findings: list[Finding] = []
    facts = None
    if args.model is None:
        findings.append(Finding("refuse", "no model given", fix="ferrum serve MODEL", origin="launcher"))
    else:
        facts = ctx.read_model(args.model, None, None)
    ctx.lap("model")

    toml_entries, toml_preset, toml_finding = _ferrum_toml(ctx.cwd) if ctx.local_files else ({}, None, None)
    if toml_finding is not None:
        findings.append(toml_finding)
    resolution = resolve_ferrum_args(
        args, facts, ctx.inventory, ctx.options, ctx.environ, toml_entries=toml_entries, toml_preset=toml_preset
    )
    if resolution.refusal is not None:
        findings.append(resolution.refusal)
    runtime, resolved = resolution.runtime, resolution.resolved
    ctx.lap("resolve")
    model_ids = [m for m in (facts.model_id if facts else None, args.model) if m]
    return facts, EnginePlan(
        document=effective_config_document(resolved),
        decisions=resolved.decisions,
        env_hash=env_hash([to_plain(entry) for entry in resolved.runtime_config.entries]),
        argv=list(ctx.command.argv),
        env_changes={e.key: e.effective_value for e in runtime.entries if e.source is not RuntimeConfigSource.ENV},
        findings=findings,
        registry_args=ServeArgs(model=args.model, options=dict(args.options)),
        model_ids=list(dict.fromkeys(model_ids)),
        details={"compiled_features": ctx.options.ferrum_features, "ferrum_toml": str(ctx.cwd / "ferrum.toml")},
    )


@dataclass
class FerrumResolution:
    runtime: RuntimeConfigSnapshot
    resolved: ResolvedFerrumConfig
    refusal: Finding | None
    """Why the resolver would not resolve this config (ferrum's `AutoConfigError`), else None."""


def resolve_ferrum_args(
    args: FerrumServeArgs,
    facts: ModelFacts | None,
    inventory: Inventory,
    options: LaunchOptions,
    environ: Mapping[str, str],
    *,
    toml_entries: Mapping[str, str],
    toml_preset: str | None,
) -> FerrumResolution:
    """Resolve a `ferrum serve` as the launcher does: runtime entries from `--set` (cli), `FERRUM_*` (env) and
    `ferrum.toml` (config_file), the workload and hardware records, then ferrum's resolver.

    Shared with `kgc-launch check --deploy-file`, so a deploy file is judged exactly as its launch would be.
    """
    from kgc_launch.ferrum.errors import AutoConfigError
    from kgc_launch.ferrum.hardware import ferrum_hardware_capabilities
    from kgc_launch.ferrum.resolve import resolve_ferrum

    preset_arg = args.get("runtime-preset")
    preset = preset_arg if isinstance(preset_arg, str) else toml_preset
    workload = _workload(options.workload, preset)
    hardware = ferrum_hardware_capabilities(inventory, compiled_features(options.ferrum_features))
    if workload.preset is None:
        workload = WorkloadProfile.serving_default_for_hardware(hardware)
    model = _model_capabilities(facts, workload)
    runtime = RuntimeConfigSnapshot.from_sources(
        {
            RuntimeConfigSource.CLI: options.set_entries,
            RuntimeConfigSource.ENV: {k: v for k, v in environ.items() if k.startswith("FERRUM_")},
            RuntimeConfigSource.CONFIG_FILE: dict(toml_entries),
        }
    )
    try:
        return FerrumResolution(runtime, resolve_ferrum(runtime, model, hardware, workload), None)
    except AutoConfigError as error:
        refusal = Finding("refuse", str(error), fix=error.hint, origin="ferrum-resolver")
        resolved = ResolvedFerrumConfig(
            schema_version=1,
            preset=workload.preset,
            runtime_config=runtime,
            model_capabilities=model,
            hardware_capabilities=hardware,
            workload_profile=workload,
            decisions=[],
        )
        return FerrumResolution(runtime, resolved, refusal)


def finish_argv(argv: list[str], artifacts_dir: Path) -> list[str]:
    """Ask ferrum to write its own effective config and trace next to ours, unless the user already did."""
    out = list(argv)
    for flag, name in (
        ("--effective-config-json", ENGINE_EFFECTIVE_CONFIG),
        ("--decision-trace-jsonl", ENGINE_DECISION_TRACE),
    ):
        if not any(token == flag or token.startswith(flag + "=") for token in argv):
            out += [flag, str(artifacts_dir / name)]
    return out


def _workload(spec: str | None, preset: str | None) -> WorkloadProfile:
    if spec is None:
        return (
            WorkloadProfile.m3_qwen3_30b_a3b_int4()
            if preset == M3_QWEN3_30B_A3B_INT4_PRESET
            else WorkloadProfile.serving_default()
        )
    if spec == M3_QWEN3_30B_A3B_INT4_PRESET:
        return WorkloadProfile.m3_qwen3_30b_a3b_int4()
    path = Path(spec)
    if not path.exists() and not path.is_symlink():  # a link that leads nowhere is a file that cannot be read
        raise UsageError(
            f"--workload {spec!r} is neither a preset nor a file",
            hint=f"known presets: {M3_QWEN3_30B_A3B_INT4_PRESET}; or a WorkloadProfile JSON file",
        )
    from pydantic import ValidationError

    from kgc_launch.json_input import input_error_from_validation, read_json_file

    document = read_json_file(path, what="workload file")
    try:
        return from_plain(WorkloadProfile, document)
    except ValidationError as error:
        raise input_error_from_validation(error, path=path) from None


def _model_capabilities(facts: ModelFacts | None, workload: WorkloadProfile) -> ModelCapabilities:
    if facts is not None and facts.source != "unknown":
        return facts.capabilities
    if workload.is_m3_preset():
        return ModelCapabilities.qwen3_30b_a3b_gptq_int4()
    return ModelCapabilities.unknown()


# `[runtime]` keys whose FERRUM_* name is not simply the upper-cased key (ferrum-cli `config.rs`).
_TOML_KEYS = {
    "scheduler_prefill_first_until_active": "FERRUM_SCHED_PREFILL_FIRST_UNTIL_ACTIVE",
    "scheduler_active_decode_prefill_chunk": "FERRUM_ACTIVE_DECODE_PREFILL_CHUNK",
}


def _ferrum_toml(cwd: Path) -> tuple[dict[str, str], str | None, Finding | None]:
    """`[runtime]` of `./ferrum.toml` as runtime entries and its preset; a file ferrum would not read is refused.

    ferrum's `RuntimeCliConfig` maps each typed key to `FERRUM_<KEY>` (booleans as `1`/`0`).
    """
    from kgc_launch.errors import InputError
    from kgc_launch.yamlio import read_text_limited

    path = cwd / "ferrum.toml"
    if not path.exists() and not path.is_symlink():
        return {}, None, None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        document: dict[str, Any] = tomllib.loads(read_text_limited(path, what="ferrum.toml"))
    except InputError as error:  # a directory, a link to nowhere, unreadable, too large, not UTF-8
        return {}, None, _ignored_by_ferrum(path, f"cannot be read ({error.message})")
    except tomllib.TOMLDecodeError as error:
        return {}, None, _ignored_by_ferrum(path, f"does not parse ({error})")
    except RecursionError:
        return {}, None, _ignored_by_ferrum(path, "does not parse (nested too deeply)")
    runtime = document.get("runtime", {})
    if not isinstance(runtime, dict):
        return {}, None, Finding("refuse", f"{path}: [runtime] is not a table", fix=f"fix {path}", origin="launcher")
    preset = runtime.get("preset")
    entries = {
        _TOML_KEYS.get(key, "FERRUM_" + key.upper()): _toml_value(value)
        for key, value in runtime.items()
        if key != "preset"
    }
    return entries, preset if isinstance(preset, str) else None, None


def _ignored_by_ferrum(path: Path, why: str) -> Finding:
    return Finding(
        "refuse",
        f"{path} {why}; ferrum would silently ignore the whole file",
        fix=f"fix or remove {path}",
        origin="launcher",
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


if TYPE_CHECKING:  # mypy checks that this module has the engine adapter interface (kgc_launch.plan)
    import kgc_launch.ferrum.adapter as _this

    _ADAPTER: EngineAdapter = _this
