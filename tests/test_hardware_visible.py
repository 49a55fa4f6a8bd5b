from __future__ import annotations

import pytest

from kgc_launch.hardware.inventory import Device, MigSlice
from kgc_launch.hardware.visible import normalize_bus_id, visible_devices
from kgc_launch.records import from_plain


def _uuid(number: int, prefix: str = "GPU") -> str:
    return f"{prefix}-{number:02d}aa{number:04x}-0000-4000-8000-0000000000{number:02d}"


def gpu(index: int, name: str = "NVIDIA H100 80GB HBM3", cc: str = "9.0", sms: int = 132, **extra: object) -> Device:
    return from_plain(
        Device,
        {
            "index": index,
            "uuid": _uuid(index),
            "name": name,
            "pci_bus_id": f"00000000:{0x10 * (index + 1):02x}:00.0",
            "compute_capability": cc,
            "sm_count": sms,
            "mig_enabled": False,
            **extra,
        },
    )


def mig(parent: Device, mig_index: int, gi: int, ci: int = 0) -> Device:
    assert parent.index is not None
    return Device(
        index=parent.index,
        uuid=_uuid(10 * (parent.index + 1) + mig_index, "MIG"),
        name=f"{parent.name} MIG 1g.10gb",
        pci_bus_id=parent.pci_bus_id,
        compute_capability=parent.compute_capability,
        sm_count=16,
        mig=MigSlice(parent_uuid=parent.uuid, index=mig_index, gpu_instance_id=gi, compute_instance_id=ci),
    )


FOUR = [gpu(0), gpu(1), gpu(2), gpu(3)]


def names(devices: list[Device]) -> list[str]:
    return [device.uuid or "?" for device in devices]


@pytest.mark.parametrize(
    ("value", "expected", "warning"),
    [
        (None, [0, 1, 2, 3], None),
        ("", [], "is empty: the engine sees no GPU"),
        ("   ", [], "is empty"),
        ("2", [2], None),
        ("1,0", [1, 0], None),
        (" 3 , 1 ", [3, 1], None),
        ("1abc,2", [1, 2], None),  # CUDA reads the leading integer
        ("+2", [2], None),
        ("0,0", [], "twice: CUDA then sees no device at all"),
        ("0,1,0", [], "twice"),
        ("0,7,1", [0], "entry 2 ('7') is out of range (4 GPU(s)"),
        ("-1,0", [], "entry 1 ('-1') is out of range"),
        ("2,x,1", [2], "entry 2 ('x') is neither an index nor a GPU-/MIG- UUID"),
        ("1,", [1], "entry 2 ('')"),
        (_uuid(2), [2], None),
        (f"{_uuid(3)},{_uuid(0)}", [3, 0], None),
        (_uuid(1)[:10], [1], None),  # an unambiguous prefix
        ("GPU-0", [], "is ambiguous (4 devices match)"),
        ("GPU-ffff", [], "matches no device"),
        (f"{_uuid(1)},{_uuid(1)[:10]}", [], "twice"),  # the same device twice, spelled two ways
        (f"0,{_uuid(1)}", [0], "mixes indices and UUIDs"),
        (f"{_uuid(1)},0", [1], "mixes indices and UUIDs"),
        ("MIG-12", [], "matches no device"),
    ],
)
def test_cuda_visible_devices(value: str | None, expected: list[int], warning: str | None) -> None:
    environ = {} if value is None else {"CUDA_VISIBLE_DEVICES": value}
    result = visible_devices(FOUR, environ)
    assert [device.index for device in result.devices] == expected
    if warning is None:
        assert result.warnings == []
    else:
        assert len(result.warnings) == 1 and warning in result.warnings[0]


MIXED = [
    gpu(0, "NVIDIA L4", "8.9", 58),
    gpu(1, "NVIDIA H100 PCIe", "9.0", 114),
    gpu(2, "NVIDIA GeForce RTX 4090", "8.9", 128),
]


