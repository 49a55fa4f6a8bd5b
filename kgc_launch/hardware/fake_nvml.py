"""A pure-Python NVML with pynvml's surface, built from a plain description of devices.

Used by the tests, and in production only when `KGC_FAKE_NVML=/path/to/description.json` is set (for
benchmarks, demos and end-to-end runs of the launcher on a machine without a GPU); the inventory then
says, loudly, that it is simulated. It mirrors pynvml where the probe can tell: the same function names
and signatures, errors with the same class names and codes (`NVMLError(3)` is an
`NVMLError_NotSupported`, subclasses are built with no argument, `__eq__` without `__hash__`), calls
before init answer `Uninitialized`, and a lost GPU answers `GpuIsLost` to every query. pynvml's own
classes are not reused because importing pynvml costs ~30-50 ms, which is what this fake avoids.

Description (JSON; memory in MiB, like nvidia-smi):

    {"driver_version": "550.54.15", "cuda_driver_version": 12040,
     "errors": {"nvmlDeviceGetCount": "Unknown"},          # node-wide: function -> NVML error name
     "missing_functions": ["nvmlDeviceGetMemoryInfo_v2"],  # the driver lacks them: FunctionNotFound
     "absent_functions": ["nvmlDeviceGetMigMode"],         # the binding lacks them (an old pynvml)
     "cuda_driver": true,                                  # whether libcuda answers (full-GPU SM counts)
     "devices": [{"name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-...", "pci_bus_id": "00000000:18:00.0",
                  "compute_capability": "9.0", "memory_total_mib": 81559, "memory_used_mib": 0,
                  "memory_reserved_mib": 0, "sm_count": 132, "mig_mode": [1, 1], "max_mig_devices": 7,
                  "mig_slices": [{"index": 0, "uuid": "MIG-...", "profile": "1g.10gb",
                                  "gpu_instance_id": 9, "compute_instance_id": 0,
                                  "memory_total_mib": 9984, "sm_count": 16, "errors": {}}],
                  "errors": {"nvmlDeviceGetMemoryInfo": "NotSupported"}, "lost": false}]}

`mig_mode` null means the GPU cannot do MIG; `sm_count` is what CUDA's driver API would report (NVML
has no SM count for a full GPU); `"nvmlDeviceGetMemoryInfo_v2"` names the versioned memory call.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from kgc_launch.errors import InputError
from kgc_launch.hardware import nvml_codes as codes
from kgc_launch.hardware.cuda_driver import CudaDevice, CudaReading
from kgc_launch.units import MIB

FAKE_NVML_ENV = "KGC_FAKE_NVML"
MEMORY_V2 = 0x02000028  # pynvml.nvmlMemory_v2: sizeof(c_nvmlMemory_v2_t) | 2 << 24
MEMORY_V2_FUNCTION = "nvmlDeviceGetMemoryInfo_v2"
_R = TypeVar("_R")


# -- errors: pynvml's hierarchy, mirrored -------------------------------------------------------------


class NVMLError(Exception):
    """Mirror of `pynvml.NVMLError`."""

    _by_code: ClassVar[dict[int, type[NVMLError]]] = {}
    code: ClassVar[int | None] = None
    value: int

    def __new__(cls, value: int | None = None) -> NVMLError:
        if cls is NVMLError and value in NVMLError._by_code:
            cls = NVMLError._by_code[value]
        error = Exception.__new__(cls)
        error.value = cls.code if cls.code is not None else (codes.UNKNOWN if value is None else value)
        return error

    def __init__(self, value: int | None = None) -> None:
        super().__init__()

    def __str__(self) -> str:
        return codes.ERROR_NAMES.get(self.value, f"NVML Error with code {self.value}")

    def __eq__(self, other: object) -> bool:
        return self.value == getattr(other, "value", None)

    __hash__ = None  # type: ignore[assignment]  # as in pynvml: __eq__ without __hash__


ERROR_CLASSES: dict[str, type[NVMLError]] = {}
for _code, _name in codes.ERROR_NAMES.items():
    _class = type(f"NVMLError_{_name}", (NVMLError,), {"code": _code, "__module__": __name__})
    NVMLError._by_code[_code] = _class
    ERROR_CLASSES[_name] = _class


def nvml_error(name: str) -> NVMLError:
    """An instance of `NVMLError_<name>` (e.g. `nvml_error("NotSupported")`)."""
    return ERROR_CLASSES[name]()


# -- the description ----------------------------------------------------------------------------------
# Plain dataclasses read by `_read` below, not by pydantic: a simulated node is what the launch benchmark
# probes, and importing pydantic would cost it more than the whole probe (~90 ms).


@dataclass
class FakeMigSlice:
    index: int
    """MIG device index under the parent (0..max_mig_devices-1)."""
    uuid: str
    profile: str
    """`1g.10gb`; the name is `<parent name> MIG <profile>` unless `name` is given."""
    gpu_instance_id: int
    memory_total_mib: int
    sm_count: int
    name: str | None = None
    compute_instance_id: int = 0
    memory_used_mib: int = 0
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeGpu:
    name: str
    uuid: str
    pci_bus_id: str
    compute_capability: str
    memory_total_mib: int
    memory_used_mib: int = 0
    memory_reserved_mib: int = 0
    sm_count: int | None = None
    """What CUDA's driver API reports; None: not reported (the probe then uses its table)."""
    mig_mode: tuple[int, int] | None = None
    """[current, pending], 1 = enabled; None: the GPU cannot do MIG."""
    max_mig_devices: int = 7
    mig_slices: list[FakeMigSlice] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    """Function -> NVML error name this GPU answers (e.g. `nvmlDeviceGetMemoryInfo: NotSupported`)."""
    lost: bool = False
    """Fallen off the bus: every query on it answers GpuIsLost."""


