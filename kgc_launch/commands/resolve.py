"""`kgc-launch resolve ferrum`: resolve ferrum's serving config, print its decisions, write its artifacts.

`--hardware`, `--workload`, `--ferrum-features`, `--set` and `--artifacts-dir` mean what they mean for a
launch (and come from the same `KGC_*` variables and `--kgc-config` keys): `--hardware H100` is the
preset, as `kgc-launch --hardware H100 ferrum serve ...` would plan for it.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

from kgc_launch.artifacts import ArtifactPaths, render_artifacts, write_artifacts
from kgc_launch.ferrum.inputs import ResolverRecords, parse_set_options, resolver_records, runtime_snapshot
from kgc_launch.ferrum.resolve import PRESETS, resolve_ferrum
from kgc_launch.output import format_table
from kgc_launch.records import ResolvedFerrumConfig, WorkloadProfile

DEFAULT_ARTIFACTS_DIR = "kgc-artifacts/ferrum"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("engine", choices=["ferrum"], help="the engine whose config to resolve")
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), help="start from a preset's model, hardware and workload records"
    )
    parser.add_argument(
        "--hardware",
        metavar="NAME|NxNAME|FILE",
        help="a preset (H100, 2xL4), a 'kgc-launch probe --save' file or a HardwareCapabilities JSON file "
        "(default: the preset's, else unknown)",
    )
    parser.add_argument(
        "--ferrum-features",
        metavar="LIST",
        help="cargo features the ferrum binary was built with, comma-separated (with a --hardware preset or "
        "probe file; a HardwareCapabilities file declares its own)",
    )
    parser.add_argument("--model-capabilities", metavar="FILE", help="ModelCapabilities as JSON (default: unknown)")
    parser.add_argument(
        "--workload",
        metavar="PRESET|FILE",
        help="a workload preset (m3_qwen3_30b_a3b_int4) or WorkloadProfile as JSON "
        "(default: the preset's, else the serving default for the hardware)",
    )
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a FERRUM_* runtime entry (source cli); wins over the environment's value (repeatable)",
    )
    parser.add_argument(
        "--artifacts-dir",
        metavar="DIR",
        default=DEFAULT_ARTIFACTS_DIR,
        help=f"where effective_config.json and decision_trace.jsonl go (default: {DEFAULT_ARTIFACTS_DIR})",
    )
    parser.add_argument("--json", action="store_true", help="print the effective-config document instead")


def run(args: argparse.Namespace) -> int:
    records = _records(args)
    runtime = runtime_snapshot(parse_set_options(args.set), os.environ)
    resolved = resolve_ferrum(runtime, records.model, records.hardware, records.workload)
    rendered = render_artifacts(resolved)
    paths = write_artifacts(rendered, args.artifacts_dir)
    if args.json:
        sys.stdout.write(rendered.effective_config)
        print(f"artifacts written to {paths.effective_config.parent}", file=sys.stderr)
    else:
        print(decisions_table(resolved, str(rendered.document["env_hash"])))
        print()
        print(_settings_lines(args), end="")
        print(artifacts_lines(paths))
    return 0


def _records(args: argparse.Namespace) -> ResolverRecords:
    """The preset's records (or `unknown()` ones), with `--hardware`, `--model-capabilities` and `--workload`
    each replacing its record; the workload's default follows the hardware chosen."""
    workload_file = None if args.workload in (None, *PRESETS) else args.workload
    base = resolver_records(args.preset, None, args.model_capabilities, workload_file)
    hardware = base.hardware
    if args.hardware is not None:
        from kgc_launch.ferrum.adapter import compiled_features
        from kgc_launch.ferrum.hardware import ferrum_hardware_capabilities
        from kgc_launch.hardware.select import hardware_from_spec

        hardware = ferrum_hardware_capabilities(hardware_from_spec(args.hardware), compiled_features(_features(args)))
    elif args.ferrum_features is not None:
        from kgc_launch.ferrum.adapter import compiled_features

        hardware = replace(hardware, compiled_features=compiled_features(_features(args)))
    workload = base.workload
    if args.workload in PRESETS:
        workload = PRESETS[args.workload]().workload
    elif args.workload is None and args.preset is None:
        workload = WorkloadProfile.serving_default_for_hardware(hardware)
    return ResolverRecords(base.model, hardware, workload)


def _features(args: argparse.Namespace) -> list[str]:
    return [name.strip() for name in (args.ferrum_features or "").split(",") if name.strip()]


def _settings_lines(args: argparse.Namespace) -> str:
    """What the records came from, where a setting gave it (`hardware: H100 (from KGC_HARDWARE)`)."""
    from kgc_launch.commands._settings import described

    lines = [
        f"{name}: {described(args, dest)}\n"
        for name, dest in (("hardware", "hardware"), ("ferrum features", "ferrum_features"), ("workload", "workload"))
        if getattr(args, dest) is not None
    ]
    return "".join(lines) + ("\n" if lines else "")


def decisions_table(resolved: ResolvedFerrumConfig, env_hash: str) -> str:
    """A heading, then one aligned row per decision: selection, selected, source, source_key."""
    entries = len(resolved.runtime_config.entries)
    heading = f"ferrum config resolved: preset {resolved.preset or '-'}, {entries} runtime entries\n"
    heading += f"env_hash {env_hash}"
    rows = [(d.selection, d.selected, d.source.value, d.source_key) for d in resolved.decisions]
    return heading + "\n\n" + format_table(("selection", "selected", "source", "source_key"), rows)


def artifacts_lines(paths: ArtifactPaths) -> str:
    return f"artifacts:\n  {paths.effective_config}\n  {paths.decision_trace}"
