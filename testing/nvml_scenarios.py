"""Named machines for the fake NVML (`kgc_launch.hardware.fake_nvml`): plain descriptions, one per case.

Figures are NVIDIA's published ones or what nvidia-smi shows (memory in MiB); UUIDs are made up.
`python -m testing.nvml_scenarios` rewrites the shipped benchmark file `testing/nvml/8xh100.json`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from kgc_launch.hardware.fake_nvml import FakeNvml, read_description

BENCHMARK_FILE = Path(__file__).resolve().parent / "nvml" / "8xh100.json"

H100_SXM = {
    "name": "NVIDIA H100 80GB HBM3",
    "compute_capability": "9.0",
    "memory_total_mib": 81559,
    "sm_count": 132,
}
H100_PCIE = {
    "name": "NVIDIA H100 PCIe",
    "compute_capability": "9.0",
    "memory_total_mib": 81559,
    "sm_count": 114,
}
A100_80 = {
    "name": "NVIDIA A100-SXM4-80GB",
    "compute_capability": "8.0",
    "memory_total_mib": 81920,
    "sm_count": 108,
}
A100_40 = {
    "name": "NVIDIA A100-SXM4-40GB",
    "compute_capability": "8.0",
    "memory_total_mib": 40960,
    "sm_count": 108,
}
RTX4090 = {
    "name": "NVIDIA GeForce RTX 4090",
    "compute_capability": "8.9",
    "memory_total_mib": 24564,
    "sm_count": 128,
}
L4 = {"name": "NVIDIA L4", "compute_capability": "8.9", "memory_total_mib": 23034, "sm_count": 58}
GB10 = {"name": "NVIDIA GB10", "compute_capability": "12.1", "memory_total_mib": 122502, "sm_count": 48}
H100_BUSES = ("18", "2a", "3a", "5d", "9a", "ab", "ba", "db")


def uuid(number: int, prefix: str = "GPU") -> str:
    return f"{prefix}-5e8c6f0a-1b2c-4d3e-8f90-{number:012x}"


def gpu(model: dict[str, Any], number: int, bus: str, **extra: Any) -> dict[str, Any]:
    return {**model, "uuid": uuid(number), "pci_bus_id": f"00000000:{bus}:00.0", **extra}


def mig_slice(index: int, number: int, profile: str, gi: int, memory_mib: int, sms: int) -> dict[str, Any]:
    return {
        "index": index,
        "uuid": uuid(number, "MIG"),
        "profile": profile,
        "gpu_instance_id": gi,
        "compute_instance_id": 0,
        "memory_total_mib": memory_mib,
        "sm_count": sms,
    }


def _node(about: str, devices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "about": about,
        "driver_version": "550.54.15",
        "cuda_driver_version": 12040,
        "devices": devices,
        **extra,
    }


_A100_MIG_SLICES = [
    mig_slice(0, 0xA0, "3g.40gb", 2, 40192, 42),
    mig_slice(1, 0xA1, "1g.10gb", 9, 9728, 14),
    mig_slice(3, 0xA3, "1g.10gb", 10, 9728, 14),  # index 2 is unused: NVML answers NotFound there
]

_H100_MIG_SLICES = [
    mig_slice(0, 0xB0, "3g.40gb", 2, 40192, 60),
    mig_slice(1, 0xB1, "2g.20gb", 5, 19968, 32),
    mig_slice(2, 0xB2, "1g.10gb", 9, 9856, 16),
]

SCENARIOS: dict[str, dict[str, Any]] = {
    "no_library": _node("no NVIDIA driver installed", [], errors={"nvmlInitWithFlags": "LibraryNotFound"}),
    "driver_not_loaded": _node(
        "library present, kernel module not loaded", [], errors={"nvmlInitWithFlags": "DriverNotLoaded"}
    ),
    "driver_library_mismatch": _node(
        "driver upgraded without a reboot",
        [gpu(H100_SXM, 1, "18")],
        errors={"nvmlInitWithFlags": "LibRmVersionMismatch"},
    ),
    "no_permission": _node(
        "no access to /dev/nvidiactl", [gpu(L4, 1, "17")], errors={"nvmlInitWithFlags": "NoPermission"}
    ),
    "single_gpu": _node("one RTX 4090", [gpu(RTX4090, 1, "01")]),
    "eight_h100": _node("8x H100 SXM (for benchmarks)", [gpu(H100_SXM, n, bus) for n, bus in enumerate(H100_BUSES)]),
    "mixed_models": _node(
        "an L4 on the lower bus, an H100 PCIe on the higher: NVML and PCI order put the L4 first, "
        "CUDA's default order the H100",
        [gpu(L4, 1, "17"), gpu(H100_PCIE, 2, "65")],
    ),
    "mig": _node(
        "A100 80GB with MIG on (3 slices) next to one with MIG off",
        [
            gpu(A100_80, 1, "07", mig_mode=[1, 1], mig_slices=_A100_MIG_SLICES),
            gpu(A100_80, 2, "0b", mig_mode=[0, 0]),
        ],
    ),
    "mig_slice_container": _node(
        "a container given one slice: the parent refuses its own queries (NoPermission), the slice answers",
        [
            gpu(
                A100_80,
                1,
                "07",
                mig_mode=[1, 1],
                mig_slices=[_A100_MIG_SLICES[1]],
                errors={"nvmlDeviceGetMemoryInfo": "NoPermission"},
            )
        ],
    ),
    "unified_memory": _node(
        "GB10 (DGX Spark): unified memory, NVML answers NotSupported for memory",
        [gpu(GB10, 1, "01", errors={"nvmlDeviceGetMemoryInfo": "NotSupported"}, mig_mode=None)],
        driver_version="580.95.05",
        cuda_driver_version=13000,
    ),
    "old_driver": _node(
        "R470 driver: no nvmlDeviceGetMemoryInfo_v2",
        [gpu(A100_40, 1, "07", memory_used_mib=5, memory_reserved_mib=0)],
        driver_version="470.57.02",
        cuda_driver_version=11040,
        missing_functions=["nvmlDeviceGetMemoryInfo_v2"],
    ),
    "eight_h100_mig": _node(
        "8x H100 SXM, the first with MIG on (3g.40gb, 2g.20gb, 1g.10gb): every code path of the probe at once",
        [
            gpu(H100_SXM, n, bus, **({"mig_mode": [1, 1], "mig_slices": _H100_MIG_SLICES} if n == 0 else {}))
            for n, bus in enumerate(H100_BUSES)
        ],
    ),
    "lost_gpu": _node(
        "4x A100 40GB, the third has fallen off the bus",
        [gpu(A100_40, n, bus, lost=(n == 2)) for n, bus in enumerate(("07", "0b", "48", "4c"))],
    ),
}


def scenario(name: str) -> dict[str, Any]:
    """A fresh copy of a named description (tests may change it)."""
    return copy.deepcopy(SCENARIOS[name])


def fake_nvml(description: str | dict[str, Any]) -> FakeNvml:
    """A fake NVML for a scenario name or a description."""
    document = scenario(description) if isinstance(description, str) else description
    return FakeNvml(read_description(document))


def write_scenario(name: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(SCENARIOS[name], indent=2) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_scenario("eight_h100", BENCHMARK_FILE))
