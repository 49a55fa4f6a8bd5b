"""Which accelerator a launch asks for: NVIDIA GPUs, or a device `--hardware` (an NVIDIA node type) cannot judge.

Read from the Kubernetes extended resources a container requests (the device plugins' names), and from
what other deploy files say about devices (compose device reservations and `/dev/kfd`, KubeAI resource
profiles, SkyPilot accelerators, production-stack `requestGPUType`). A launch that asks for TPU chips, AMD
GPUs, Gaudi or Neuron devices is not an NVIDIA launch: the engine's NVIDIA resolver must not judge it
(a TPU group of 16 chips is not "16 GPUs, 8 visible"), and the report says what was and was not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["nvidia", "amd", "tpu", "gaudi", "neuron", "intel", "cpu"]

# Device plugin resource names (each vendor's Kubernetes device plugin documentation).
RESOURCES: dict[str, Kind] = {
    "nvidia.com/gpu": "nvidia",
    "amd.com/gpu": "amd",
    "google.com/tpu": "tpu",
    "habana.ai/gaudi": "gaudi",
    "aws.amazon.com/neuron": "neuron",
    "aws.amazon.com/neuroncore": "neuron",
    "aws.amazon.com/neurondevice": "neuron",
    "gpu.intel.com/i915": "intel",
    "gpu.intel.com/xe": "intel",
}
NAMES: dict[Kind, str] = {
    "nvidia": "NVIDIA GPUs",
    "amd": "AMD GPUs",
    "tpu": "Google TPU chips",
    "gaudi": "Intel Gaudi accelerators",
    "neuron": "AWS Neuron devices",
    "intel": "Intel GPUs",
    "cpu": "CPUs only",
}


@dataclass(frozen=True)
class Accelerator:
    """The devices one pod (container, service, node) of a launch asks for."""

    kind: Kind
    count: int | None
    """Devices per pod; None when the file does not say how many (`--gpus all`, `count: all`, a DRA claim)."""
    source: str
    """Where the file says it: `resources.limits google.com/tpu: 4`, `KubeAI resourceProfile ...`."""

    @property
    def is_nvidia(self) -> bool:
        return self.kind == "nvidia"

    def describe(self) -> str:
        """`Google TPU chips (resources.limits google.com/tpu: 4)`: the source says how many."""
        return f"{NAMES[self.kind]} ({self.source})"


def from_resources(resources: Any, notes: list[str]) -> Accelerator | None:
    """The devices a Kubernetes container's `resources` request: `limits` (what a device plugin allocates),
    else `requests`. MIG slices are NVIDIA, counted as a slice each and said."""
    if not isinstance(resources, dict):
        return None
    for section in ("limits", "requests"):
        values = resources.get(section)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            name = str(key)
            kind = RESOURCES.get(name)
            if kind is None and name.startswith("nvidia.com/mig-"):
                notes.append(f"resources.{section}.{name}: {value} (a MIG slice, not a whole GPU)")
                return Accelerator("nvidia", None, f"resources.{section} {name}: {value}")
            if kind is None:
                continue
            try:
                count: int | None = int(str(value))
            except ValueError:
                notes.append(f"resources.{section}.{name}: {value!r} is not a whole number of devices")
                count = None
            return Accelerator(kind, count, f"resources.{section} {name}: {value}")
    return None


def from_resource_name(name: str, count: int | None, source: str) -> Accelerator | None:
    """A device plugin resource name given elsewhere (production-stack `requestGPUType`, a KServe annotation)."""
    kind = RESOURCES.get(name)
    if kind is None and name.startswith("nvidia.com/mig-"):
        return Accelerator("nvidia", None, source)
    return None if kind is None else Accelerator(kind, count, source)


def from_profile_name(name: str, count: int | None, source: str) -> Accelerator | None:
    """A device named by a vendor word: KubeAI resource profiles (`nvidia-gpu-h100`, `google-tpu-v5e-2x2`,
    `amd-gpu-mi300x`, `cpu`), SkyPilot accelerators (`H100`, `tpu-v5e-8`)."""
    lowered = name.lower()
    kind: Kind | None = None
    if lowered == "cpu" or lowered.startswith("cpu-"):
        return Accelerator("cpu", None, source)
    if "tpu" in lowered:
        kind = "tpu"
    elif lowered.startswith(("amd", "mi")) and ("gpu" in lowered or lowered[2:3].isdigit()):
        kind = "amd"
    elif "gaudi" in lowered or "habana" in lowered or lowered.startswith("hpu"):
        kind = "gaudi"
    elif "neuron" in lowered or "trainium" in lowered or "inferentia" in lowered or lowered.startswith(("trn", "inf")):
        kind = "neuron"
    elif lowered.startswith("nvidia") or (lowered[:1] in "abhlmtvrg" and any(c.isdigit() for c in lowered)):
        kind = "nvidia"
    return None if kind is None else Accelerator(kind, count, source)
