"""The resolver's inputs for `kgc-launch resolve ferrum`: capability files, presets and runtime entries.

Capability files are ours, so they are validated strictly (unknown fields refused, Rust types enforced);
a bad one is an `InputError` (exit 3) naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple, TypeVar

from kgc_launch.errors import InputError, UsageError
from kgc_launch.ferrum.resolve import PRESETS
from kgc_launch.json_input import input_error_from_validation, read_json_file
from kgc_launch.records import HardwareCapabilities, ModelCapabilities, Record, WorkloadProfile, from_plain
from kgc_launch.runtime import FERRUM_PREFIX, RuntimeConfigSnapshot, RuntimeConfigSource

_R = TypeVar("_R", bound=Record)


def load_record_file(cls: type[_R], path: str | Path) -> _R:
    """A `ModelCapabilities` / `HardwareCapabilities` / `WorkloadProfile` from a JSON file."""
    from pydantic import ValidationError

    data = read_json_file(path, what=f"{cls.__name__} file")
    try:
        return from_plain(cls, data)
    except ValidationError as error:
        hint = f"the file holds one {cls.__name__} object as JSON; see the README for its fields"
        raise input_error_from_validation(error, path=path, hint=hint) from None


def load_hardware_file(path: str | Path) -> HardwareCapabilities:
    """The record for `--hardware FILE`: the one place that reads it, so a shared loader can replace it."""
    return load_record_file(HardwareCapabilities, path)


class ResolverRecords(NamedTuple):
    model: ModelCapabilities
    hardware: HardwareCapabilities
    workload: WorkloadProfile


def resolver_records(
    preset: str | None, hardware_file: str | None, model_file: str | None, workload_file: str | None
) -> ResolverRecords:
    """The preset's records (or the seed's `unknown()` ones), each replaced by its file when one is given."""
    if preset is not None and preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r}", hint=f"known presets: {', '.join(sorted(PRESETS))}")
    base = PRESETS[preset]() if preset is not None else None
    hardware = (
        load_hardware_file(hardware_file)
        if hardware_file
        else (base.hardware if base else HardwareCapabilities.unknown())
    )
    model = (
        load_record_file(ModelCapabilities, model_file)
        if model_file
        else (base.model if base else ModelCapabilities.unknown())
    )
    if workload_file:
        workload = load_record_file(WorkloadProfile, workload_file)
    else:
        workload = base.workload if base else WorkloadProfile.serving_default_for_hardware(hardware)
    return ResolverRecords(model, hardware, workload)


def parse_set_options(options: Iterable[str]) -> dict[str, str]:
    """`--set KEY=VALUE` options as a dict (a later KEY replaces an earlier one)."""
    values: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {option!r}", hint="e.g. --set FERRUM_KV_MAX_BLOCKS=1024")
        if not key.startswith(FERRUM_PREFIX):
            raise UsageError(
                f"--set {key}: ferrum reads only {FERRUM_PREFIX}* keys",
                hint=f"did you mean {FERRUM_PREFIX}{key}?",
            )
        values[key] = value
    return values


def runtime_snapshot(cli: Mapping[str, str], environ: Mapping[str, str]) -> RuntimeConfigSnapshot:
    """`--set` entries (source `cli`) over `FERRUM_*` environment variables (source `env`)."""
    env = {key: value for key, value in environ.items() if key.startswith(FERRUM_PREFIX)}
    for key, value in env.items():
        _require_utf8(key, value)
    return RuntimeConfigSnapshot.from_sources({RuntimeConfigSource.CLI: cli, RuntimeConfigSource.ENV: env})


def _require_utf8(key: str, value: str) -> None:
    # os.environ smuggles undecodable bytes in as surrogates; ferrum itself stops on such a variable.
    try:
        (key + value).encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"environment variable {key.encode('utf-8', 'replace').decode()} is not valid UTF-8",
            hint="ferrum reads only UTF-8 environment values: fix or unset it",
        ) from None
