"""The recipes' hardware profiles (`taxonomy.yaml` ids such as `h200`, `b300`, `mi355x`) as GPUs kgc-launch sees.

A recipe scopes flags by generation (`hopper`, `blackwell`), brand (`nvidia`, `amd`) or exact profile id;
kgc-launch scopes a requirement by compute capability and by the GPU's name as NVML reports it. This module
is the mapping, and the representative devices `show --hardware <profile id>` uses.

Profiles that differ only in GPU count (`rtx_5090` and `rtx_5090_2x`, `gb300` and `dgx_station_gb300`)
have the same name patterns: kgc-launch cannot tell them apart, so they share one scope (`PatternGroup`).
TPU and CPU profiles (`trillium`, `ironwood`, `xeon5`, `xeon6`) are not GPUs and are not mapped.
"""

from __future__ import annotations

from dataclasses import dataclass

HOPPER_CC = ">=9.0,<10"
BLACKWELL_CC = ">=10.0,<13"
"""Blackwell is compute capability 10.x (B200, B300, GB200, GB300), 11.0 (Thor) and 12.x (RTX 50, RTX PRO,
GB10); the recipes' `blackwell` generation covers all of them."""
OLDER_NVIDIA_CC = "<9.0"

AMD_PATTERNS = ("AMD *", "*Instinct*", "*Radeon*")
INTEL_PATTERNS = ("Intel*", "*Arc(TM)*", "*Arc *")
HUAWEI_PATTERNS = ("*Ascend*",)
NON_NVIDIA_PATTERNS = (*AMD_PATTERNS, *INTEL_PATTERNS, *HUAWEI_PATTERNS)
"""Every GPU kgc-launch can be told about that is not NVIDIA's (NVML itself only ever reports NVIDIA GPUs)."""


@dataclass(frozen=True)
class Profile:
    id: str
    display: str
    brand: str
    """`NVIDIA`, `AMD`, `Intel`, `Huawei`."""
    generation: str
    """The recipes' generation key: `hopper`, `blackwell`, `ada`, `ampere`, `amd`, `xpu`, `npu`."""
    patterns: tuple[str, ...]
    device: str
    """A device name as NVML (or the vendor's tool) reports it, for `show --hardware <id>`."""
    compute_capability: str | None
    memory_gb: float
    """Per GPU, in GB (10^9 bytes), as the recipes' taxonomy gives it."""
    count: int
    restricted: bool = False
    """Offered for a recipe only when the recipe lists it in `meta.hardware` (taxonomy's `restricted`)."""

    @property
    def group(self) -> str:
        """Class of the scope: `hopper`, `blackwell`, `older-nvidia`, `amd`, `intel`, `huawei`."""
        if self.brand == "NVIDIA":
            return self.generation if self.generation in ("hopper", "blackwell") else "older-nvidia"
        return self.brand.lower()


def _p(
    id_: str,
    display: str,
    brand: str,
    generation: str,
    patterns: tuple[str, ...],
    device: str,
    cc: str | None,
    memory: float,
    count: int,
    restricted: bool = False,
) -> Profile:
    return Profile(id_, display, brand, generation, patterns, device, cc, memory, count, restricted)


