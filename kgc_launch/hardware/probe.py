"""`probe_gpus(environ)`: the node's GPUs from NVML, and what an engine started here will use.

The order of work: NVML (init, every field on its own, shutdown), then SM counts (CUDA's driver API or
the table), then CUDA's view (order, CUDA_VISIBLE_DEVICES, MIG). A machine without the NVML library or
without a loaded driver is a fact, not an error: the inventory says source `none` and why. Nothing here
imports torch or creates a CUDA context.

`KGC_FAKE_NVML=/path/description.json` swaps NVML for `FakeNvml` (demos, benchmarks, end-to-end tests
without a GPU); the inventory then says it is simulated, in `source_detail` and in the first warning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kgc_launch.errors import NoNvidiaDriver
from kgc_launch.hardware.cuda_driver import CudaReading, read_cuda_devices
from kgc_launch.hardware.inventory import Inventory
from kgc_launch.hardware.nvml import NvmlLibrary, load_pynvml
from kgc_launch.hardware.nvml_node import read_nvml
from kgc_launch.hardware.sm_count import fill_sm_counts, needs_sm_count
from kgc_launch.hardware.visible import visible_devices

FAKE_NVML_ENV = "KGC_FAKE_NVML"  # the fake's module is imported only when this is set: it costs ~40 ms


def probe_gpus(environ: Mapping[str, str], *, use_cuda_driver: bool = True) -> Inventory:
    """The inventory of this machine (source `nvml`, or `none` without an NVIDIA driver).

    `use_cuda_driver=False` skips libcuda (cuInit) and takes full-GPU SM counts from the table.
    Raises `HardwareProbeError` when the GPUs exist but cannot be read (e.g. a driver/library mismatch).
    """
    fake_path = environ.get(FAKE_NVML_ENV, "")
    if not fake_path:
        return probe_library(load_pynvml(), environ, cuda=read_cuda_devices if use_cuda_driver else None)
    from kgc_launch.hardware.fake_nvml import FakeNvml, load_description

    fake = FakeNvml(load_description(fake_path))
    return probe_library(
        fake,
        environ,
        cuda=fake.cuda_devices if use_cuda_driver else None,
        simulated=f"SIMULATED: fake NVML from {FAKE_NVML_ENV}={fake_path}; no real GPU was read",
    )


def probe_library(
    library: NvmlLibrary,
    environ: Mapping[str, str],
    *,
    cuda: Callable[[], CudaReading] | None,
    simulated: str = "",
) -> Inventory:
    """`probe_gpus` over a given pynvml-shaped library; `cuda` answers full-GPU SM counts (None: table)."""
    try:
        reading = read_nvml(library)
    except NoNvidiaDriver as error:
        return Inventory(
            source="none",
            source_detail=f"{simulated}: {error.message}" if simulated else error.message,
            devices=[],
            visible=[],
            warnings=[simulated] if simulated else [],
            unknown_fields={},
            hardware_capabilities=None,
        )
    cuda_reading = cuda() if cuda is not None and any(map(needs_sm_count, reading.devices)) else None
    fill_sm_counts(reading.devices, cuda_reading)
    visibility = visible_devices(reading.devices, environ)
    return Inventory(
        source="nvml",
        source_detail=simulated or "NVML",
        driver_version=reading.driver_version,
        cuda_driver_version=reading.cuda_driver_version,
        nvml_init_ms=round(reading.init_ms, 3),
        unknown_fields=reading.unknown_fields,
        devices=reading.devices,
        visible=visibility.devices,
        warnings=([simulated] if simulated else []) + reading.warnings + visibility.warnings,
        hardware_capabilities=None,
    )
