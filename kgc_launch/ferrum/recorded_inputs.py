"""The resolver's inputs as a document recorded them: entries exactly as written, and the three records.

A document from a newer ferrum can carry what this port does not know: more compiled features, more
model fields, new source or effect values. Such things are left out and listed in `ignored`; a field
that serde requires but is missing, or a value of the wrong type, is an `InputError` naming the field.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from kgc_launch.errors import InputError
from kgc_launch.ferrum.document import EffectiveConfigDocument
from kgc_launch.json_input import field_path, input_error_from_validation
from kgc_launch.records import (
    HardwareCapabilities,
    ModelCapabilities,
    Record,
    WorkloadPriority,
    WorkloadProfile,
    from_plain,
)
from kgc_launch.runtime import (
    RuntimeConfigEffect,
    RuntimeConfigEntry,
    RuntimeConfigSnapshot,
    RuntimeConfigSource,
)

_R = TypeVar("_R", bound=Record)
_SOURCES = {source.value: source for source in RuntimeConfigSource}
_EFFECTS = {effect.value: effect for effect in RuntimeConfigEffect}


@dataclass
class RecordedInputs:
    runtime: RuntimeConfigSnapshot
    model: ModelCapabilities
    hardware: HardwareCapabilities
    workload: WorkloadProfile
    ignored: list[str] = field(default_factory=list)


def recorded_inputs(document: EffectiveConfigDocument) -> RecordedInputs:
    """Rebuild what the resolver was given when the document was written."""
    ignored: list[str] = []
    entries = [_entry(raw, i, ignored) for i, raw in enumerate(document.entries)]
    records = document.records
    workload_raw = _known_priority(records["workload_profile"], ignored)
    return RecordedInputs(
        runtime=RuntimeConfigSnapshot(entries=[entry for entry in entries if entry is not None]),
        model=_record(ModelCapabilities, records["model_capabilities"], "model_capabilities", document, ignored),
        hardware=_record(
            HardwareCapabilities, records["hardware_capabilities"], "hardware_capabilities", document, ignored
        ),
        workload=_record(WorkloadProfile, workload_raw, "workload_profile", document, ignored),
        ignored=ignored,
    )


def _entry(raw: dict[str, Any], index: int, ignored: list[str]) -> RuntimeConfigEntry | None:
    where = f"entries[{index}] ({raw['key']})"
    source = _SOURCES.get(raw["source"])
    if source is None:
        ignored.append(f"{where}: source {raw['source']!r} is unknown to this port; entry left out of the replay")
        return None
    unknown = [name for name in raw["affects"] if name not in _EFFECTS]
    if unknown:
        ignored.append(f"{where}.affects: unknown effect(s) {', '.join(map(repr, unknown))} (not used to resolve)")
    # Kept exactly as recorded (order, duplicates): the resolver reads `affects` of no entry.
    affects = [_EFFECTS[name] for name in raw["affects"] if name in _EFFECTS]
    return RuntimeConfigEntry(key=raw["key"], effective_value=raw["effective_value"], source=source, affects=affects)


def _known_priority(raw: dict[str, Any], ignored: list[str]) -> dict[str, Any]:
    # The resolver never reads the priority; an unknown one must not stop a replay.
    priority = raw.get("priority")
    if isinstance(priority, str) and priority not in {p.value for p in WorkloadPriority}:
        ignored.append(f"workload_profile.priority: unknown value {priority!r} (not used to resolve)")
        return {**raw, "priority": WorkloadPriority.BALANCED.value}
    return raw


def _record(
    cls: type[_R], raw: dict[str, Any], section: str, document: EffectiveConfigDocument, ignored: list[str]
) -> _R:
    from pydantic import ValidationError

    known = _known_fields(cls, raw, (section,), document.path, ignored)
    try:
        return from_plain(cls, known)
    except ValidationError as error:
        raise input_error_from_validation(error, path=document.path, prefix=(section,)) from None


def _known_fields(cls: type[Record], raw: Any, where: tuple[str, ...], path: str, ignored: list[str]) -> Any:
    """`raw` without the fields `cls` does not declare (listed as ignored), recursing into nested records."""
    if not isinstance(raw, dict):
        return raw  # validation will name the field and the type it wanted
    annotations = get_type_hints(cls)
    names = [declared.name for declared in fields(cls)]
    for name in raw:
        if name not in names:
            ignored.append(f"{field_path(*where, name)}: field unknown to this port (not used to resolve)")
    known: dict[str, Any] = {}
    for name in names:
        if name not in raw:
            if not _is_optional(annotations[name]):
                raise InputError("missing (ferrum always writes this field)", path=path, field=field_path(*where, name))
            continue
        nested = _nested_record(annotations[name])
        value = raw[name]
        known[name] = value if nested is None else _known_fields(nested, value, (*where, name), path, ignored)
    return known


def _is_optional(annotation: Any) -> bool:
    # serde fills a missing `Option<T>` with None; every other field is required.
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _nested_record(annotation: Any) -> type[Record] | None:
    for candidate in get_args(annotation) or (annotation,):
        if isinstance(candidate, type) and issubclass(candidate, Record):
            return candidate
    return None