PROFILES: dict[str, Profile] = {
    profile.id: profile
    for profile in (
        _p("h100", "H100", "NVIDIA", "hopper", ("*H100*",), "NVIDIA H100 80GB HBM3", "9.0", 80, 8),
        _p("h200", "H200", "NVIDIA", "hopper", ("*H200*",), "NVIDIA H200", "9.0", 141, 8),
        _p("h20", "H20", "NVIDIA", "hopper", ("*H20", "*H20 *", "*H20-*"), "NVIDIA H20", "9.0", 96, 8),
        _p("b200", "B200", "NVIDIA", "blackwell", ("NVIDIA B200*", "B200*"), "NVIDIA B200", "10.0", 180, 8),
        _p("gb200", "GB200 NVL4", "NVIDIA", "blackwell", ("*GB200*",), "NVIDIA GB200", "10.0", 192, 4),
        _p("b300", "B300", "NVIDIA", "blackwell", ("NVIDIA B300*", "B300*"), "NVIDIA B300 SXM6 AC", "10.3", 268, 8),
        _p("gb300", "GB300 NVL4", "NVIDIA", "blackwell", ("*GB300*",), "NVIDIA GB300", "10.3", 288, 4),
        _p("dgx_station_gb300", "DGX Station (GB300)", "NVIDIA", "blackwell", ("*GB300*",), "NVIDIA GB300", "10.3",
           252, 1, restricted=True),
        _p("dgx_spark_gb10", "DGX Spark (GB10)", "NVIDIA", "blackwell", ("*GB10",), "NVIDIA GB10", "12.1", 128, 1,
           restricted=True),
        _p("rtx_pro_6000", "RTX Pro 6000", "NVIDIA", "blackwell", ("*RTX PRO 6000*",),
           "NVIDIA RTX PRO 6000 Blackwell Server Edition", "12.0", 96, 1, restricted=True),
        _p("rtx_pro_6000_2x", "RTX Pro 6000 2x", "NVIDIA", "blackwell", ("*RTX PRO 6000*",),
           "NVIDIA RTX PRO 6000 Blackwell Server Edition", "12.0", 96, 2, restricted=True),
        _p("rtx_pro_6000_8x", "RTX Pro 6000 8x", "NVIDIA", "blackwell", ("*RTX PRO 6000*",),
           "NVIDIA RTX PRO 6000 Blackwell Server Edition", "12.0", 96, 8, restricted=True),
        _p("rtx_pro_5000", "RTX PRO 5000", "NVIDIA", "blackwell", ("*RTX PRO 5000*",),
           "NVIDIA RTX PRO 5000 Blackwell", "12.0", 72, 1, restricted=True),
        _p("rtx_pro_5000_4x", "RTX PRO 5000 4x", "NVIDIA", "blackwell", ("*RTX PRO 5000*",),
           "NVIDIA RTX PRO 5000 Blackwell", "12.0", 72, 4, restricted=True),
        _p("rtx_5090", "RTX 5090", "NVIDIA", "blackwell", ("*RTX 5090*",), "NVIDIA GeForce RTX 5090", "12.0", 32, 1,
           restricted=True),
        _p("rtx_5090_2x", "RTX 5090 2x", "NVIDIA", "blackwell", ("*RTX 5090*",), "NVIDIA GeForce RTX 5090", "12.0", 32,
           2, restricted=True),
        _p("rtx_4090_2x", "RTX 4090 2x", "NVIDIA", "ada", ("*RTX 4090*",), "NVIDIA GeForce RTX 4090", "8.9", 24, 2,
           restricted=True),
        _p("a100", "A100", "NVIDIA", "ampere", ("*A100*",), "NVIDIA A100-SXM4-80GB", "8.0", 80, 8),
        _p("mi300x", "MI300X", "AMD", "amd", ("*MI300X*",), "AMD Instinct MI300X", None, 192, 8),
        _p("mi325x", "MI325X", "AMD", "amd", ("*MI325X*",), "AMD Instinct MI325X", None, 256, 8),
        _p("mi350x", "MI350X", "AMD", "amd", ("*MI350X*",), "AMD Instinct MI350X", None, 288, 8),
        _p("mi355x", "MI355X", "AMD", "amd", ("*MI355X*",), "AMD Instinct MI355X", None, 288, 8),
        _p("arc_pro_b60", "Arc Pro B60", "Intel", "xpu", ("*Arc*B60*",), "Intel(R) Arc(TM) Pro B60 Graphics", None,
           24, 4, restricted=True),
        _p("arc_pro_b70", "Arc Pro B70", "Intel", "xpu", ("*Arc*B70*",), "Intel(R) Arc(TM) Pro B70 Graphics", None,
           32, 4, restricted=True),
        _p("ascend_950pr", "Ascend 950PR", "Huawei", "npu", ("*Ascend*950*",), "Ascend 950PR", None, 128, 1,
           restricted=True),
    )
}  # fmt: skip
"""Every GPU profile of the recipes' taxonomy (and `a100`, `h20`, `mi350x`, which recipes name in
`meta.hardware` without the taxonomy defining them)."""

NOT_GPUS = frozenset({"trillium", "ironwood", "xeon5", "xeon6"})
"""Taxonomy profiles that are not GPUs: their overrides and hardware marks are not imported."""


@dataclass(frozen=True)
class PatternGroup:
    """Profiles kgc-launch cannot tell apart (same name patterns): one scope."""

    patterns: tuple[str, ...]
    members: tuple[Profile, ...]

    @property
    def group(self) -> str:
        return self.members[0].group

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(member.id for member in self.members)


def pattern_groups() -> list[PatternGroup]:
    """The profiles grouped by their name patterns, in table order."""
    groups: dict[tuple[str, ...], list[Profile]] = {}
    for profile in PROFILES.values():
        groups.setdefault(profile.patterns, []).append(profile)
    return [PatternGroup(patterns, tuple(members)) for patterns, members in groups.items()]


def vendor_patterns(group: str) -> tuple[str, ...]:
    return {"amd": AMD_PATTERNS, "intel": INTEL_PATTERNS, "huawei": HUAWEI_PATTERNS}[group]


GROUP_CC = {"hopper": HOPPER_CC, "blackwell": BLACKWELL_CC, "older-nvidia": OLDER_NVIDIA_CC}
"""Compute-capability scope of the NVIDIA classes (each also excludes non-NVIDIA GPUs by name)."""
GROUP_WORDS = {
    "hopper": "Hopper (compute capability 9.x)",
    "blackwell": "Blackwell (compute capability 10.x-12.x)",
    "older-nvidia": "NVIDIA GPUs before Hopper",
    "amd": "AMD GPUs",
    "intel": "Intel GPUs",
    "huawei": "Huawei Ascend NPUs",
}


def profile_for(name: str) -> Profile | None:
    """A recipes hardware id (`b300`, `MI355X`), case-insensitively."""
    return PROFILES.get(name.strip().lower())
