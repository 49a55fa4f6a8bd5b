"""Which devices an engine started here will use, in its order: CUDA's rules applied to NVML's inventory.

Pure: the environment is an argument. The rules, as CUDA and PyTorch apply them:

- Order (`CUDA_DEVICE_ORDER`): `PCI_BUS_ID` numbers GPUs by bus id; the default, `FASTEST_FIRST`, puts
  the fastest first by a heuristic CUDA does not document (approximated here by compute capability,
  then SM count, then bus id; identical GPUs come out in bus order either way). NVML's index order is
  neither, so mixed models without `PCI_BUS_ID` get a warning: device 0 may not be the one you think.
- `CUDA_VISIBLE_DEVICES` unset: every GPU. Empty: none. Otherwise a comma-separated list of indices
  (into the order above), `GPU-<uuid>` / `MIG-<uuid>` or unambiguous prefixes of them, or the pre-R470
  form `MIG-GPU-<uuid>/<gpu instance>/<compute instance>`. The first invalid entry (unknown, ambiguous,
  out of range, or of the other kind than the first entry: nvitop's reading of CUDA) ends the list;
  a device listed twice leaves none.
- MIG: a process enumerates a single MIG device ("Only single MIG instance enumeration is supported",
  CUDA programming guide; the MIG user guide: "regardless of how many MIG devices are created (or made
  available to a container), a single CUDA process can only enumerate a single MIG device", and
  listing several MIG UUIDs still gives a device count of 1, pytorch#92315). Once a MIG device is
  enumerated no full GPU is, and a MIG-enabled GPU stands for its first slice (NVML MIG index order).
- `NVIDIA_VISIBLE_DEVICES` (`all`, `none`, `void`, a list) is applied by the NVIDIA container runtime
  when a container starts: inside such a container NVML already sees only those GPUs, and CUDA never
  reads the variable. It is therefore checked, not applied again: where NVML sees GPUs it excludes
  (a privileged container, or a process outside any container), a warning says the engine sees them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kgc_launch.hardware.capability import parse_capability
from kgc_launch.hardware.inventory import Device

_INDEX = re.compile(r"[+-]?[0-9]+")  # CUDA reads a leading integer: `1abc` is 1, as nvitop found
_LEGACY_MIG = re.compile(r"^MIG-(?P<gpu>GPU-[0-9A-Fa-f-]+)/(?P<gi>[0-9]+)/(?P<ci>[0-9]+)$")


@dataclass
class Visibility:
    devices: list[Device]
    """What the engine sees, in its order (`cuda:0` first)."""
    warnings: list[str] = field(default_factory=list)


def visible_devices(devices: Sequence[Device], environ: Mapping[str, str]) -> Visibility:
    """Apply CUDA_DEVICE_ORDER, CUDA_VISIBLE_DEVICES and the MIG rule to an NVML inventory."""
    usable = [device for device in devices if not device.lost and device.unreadable is None]
    gpus = [device for device in usable if device.mig is None]
    slices = [device for device in usable if device.mig is not None]
    result = Visibility([])
    ordered = _cuda_order(gpus, environ, result.warnings)
    selected = _select(ordered, slices, environ.get("CUDA_VISIBLE_DEVICES"), result.warnings)
    result.devices = _apply_mig(selected, slices, result.warnings)
    result.warnings += _container_warnings(gpus, slices, environ.get("NVIDIA_VISIBLE_DEVICES"))
    return result


# -- order --------------------------------------------------------------------------------------------


def _cuda_order(gpus: list[Device], environ: Mapping[str, str], warnings: list[str]) -> list[Device]:
    order = environ.get("CUDA_DEVICE_ORDER", "FASTEST_FIRST").strip() or "FASTEST_FIRST"
    if order not in ("FASTEST_FIRST", "PCI_BUS_ID"):
        warnings.append(f"CUDA_DEVICE_ORDER={order!r} is neither FASTEST_FIRST nor PCI_BUS_ID; assumed FASTEST_FIRST")
        order = "FASTEST_FIRST"
    if order == "PCI_BUS_ID":
        return sorted(gpus, key=_bus_key)
    names = sorted({gpu.name for gpu in gpus})
    if len(names) > 1:
        warnings.append(
            f"GPUs of different models ({', '.join(names)}) and CUDA_DEVICE_ORDER is not PCI_BUS_ID: CUDA "
            "numbers them fastest first, not in nvidia-smi's order, so the engine's device 0 may not be "
            "the GPU you think (the order shown is an approximation); set CUDA_DEVICE_ORDER=PCI_BUS_ID"
        )
    return sorted(gpus, key=lambda gpu: (*_negated_capability(gpu), -(gpu.sm_count or 0), *_bus_key(gpu)))


def _negated_capability(device: Device) -> tuple[int, int]:
    capability = parse_capability(device.compute_capability)
    return (0, 0) if capability is None else (-capability.major, -capability.minor)


def _bus_key(device: Device) -> tuple[str, int]:
    return (normalize_bus_id(device.pci_bus_id) or "~", device.index if device.index is not None else 1 << 30)


def normalize_bus_id(bus_id: str | None) -> str | None:
    """NVML's `00000000:18:00.0` and CUDA's `0000:18:00.0` -> `0000:18:00.0`."""
    if not bus_id:
        return None
    domain, _, rest = bus_id.strip().lower().partition(":")
    try:
        return f"{int(domain, 16):04x}:{rest}" if rest else domain
    except ValueError:
        return bus_id.strip().lower()


# -- CUDA_VISIBLE_DEVICES -----------------------------------------------------------------------------


def _select(ordered: list[Device], slices: list[Device], value: str | None, warnings: list[str]) -> list[Device]:
    if value is None:
        return ordered
    if not value.strip():
        warnings.append("CUDA_VISIBLE_DEVICES is empty: the engine sees no GPU")
        return []
    selected: list[Device] = []
    kind: str | None = None
    for position, raw in enumerate(value.split(",")):
        token = raw.strip()
        token_kind = "index" if _INDEX.match(token) else "uuid"
        device, problem = _resolve(token, ordered, slices)
        if device is not None and kind is not None and token_kind != kind:
            device, problem = None, "mixes indices and UUIDs"
        if device is None:
            warnings.append(
                f"CUDA_VISIBLE_DEVICES={value!r}: entry {position + 1} ({token!r}) {problem}; "
                "CUDA ignores it and every entry after it"
            )
            break
        if any(device is earlier for earlier in selected):
            warnings.append(f"CUDA_VISIBLE_DEVICES={value!r} names {token!r} twice: CUDA then sees no device at all")
            return []
        kind = kind or token_kind
        selected.append(device)
    return selected


def _resolve(token: str, ordered: list[Device], slices: list[Device]) -> tuple[Device | None, str]:
    index = _INDEX.match(token)
    if index:
        number = int(index.group())
        if 0 <= number < len(ordered):
            return ordered[number], ""
        return None, f"is out of range ({len(ordered)} GPU(s) in CUDA's order)"
    legacy = _LEGACY_MIG.match(token)
    if legacy:
        parent, problem = _by_prefix(legacy.group("gpu"), ordered)
        if parent is None:
            return None, problem
        for device in slices:
            mig = device.mig
            if (
                mig is not None
                and device.index == parent.index
                and (mig.gpu_instance_id, mig.compute_instance_id) == (int(legacy.group("gi")), int(legacy.group("ci")))
            ):
                return device, ""
        return None, "names no MIG instance of that GPU"
    if token.startswith("GPU-"):
        return _by_prefix(token, ordered)
    if token.startswith("MIG-"):
        return _by_prefix(token, slices)
    return None, "is neither an index nor a GPU-/MIG- UUID"


def _by_prefix(prefix: str, devices: list[Device]) -> tuple[Device | None, str]:
    wanted = prefix.lower()
    matches = [device for device in devices if device.uuid and device.uuid.lower().startswith(wanted)]
    if len(matches) == 1:
        return matches[0], ""
    return None, "matches no device" if not matches else f"is ambiguous ({len(matches)} devices match)"


# -- MIG ----------------------------------------------------------------------------------------------


def _apply_mig(selected: list[Device], slices: list[Device], warnings: list[str]) -> list[Device]:
    listed_slices = [device for device in selected if device.mig is not None]
    if listed_slices:
        if len(selected) > 1:
            warnings.append(_single_mig_warning(listed_slices[0], len(selected)))
        return listed_slices[:1]
    result: list[Device] = []
    for gpu in selected:
        if not gpu.mig_enabled:
            result.append(gpu)
            continue
        own = [device for device in slices if device.index == gpu.index]
        if not own:
            warnings.append(f"GPU {gpu.index} has MIG on but no usable slice: CUDA sees no device on it")
            continue
        if len(selected) > 1 or len(own) > 1:
            warnings.append(_single_mig_warning(own[0], len(selected) + len(own) - 1))
        return own[:1]
    return result


def _single_mig_warning(chosen: Device, candidates: int) -> str:
    return (
        f"MIG: a CUDA process enumerates a single MIG device, and no full GPU once it does; of {candidates} "
        f"candidate device(s) the engine sees only {chosen.uuid or chosen.name}. To use another slice, "
        "set CUDA_VISIBLE_DEVICES=MIG-<uuid>; one engine process cannot span several slices"
    )


# -- NVIDIA_VISIBLE_DEVICES ---------------------------------------------------------------------------


def _container_warnings(gpus: list[Device], slices: list[Device], value: str | None) -> list[str]:
    if value is None or value.strip() in ("", "all"):
        return []
    text = value.strip()
    seen = f"NVML sees {len(gpus)} GPU(s)"
    if text in ("none", "void"):
        if not gpus:
            return []
        return [
            f"NVIDIA_VISIBLE_DEVICES={text} asks the container runtime for no GPU, yet {seen}: the variable "
            "takes effect only when a container starts, so the engine here will see them"
        ]
    tokens = [token.strip() for token in text.split(",") if token.strip()]
    uuids = [token.lower() for token in tokens if token.startswith(("GPU-", "MIG-"))]
    if uuids:
        listed = [
            device
            for device in [*gpus, *slices]
            if device.uuid and any(device.uuid.lower().startswith(uuid) for uuid in uuids)
        ]
        parents = {device.index for device in listed}
        extra = [gpu for gpu in gpus if gpu.index not in parents]
        if not extra:
            return []
        names = ", ".join(gpu.uuid or f"GPU {gpu.index}" for gpu in extra)
        return [
            f"NVIDIA_VISIBLE_DEVICES={text} does not list {names}, yet NVML sees it: the container runtime "
            "did not apply the variable (a privileged container, or no container), so the engine can use it"
        ]
    if len(gpus) > len(tokens):
        return [
            f"NVIDIA_VISIBLE_DEVICES={text} lists {len(tokens)} GPU(s), yet {seen}: the container runtime "
            "did not apply the variable (privileged container, or no container), so the engine uses them all"
        ]
    return []
