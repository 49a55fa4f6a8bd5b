"""ferrum's `HardwareCapabilities` for an inventory: what ferrum would report about the GPUs it will use.

Mirrors ferrum's own `hardware_capabilities_for_device` (crates/ferrum-cli/src/commands/serve.rs at
the seed's revision a35ef235, unchanged at HEAD). Its dtype lists are engine knowledge, not hardware
facts, and ferrum does not vary them by compute capability: every CUDA device gets the same lists
(an RTX 4090 reports dtypes [fp16, fp32] and KV dtypes [fp16, bf16, int8, fp8]), and the CPU backend
its own. So the table below is keyed by backend; it would grow a compute-capability key only when
ferrum's does. The record keeps exactly the seed's shape; the inventory stays next to it.
"""

from __future__ import annotations

from dataclasses import replace

from kgc_launch.hardware.capability import parse_capability
from kgc_launch.hardware.inventory import Device, Inventory
from kgc_launch.records import CompiledKernelFeatures, HardwareCapabilities

# backend -> (supported_dtypes, supported_kv_dtypes), as ferrum's serve.rs fills them.
FERRUM_DTYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cuda": (("fp16", "fp32"), ("fp16", "bf16", "int8", "fp8")),
    "cpu": (("fp32",), ("fp16",)),
}


def ferrum_hardware_capabilities(inventory: Inventory, features: CompiledKernelFeatures) -> HardwareCapabilities:
    """The record ferrum's resolver takes, from the VISIBLE devices.

    A plain `HardwareCapabilities` file given with `--hardware` is returned as is. Otherwise: backend
    `cuda` when the engine sees an NVIDIA device, else `cpu`. Sizing follows the smallest visible
    device (tensor-parallel shards are equal, so the smallest decides): the lowest compute capability,
    memory and SM count, each None when any visible device's value is unknown (a guess would size the
    KV cache for memory that may not exist). `cuda_runtime` is the CUDA version the driver supports
    (NVML's `nvmlSystemGetCudaDriverVersion`, nvidia-smi's "CUDA Version"): the engine's own runtime
    cannot be seen from here, and ferrum falls back to that same figure when nvcc is absent.
    `graph_support` is ferrum's `cfg!(feature = "cuda")`, i.e. the binary's declared `cuda` feature.
    """
    if inventory.hardware_capabilities is not None:
        return inventory.hardware_capabilities
    visible = inventory.visible
    backend = "cuda" if visible else "cpu"
    dtypes, kv_dtypes = FERRUM_DTYPES[backend]
    if backend == "cpu":
        return replace(
            HardwareCapabilities.unknown(),
            backend="cpu",
            supported_dtypes=list(dtypes),
            supported_kv_dtypes=list(kv_dtypes),
            compiled_features=features,
        )
    capabilities = [_capability(device) for device in visible]
    return HardwareCapabilities(
        backend="cuda",
        cuda_runtime=inventory.cuda_driver_version,
        compute_capability=None if None in capabilities else _text(min(c for c in capabilities if c)),
        vram_bytes=_smallest([device.memory_total_bytes for device in visible]),
        sm_count=_smallest([device.sm_count for device in visible]),
        supported_dtypes=list(dtypes),
        supported_kv_dtypes=list(kv_dtypes),
        graph_support=features.cuda,
        compiled_features=features,
    )


def _capability(device: Device) -> tuple[int, int] | None:
    return parse_capability(device.compute_capability)


def _text(capability: tuple[int, int]) -> str:
    return f"{capability[0]}.{capability[1]}"


def _smallest(values: list[int | None]) -> int | None:
    known = [value for value in values if value is not None]
    return min(known) if known and len(known) == len(values) else None