@pytest.mark.parametrize(
    ("environ", "order", "warned"),
    [
        ({}, [1, 2, 0], True),  # fastest first: capability, then SMs
        ({"CUDA_DEVICE_ORDER": "FASTEST_FIRST"}, [1, 2, 0], True),
        ({"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}, [0, 1, 2], False),
        ({"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "0"}, [0], False),
        ({"CUDA_VISIBLE_DEVICES": "0"}, [1], True),  # index 0 is CUDA's first, the H100, not nvidia-smi's 0
    ],
)
def test_device_order_and_the_mixed_models_warning(environ: dict[str, str], order: list[int], warned: bool) -> None:
    result = visible_devices(MIXED, environ)
    assert [device.index for device in result.devices] == order
    assert any("CUDA_DEVICE_ORDER=PCI_BUS_ID" in warning for warning in result.warnings) is warned


def test_identical_gpus_are_in_bus_order_either_way() -> None:
    shuffled = [gpu(0, pci_bus_id="00000000:9a:00.0"), gpu(1, pci_bus_id="00000000:18:00.0")]
    for order in ("FASTEST_FIRST", "PCI_BUS_ID"):
        result = visible_devices(shuffled, {"CUDA_DEVICE_ORDER": order})
        assert [device.index for device in result.devices] == [1, 0] and result.warnings == []


def test_an_unknown_device_order_is_taken_as_the_default() -> None:
    result = visible_devices(MIXED, {"CUDA_DEVICE_ORDER": "SLOWEST_FIRST"})
    assert [device.index for device in result.devices] == [1, 2, 0]
    assert "neither FASTEST_FIRST nor PCI_BUS_ID" in result.warnings[0]


PARENT = gpu(1, "NVIDIA A100-SXM4-80GB", "8.0", 108, mig_enabled=True)
SLICES = [mig(PARENT, 0, gi=2), mig(PARENT, 1, gi=9), mig(PARENT, 3, gi=10)]
MIG_NODE = [
    gpu(0, "NVIDIA A100-SXM4-80GB", "8.0", 108),
    PARENT,
    *SLICES,
    gpu(2, "NVIDIA A100-SXM4-80GB", "8.0", 108),
]


@pytest.mark.parametrize(
    ("value", "expected", "warning"),
    [
        (None, [SLICES[0]], "enumerates a single MIG device"),  # no full GPU once a MIG device is seen
        ("0", [MIG_NODE[0]], None),
        ("0,2", [MIG_NODE[0], MIG_NODE[-1]], None),
        ("1", [SLICES[0]], "enumerates a single MIG device"),  # its first slice; the others are not seen
        ("0,1", [SLICES[0]], "enumerates a single MIG device"),
        (SLICES[1].uuid, [SLICES[1]], None),
        (f"{SLICES[2].uuid},{SLICES[1].uuid}", [SLICES[2]], "enumerates a single MIG device"),
        (f"{MIG_NODE[0].uuid},{SLICES[1].uuid}", [SLICES[1]], "enumerates a single MIG device"),
        (f"MIG-{PARENT.uuid}/9/0", [SLICES[1]], None),  # pre-R470 form
        (f"MIG-{(PARENT.uuid or '')[:12]}/10/0", [SLICES[2]], None),  # with a GPU UUID prefix
        (f"MIG-{PARENT.uuid}/5/0", [], "names no MIG instance of that GPU"),
        (f"{SLICES[1].uuid},{SLICES[1].uuid}", [], "twice"),
    ],
)
def test_mig_rules(value: str | None, expected: list[Device], warning: str | None) -> None:
    environ = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"} | ({} if value is None else {"CUDA_VISIBLE_DEVICES": value})
    result = visible_devices(MIG_NODE, environ)
    assert names(result.devices) == names(expected)
    if warning is None:
        assert result.warnings == []
    else:
        assert any(warning in text for text in result.warnings), result.warnings


def test_a_mig_enabled_gpu_without_slices_shows_no_device() -> None:
    result = visible_devices([PARENT, gpu(2)], {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"})
    assert [device.index for device in result.devices] == [2]
    assert "MIG on but no usable slice" in result.warnings[0]


def test_lost_and_unreadable_devices_are_never_visible() -> None:
    devices = [gpu(0), gpu(1, lost=True), gpu(2, unreadable="NoPermission"), gpu(3)]
    assert [d.index for d in visible_devices(devices, {}).devices] == [0, 3]
    assert [d.index for d in visible_devices(devices, {"CUDA_VISIBLE_DEVICES": "1"}).devices] == [3]
    assert visible_devices(devices, {"CUDA_VISIBLE_DEVICES": _uuid(1)}).devices == []


@pytest.mark.parametrize(
    ("value", "warning"),
    [
        ("all", None),
        ("", None),
        ("none", "asks the container runtime for no GPU, yet NVML sees 4 GPU(s)"),
        ("void", "asks the container runtime for no GPU"),
        (f"{_uuid(0)},{_uuid(1)},{_uuid(2)},{_uuid(3)}", None),
        (f"{_uuid(0)},{_uuid(1)}", f"does not list {_uuid(2)}, {_uuid(3)}, yet NVML sees it"),
        ("0,1,2,3", None),
        ("0,1", "lists 2 GPU(s), yet NVML sees 4 GPU(s)"),
    ],
)
def test_nvidia_visible_devices_is_checked_not_applied_again(value: str, warning: str | None) -> None:
    result = visible_devices(FOUR, {"NVIDIA_VISIBLE_DEVICES": value})
    assert [device.index for device in result.devices] == [0, 1, 2, 3]  # CUDA never reads the variable
    if warning is None:
        assert result.warnings == []
    else:
        assert len(result.warnings) == 1 and warning in result.warnings[0]


def test_nvidia_visible_devices_none_in_a_container_without_gpus_is_quiet() -> None:
    assert visible_devices([], {"NVIDIA_VISIBLE_DEVICES": "none"}).warnings == []


def test_nvidia_visible_devices_listing_a_slice_covers_its_gpu() -> None:
    result = visible_devices(MIG_NODE[1:5], {"NVIDIA_VISIBLE_DEVICES": SLICES[0].uuid or ""})
    assert not any("NVIDIA_VISIBLE_DEVICES" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("00000000:18:00.0", "0000:18:00.0"), ("0000:1A:00.0", "0000:1a:00.0"), (None, None), ("junk", "junk")],
)
def test_bus_ids_from_nvml_and_cuda_compare_equal(raw: str | None, normal: str | None) -> None:
    assert normalize_bus_id(raw) == normal
