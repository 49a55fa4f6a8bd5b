"""The one door to NVML: the only module that imports `pynvml`, and only when a probe runs.

Everything goes through `NvmlSession.call`, a funnel in the spirit of nvitop's `nvmlQuery`: an NVML
error, a function the driver lacks (`FunctionNotFound`) or one the installed binding lacks all come out
as one `NvmlCallFailed` carrying NVML's name for the failure, so that a field NVML cannot read becomes
"unknown, because NotSupported" instead of a crash or a zero. Failures that make the whole probe
impossible are turned into the project's own errors here, at the boundary, each with a message and a
hint (`HardwareProbeError`, `NoNvidiaDriver`).

Works with any object that has pynvml's surface (`NvmlLibrary`): the real module, or `FakeNvml`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, Protocol

from kgc_launch.errors import HardwareProbeError, NoNvidiaDriver
from kgc_launch.hardware import nvml_codes as codes


class NvmlLibrary(Protocol):
    """The part of pynvml's surface the probe uses (the real module and `FakeNvml` both have it)."""

    @property
    def NVMLError(self) -> type[Exception]: ...

    def nvmlInitWithFlags(self, flags: int) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlSystemGetDriverVersion(self) -> str: ...
    def nvmlSystemGetCudaDriverVersion(self) -> int: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any: ...
    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> Any: ...
    def nvmlDeviceGetUUID(self, handle: Any) -> str: ...
    def nvmlDeviceGetName(self, handle: Any) -> str: ...
    def nvmlDeviceGetPciInfo(self, handle: Any) -> Any: ...
    def nvmlDeviceGetCudaComputeCapability(self, handle: Any) -> tuple[int, int]: ...
    def nvmlDeviceGetMemoryInfo(self, handle: Any, version: int | None = None) -> Any: ...
    def nvmlDeviceGetMigMode(self, handle: Any) -> list[int]: ...
    def nvmlDeviceGetMaxMigDeviceCount(self, handle: Any) -> int: ...
    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: Any, index: int) -> Any: ...
    def nvmlDeviceGetGpuInstanceId(self, handle: Any) -> int: ...
    def nvmlDeviceGetComputeInstanceId(self, handle: Any) -> int: ...
    def nvmlDeviceGetAttributes(self, handle: Any) -> Any: ...


def load_pynvml() -> NvmlLibrary:
    """Import NVIDIA's binding (package nvidia-ml-py), refusing an unofficial `pynvml` that shadows it."""
    try:
        import pynvml  # the only import of pynvml in kgc-launch: ~30-50 ms, paid only by a probe
    except ImportError as error:
        raise HardwareProbeError(
            f"the NVML Python binding cannot be imported: {error}",
            reason="BindingMissing",
            hint="reinstall kgc-launch, or 'pip install nvidia-ml-py'",
        ) from None
    library: NvmlLibrary = pynvml
    check_binding(library, where=f" at {getattr(pynvml, '__file__', '?')}")
    return library


def check_binding(library: NvmlLibrary, where: str = "") -> None:
    """Refuse a `pynvml` without `nvmlInitWithFlags`/`nvmlShutdown` (an old unofficial package)."""
    for function in ("nvmlInitWithFlags", "nvmlShutdown"):
        if not callable(getattr(library, function, None)):
            raise HardwareProbeError(
                f"the module 'pynvml'{where} is not NVIDIA's binding (it has no {function}): "
                "an old unofficial 'pynvml' package shadows nvidia-ml-py",
                reason="BindingShadowed",
                hint="pip uninstall pynvml && pip install --force-reinstall nvidia-ml-py",
            )


class NvmlCallFailed(Exception):
    """One NVML call failed; `reason` is NVML's name for why (`NotSupported`, `GpuIsLost`, ...)."""

    def __init__(self, function: str, reason: str, code: int | None) -> None:
        super().__init__(f"{function}: {reason}")
        self.function = function
        self.reason = reason
        self.code = code

    @property
    def lost(self) -> bool:
        return self.code == codes.GPU_IS_LOST


class NvmlSession:
    """An initialised NVML. `call` is the funnel every query goes through."""

    def __init__(self, library: NvmlLibrary) -> None:
        self.library = library

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self.library, function, None)
        if not callable(method):  # an older binding without this function: the same as a driver without it
            raise NvmlCallFailed(function, "FunctionNotFound", codes.FUNCTION_NOT_FOUND)
        try:
            result = method(*args, **kwargs)
        except self.library.NVMLError as error:
            raise NvmlCallFailed(function, codes.error_name(error), codes.error_code(error)) from None
        except UnicodeDecodeError:  # a garbled string from the driver (nvitop maps it to Unknown too)
            raise NvmlCallFailed(function, "Unknown", codes.UNKNOWN) from None
        return result.decode("utf-8", "replace") if isinstance(result, bytes) else result


@contextmanager
def nvml_session(library: NvmlLibrary) -> Iterator[tuple[NvmlSession, float]]:
    """`nvmlInitWithFlags(0)` ... `nvmlShutdown()` in try/finally; yields the session and init time (ms).

    nvidia-smi does the same init on every run; init does not create a CUDA context.
    """
    check_binding(library)
    started = time.perf_counter()
    try:
        library.nvmlInitWithFlags(0)
    except library.NVMLError as error:
        raise init_error(error) from None
    init_ms = (time.perf_counter() - started) * 1000.0
    try:
        yield NvmlSession(library), init_ms
    finally:
        # A failed shutdown after a good read loses nothing; one after a failed read must not hide it.
        with suppress(library.NVMLError):
            library.nvmlShutdown()


def init_error(error: BaseException) -> HardwareProbeError:
    """The project's error for an `nvmlInit` failure, with a message and a hint of its own."""
    reason = codes.error_name(error)
    if reason == "LibraryNotFound":
        return NoNvidiaDriver(
            "no NVIDIA driver: the NVML library (libnvidia-ml.so.1) was not found",
            reason=reason,
            hint="install the NVIDIA driver, or run the container with the NVIDIA container toolkit "
            "(--gpus); without a GPU, name the hardware with --hardware NAME",
        )
    if reason == "DriverNotLoaded":
        return NoNvidiaDriver(
            "the NVIDIA kernel driver is not loaded (the NVML library is there, the driver is not running)",
            reason=reason,
            hint="load it ('sudo modprobe nvidia') and look at 'dmesg | grep -i nvidia'; nvidia-smi fails the same way",
        )
    if reason == "LibRmVersionMismatch":
        return HardwareProbeError(
            "NVIDIA driver/library version mismatch: the NVML library and the loaded kernel driver "
            "differ, usually after a driver upgrade without a reboot",
            reason=reason,
            hint="reboot (or reload the nvidia kernel modules); nvidia-smi reports the same mismatch",
        )
    if reason == "NoPermission":
        return HardwareProbeError(
            "no permission to talk to the NVIDIA driver (NVML: Insufficient Permissions)",
            reason=reason,
            hint="check access to /dev/nvidiactl and /dev/nvidia* (group, container device cgroup)",
        )
    return HardwareProbeError(
        f"NVML could not start: {reason} ({error})",
        reason=reason,
        hint="run 'nvidia-smi' to see the driver's own error",
    )