@dataclass
class FakeDescription:
    about: str = ""
    driver_version: str = "550.54.15"
    cuda_driver_version: int = 12040
    errors: dict[str, str] = field(default_factory=dict)
    missing_functions: list[str] = field(default_factory=list)
    absent_functions: list[str] = field(default_factory=list)
    cuda_driver: bool = True
    devices: list[FakeGpu] = field(default_factory=list)


class DescriptionError(ValueError):
    """A description that does not fit the format; `field` is the dotted path (`devices.0.uuid`)."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


def read_description(document: object) -> FakeDescription:
    """A parsed description (plain JSON data) as records; raises `DescriptionError`."""
    return _read(FakeDescription, document, ())


_CLASSES = {cls.__name__: cls for cls in (FakeMigSlice, FakeGpu, FakeDescription)}
_SCALARS: dict[str, tuple[type, str]] = {
    "str": (str, "a string"),
    "int": (int, "an integer"),
    "bool": (bool, "true or false"),
}


def _read(cls: type[_R], data: object, loc: tuple[str, ...]) -> _R:
    if not isinstance(data, dict):
        raise DescriptionError("expected an object", ".".join(loc) or None)
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    for key in data:
        if key not in fields:
            raise DescriptionError("unknown field", ".".join((*loc, str(key))))
    values = {}
    for name, spec in fields.items():
        if name in data:
            values[name] = _value(spec.type, data[name], (*loc, name))
        elif spec.default is MISSING and spec.default_factory is MISSING:
            raise DescriptionError("field required", ".".join((*loc, name)))
    return cls(**values)


def _value(kind: str, value: object, loc: tuple[str, ...]) -> Any:
    """`value` checked against an annotation of this module (as its text: `list[FakeGpu]`, `int | None`)."""
    where = ".".join(loc)
    if kind.endswith(" | None"):
        return None if value is None else _value(kind.removesuffix(" | None"), value, loc)
    if kind in _CLASSES:
        return _read(_CLASSES[kind], value, loc)
    if kind in _SCALARS:
        python, words = _SCALARS[kind]
        if type(value) is not python:  # bool is an int to isinstance; not here
            raise DescriptionError(f"expected {words}, got {json.dumps(value)[:40]}", where)
        return value
    if kind.startswith("list["):
        if not isinstance(value, list):
            raise DescriptionError("expected a list", where)
        item = kind[5:-1]
        return [_value(item, one, (*loc, str(n))) for n, one in enumerate(value)]
    if kind == "tuple[int, int]":
        if not (isinstance(value, list) and len(value) == 2):
            raise DescriptionError("expected two integers, e.g. [1, 1]", where)
        return tuple(_value("int", one, (*loc, str(n))) for n, one in enumerate(value))
    if kind == "dict[str, str]":  # function -> NVML error name
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise DescriptionError("expected an object of strings", where)
        for function, error in value.items():
            if error not in codes.CODES_BY_NAME:
                raise DescriptionError(f"{function}: {error!r} is not an NVML error name (e.g. NotSupported)", where)
        return dict(value)
    raise AssertionError(f"fake NVML: no reader for {kind!r}")  # a field added without teaching _value


def load_description(path: str | Path) -> FakeDescription:
    """Read a description file; errors name the file and the field."""
    from kgc_launch.yamlio import read_text_limited

    text = read_text_limited(path, what=f"fake NVML description ({FAKE_NVML_ENV})")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({FAKE_NVML_ENV}): {error.msg}", path=path, line=error.lineno) from None
    except RecursionError:
        raise InputError(f"not valid JSON ({FAKE_NVML_ENV}): nested too deeply", path=path) from None
    try:
        return read_description(document)
    except DescriptionError as error:
        raise InputError(
            f"not a fake NVML description: {error}",
            path=path,
            field=error.field,
            hint=f"see the format in kgc_launch/hardware/fake_nvml.py, or unset {FAKE_NVML_ENV}",
        ) from None


# -- the library --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Handle:
    gpu: int
    mig: int | None = None  # position in the GPU's mig_slices


@dataclass
class _Memory:
    total: int
    free: int
    used: int
    reserved: int = 0
    version: int = 0


@dataclass
class _PciInfo:
    busId: bytes
    busIdLegacy: bytes


@dataclass
class _Attributes:
    multiprocessorCount: int
    memorySizeMB: int
    sharedCopyEngineCount: int = 0
    gpuInstanceSliceCount: int = 0
    computeInstanceSliceCount: int = 0


class FakeNvml:
    """pynvml's functions over a `FakeDescription`; `calls` records every call, in order."""

    NVMLError = NVMLError
    nvmlMemory_v2 = MEMORY_V2

    def __init__(self, description: FakeDescription) -> None:
        self.description = description
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.init_count = 0
        self._absent = frozenset(description.absent_functions)

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("nvml") and name in object.__getattribute__(self, "_absent"):
            raise AttributeError(f"module 'pynvml' has no attribute {name!r}")
        return object.__getattribute__(self, name)

    # -- node -----------------------------------------------------------------------------------------

    def nvmlInit(self) -> None:
        self.nvmlInitWithFlags(0)

    def nvmlInitWithFlags(self, flags: int) -> None:
        self._record("nvmlInitWithFlags", flags)
        self._node_checks("nvmlInitWithFlags", initialized=False)
        self.init_count += 1

    def nvmlShutdown(self) -> None:
        self._record("nvmlShutdown")
        self._node_checks("nvmlShutdown")
        self.init_count -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        self._enter("nvmlSystemGetDriverVersion")
        return self.description.driver_version

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        self._enter("nvmlSystemGetCudaDriverVersion")
        return self.description.cuda_driver_version

    def nvmlDeviceGetCount(self) -> int:
        self._enter("nvmlDeviceGetCount")
        return len(self.description.devices)

    # -- handles --------------------------------------------------------------------------------------

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        self._enter("nvmlDeviceGetHandleByIndex", index)
        if not 0 <= index < len(self.description.devices):
            raise nvml_error("InvalidArgument")
        self._device_checks("nvmlDeviceGetHandleByIndex", _Handle(index), lost_ok=True)
        return _Handle(index)

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> _Handle:
        self._enter("nvmlDeviceGetHandleByUUID", uuid)
        text = uuid.decode() if isinstance(uuid, bytes) else uuid
        for gpu_index, gpu in enumerate(self.description.devices):
            if gpu.uuid == text:
                return self._checked(_Handle(gpu_index), "nvmlDeviceGetHandleByUUID")
            for position, mig in enumerate(gpu.mig_slices):
                if mig.uuid == text and self._mig_enabled(gpu):
                    return self._checked(_Handle(gpu_index, position), "nvmlDeviceGetHandleByUUID")
        raise nvml_error("NotFound")

    def nvmlDeviceGetMigDeviceHandleByIndex(self, device: _Handle, index: int) -> _Handle:
        gpu = self._device("nvmlDeviceGetMigDeviceHandleByIndex", device, index)
        if device.mig is not None or not self._mig_enabled(gpu):
            raise nvml_error("NotSupported")
        if not 0 <= index < gpu.max_mig_devices:
            raise nvml_error("InvalidArgument")
        for position, mig in enumerate(gpu.mig_slices):
            if mig.index == index:
                return _Handle(device.gpu, position)
        raise nvml_error("NotFound")

    def nvmlDeviceIsMigDeviceHandle(self, device: _Handle) -> bool:
        self._device("nvmlDeviceIsMigDeviceHandle", device)
        return device.mig is not None

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, device: _Handle) -> _Handle:
        self._device("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", device)
        if device.mig is None:
            raise nvml_error("InvalidArgument")
        return _Handle(device.gpu)

    # -- device fields --------------------------------------------------------------------------------

    def nvmlDeviceGetUUID(self, handle: _Handle) -> str:
        gpu = self._device("nvmlDeviceGetUUID", handle)
        return gpu.uuid if handle.mig is None else gpu.mig_slices[handle.mig].uuid

    def nvmlDeviceGetName(self, handle: _Handle) -> str:
        gpu = self._device("nvmlDeviceGetName", handle)
        if handle.mig is None:
            return gpu.name
        mig = gpu.mig_slices[handle.mig]
        return mig.name or f"{gpu.name} MIG {mig.profile}"

    def nvmlDeviceGetPciInfo(self, handle: _Handle) -> _PciInfo:
        gpu = self._device("nvmlDeviceGetPciInfo", handle)
        legacy = gpu.pci_bus_id[4:] if len(gpu.pci_bus_id) == 16 else gpu.pci_bus_id
        return _PciInfo(busId=gpu.pci_bus_id.encode(), busIdLegacy=legacy.encode())

    def nvmlDeviceGetCudaComputeCapability(self, handle: _Handle) -> tuple[int, int]:
        gpu = self._device("nvmlDeviceGetCudaComputeCapability", handle)
        major, _, minor = gpu.compute_capability.partition(".")
        return int(major), int(minor or 0)

    def nvmlDeviceGetMemoryInfo(self, handle: _Handle, version: int | None = None) -> _Memory:
        self._enter("nvmlDeviceGetMemoryInfo", handle, **({} if version is None else {"version": version}))
        if version:  # pynvml looks the C symbol up before calling it
            self._missing(MEMORY_V2_FUNCTION)
        gpu = self._device_checks("nvmlDeviceGetMemoryInfo", handle)
        if version and version != MEMORY_V2:
            raise nvml_error("ArgumentVersionMismatch")
        if handle.mig is None:
            total, used, reserved = gpu.memory_total_mib, gpu.memory_used_mib, gpu.memory_reserved_mib
        else:
            mig = gpu.mig_slices[handle.mig]
            total, used, reserved = mig.memory_total_mib, mig.memory_used_mib, 0
        free = total - used - reserved
        if version:  # v2 reports the driver's reservation apart from `used`
            return _Memory(total * MIB, free * MIB, used * MIB, reserved * MIB, version)
        return _Memory(total * MIB, free * MIB, (used + reserved) * MIB)

    def nvmlDeviceGetMigMode(self, handle: _Handle) -> list[int]:
        gpu = self._device("nvmlDeviceGetMigMode", handle)
        if handle.mig is not None or gpu.mig_mode is None:
            raise nvml_error("NotSupported")
        return list(gpu.mig_mode)

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: _Handle) -> int:
        gpu = self._device("nvmlDeviceGetMaxMigDeviceCount", handle)
        return gpu.max_mig_devices if handle.mig is None and self._mig_enabled(gpu) else 0

    def nvmlDeviceGetGpuInstanceId(self, handle: _Handle) -> int:
        return self._mig("nvmlDeviceGetGpuInstanceId", handle).gpu_instance_id

    def nvmlDeviceGetComputeInstanceId(self, handle: _Handle) -> int:
        return self._mig("nvmlDeviceGetComputeInstanceId", handle).compute_instance_id

    def nvmlDeviceGetAttributes(self, handle: _Handle) -> _Attributes:
        mig = self._mig("nvmlDeviceGetAttributes", handle)
        return _Attributes(multiprocessorCount=mig.sm_count, memorySizeMB=mig.memory_total_mib)

    # -- what libcuda would say (SM counts); not part of NVML ------------------------------------------

    def cuda_devices(self) -> CudaReading:
        """CUDA's view for the SM-count lookup: MIG slices replace MIG-enabled GPUs, lost GPUs vanish."""
        if not self.description.cuda_driver:
            return CudaReading(devices=None, error="libcuda.so.1 not found (simulated)", elapsed_ms=0.0)
        devices: list[CudaDevice] = []
        for gpu in self.description.devices:
            bus = gpu.pci_bus_id[4:].lower()  # CUDA spells the domain with 4 digits
            if gpu.lost:
                continue
            if self._mig_enabled(gpu):
                devices += [CudaDevice(_hex_uuid(mig.uuid), bus, mig.sm_count) for mig in gpu.mig_slices]
            elif gpu.sm_count is not None:
                devices.append(CudaDevice(_hex_uuid(gpu.uuid), bus, gpu.sm_count))
        return CudaReading(devices=devices, error=None, elapsed_ms=0.0)

    # -- plumbing -------------------------------------------------------------------------------------

    def _record(self, function: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((function, args, kwargs))

    def _enter(self, function: str, *args: Any, **kwargs: Any) -> None:
        self._record(function, *args, **kwargs)
        self._node_checks(function)

    def _node_checks(self, function: str, *, initialized: bool = True) -> None:
        self._missing(function)
        if initialized and self.init_count <= 0:
            raise nvml_error("Uninitialized")
        error = self.description.errors.get(function)
        if error is not None:
            raise nvml_error(error)

    def _missing(self, function: str) -> None:
        if function in self.description.missing_functions:
            raise nvml_error("FunctionNotFound")

    def _device(self, function: str, handle: _Handle, *args: Any, **kwargs: Any) -> FakeGpu:
        self._enter(function, handle, *args, **kwargs)
        return self._device_checks(function, handle)

    def _checked(self, handle: _Handle, function: str) -> _Handle:
        self._device_checks(function, handle, lost_ok=True)
        return handle

    def _device_checks(self, function: str, handle: _Handle, *, lost_ok: bool = False) -> FakeGpu:
        if not isinstance(handle, _Handle) or not 0 <= handle.gpu < len(self.description.devices):
            raise nvml_error("InvalidArgument")
        gpu = self.description.devices[handle.gpu]
        # A slice answers for itself: in a slice-only container the parent refuses (NoPermission).
        errors = gpu.errors if handle.mig is None else gpu.mig_slices[handle.mig].errors
        if gpu.lost and not lost_ok:
            raise nvml_error("GpuIsLost")
        if function in errors:
            raise nvml_error(errors[function])
        return gpu

    def _mig(self, function: str, handle: _Handle) -> FakeMigSlice:
        gpu = self._device(function, handle)
        if handle.mig is None:
            raise nvml_error("NotSupported")
        return gpu.mig_slices[handle.mig]

    @staticmethod
    def _mig_enabled(gpu: FakeGpu) -> bool:
        return gpu.mig_mode is not None and gpu.mig_mode[0] == 1


def _hex_uuid(uuid: str) -> str:
    """What cuDeviceGetUuid gives: the UUID's bytes, without NVML's `GPU-`/`MIG-` prefix."""
    return uuid.partition("-")[2].lower()


for _name, _class in ERROR_CLASSES.items():
    setattr(FakeNvml, f"NVMLError_{_name}", _class)

SURFACE = tuple(name for name in vars(FakeNvml) if name.startswith("nvml") and callable(getattr(FakeNvml, name)))
"""The pynvml functions the fake provides (every one a probe may call)."""
